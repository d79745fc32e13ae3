// Bad definitions and non-UTC instants are refused with an ArgumentException that names the field.
using CprDesk.OnCall;
using static CprDesk.Tests.OnCall.OnCallKit;

namespace CprDesk.Tests.OnCall;

public sealed class ValidationTests
{
    private static readonly Rotation Good = Rotation(Warsaw, "daily", "09:00", "2026-03-02", "a,b");
    private static readonly DateTime T = Utc("2026-03-10T12:00:00Z");

    public static TheoryData<string, Schedule> BadSchedules => new()
    {
        { "schedule.Name", new Schedule(" ", [new Layer("base", 0, Good)]) },
        { "schedule.Layers", new Schedule("tls", []) },
        { "schedule.Layers[0].Name", new Schedule("tls", [new Layer("", 0, Good)]) },
        { "schedule.Layers[0].Name", new Schedule("tls", [new Layer("Override", 0, Good)]) },
        { "schedule.Layers.Name", new Schedule("tls", [new Layer("base", 0, Good), new Layer("base", 1, Good)]) },
        { "schedule.Layers.Priority", new Schedule("tls", [new Layer("base", 0, Good), new Layer("day", 0, Good)]) },
        { "schedule.Layers[0].Rotation.Participants", OneLayer(Good with { Participants = [] }) },
        { "schedule.Layers[0].Rotation.Participants[1]", OneLayer(Good with { Participants = ["a", " "] }) },
        { "schedule.Layers[0].Rotation.Length", OneLayer(Good with { Length = null! }) },
        { "schedule.Layers[0].Rotation.TimeZoneId", OneLayer(Good with { TimeZoneId = "Europe/Warsw" }) },
        { "schedule.Layers[0].Rotation.TimeZoneId", OneLayer(Good with { TimeZoneId = "" }) },
        { "schedule.Layers[1].Rotation.Window.Days", new Schedule("tls",
            [new Layer("base", 0, Good), new Layer("day", 1, Good with { Window = new WeeklyWindow(new HashSet<DayOfWeek>(), default, default) })]) },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public void A_bad_schedule_is_refused_naming_the_field(string field, Schedule schedule)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => OnCallCalculator.At(schedule, NoOverrides, NoAbsences, T));
        Assert.Equal(field, e.ParamName);
        Assert.Contains(field.Split('.')[^1].Split('[')[0], e.Message);
    }

    [Fact]
    public void An_unknown_time_zone_is_named_in_the_message()
    {
        var e = Assert.Throws<ArgumentException>(() => OnCallCalculator.At(OneLayer(Good with { TimeZoneId = "Mars/Olympus" }), NoOverrides, NoAbsences, T));
        Assert.Contains("'Mars/Olympus' is not a known time zone", e.Message);
    }

    [Theory]
    [InlineData(DateTimeKind.Local)]
    [InlineData(DateTimeKind.Unspecified)]
    public void Instants_must_be_UTC(DateTimeKind kind)
    {
        var notUtc = DateTime.SpecifyKind(T, kind);
        var schedule = OneLayer(Good);
        Assert.Equal("utc", Assert.Throws<ArgumentException>(() => OnCallCalculator.At(schedule, NoOverrides, NoAbsences, notUtc)).ParamName);
        Assert.Equal("fromUtc", Assert.Throws<ArgumentException>(() => OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, notUtc, T)).ParamName);
        Assert.Equal("toUtc", Assert.Throws<ArgumentException>(() => OnCallCalculator.CoverageGaps(schedule, NoOverrides, NoAbsences, T, notUtc)).ParamName);
        Assert.Equal("overrides[0].FromUtc", Assert.Throws<ArgumentException>(() =>
            OnCallCalculator.At(schedule, [new Override("tls", "x", notUtc, T.AddHours(1))], NoAbsences, T)).ParamName);
        Assert.Equal("absences[0].ToUtc", Assert.Throws<ArgumentException>(() =>
            OnCallCalculator.At(schedule, NoOverrides, [new Absence("a", T, DateTime.SpecifyKind(T.AddHours(1), kind), "leave")], T)).ParamName);
    }

    [Fact]
    public void Intervals_must_not_be_empty_or_reversed()
    {
        var schedule = OneLayer(Good);
        Assert.Equal("overrides[0].ToUtc", Assert.Throws<ArgumentException>(() =>
            OnCallCalculator.At(schedule, [new Override("tls", "x", T, T)], NoAbsences, T)).ParamName);
        Assert.Equal("absences[1].ToUtc", Assert.Throws<ArgumentException>(() =>
            OnCallCalculator.At(schedule, NoOverrides, [new Absence("a", T, T.AddDays(1), "leave"), new Absence("b", T, T.AddDays(-1), "typo")], T)).ParamName);
        Assert.Equal("absences[0].User", Assert.Throws<ArgumentException>(() =>
            OnCallCalculator.At(schedule, NoOverrides, [new Absence("", T, T.AddDays(1), "leave")], T)).ParamName);
        Assert.Equal("toUtc", Assert.Throws<ArgumentException>(() =>
            OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, T, T.AddTicks(-1))).ParamName);
    }

    [Fact]
    public void Shift_lengths_are_whole_days_or_at_least_a_minute()
    {
        Assert.Equal("days", Assert.Throws<ArgumentOutOfRangeException>(() => ShiftLength.CalendarDays(0)).ParamName);
        Assert.Equal("duration", Assert.Throws<ArgumentOutOfRangeException>(() => ShiftLength.FixedDuration(TimeSpan.FromSeconds(59))).ParamName);
        Assert.Equal((7, TimeSpan.Zero), (ShiftLength.Weekly.Days, ShiftLength.Weekly.Fixed));
        Assert.Equal((0, TimeSpan.FromHours(12)), (ShiftLength.Hours(12).Days, ShiftLength.Hours(12).Fixed));
        Assert.NotEqual(ShiftLength.CalendarDays(1) as object, ShiftLength.FixedDuration(TimeSpan.FromDays(1)));
    }

    [Fact]
    public void The_far_end_of_the_calendar_does_not_overflow()
    {
        var schedule = OneLayer(Rotation(NewYork, "daily", "09:00", "2026-03-02", "a,b", WeeklyWindow.Weekdays(new TimeOnly(9, 0), new TimeOnly(17, 0))));
        var late = new DateTime(9999, 12, 31, 12, 0, 0, DateTimeKind.Utc); // a Friday, 07:00 in New York
        var answer = OnCallCalculator.At(schedule, NoOverrides, NoAbsences, late);
        Assert.Null(answer.Primary);
        Assert.Equal(new DateTime(9999, 12, 31, 14, 0, 0, DateTimeKind.Utc), answer.UntilUtc);
        Assert.Equal(DateTimeKind.Utc, answer.UntilUtc.Kind); // DateTime equality ignores the kind
        var lastShift = OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, late, OnCallCalculator.At(schedule, NoOverrides, NoAbsences, late).UntilUtc.AddHours(9)).Single();
        Assert.Equal((DateTimeKind.Utc, 22), (lastShift.UntilUtc.Kind, lastShift.UntilUtc.Hour)); // 17:00 EST on the last day there is
        var atTheEnd = OnCallCalculator.At(schedule, NoOverrides, NoAbsences, lastShift.UntilUtc);
        Assert.Equal((null, DateTimeKind.Utc), (atTheEnd.Primary, atTheEnd.UntilUtc.Kind));
        Assert.Equal(DateTime.MaxValue, atTheEnd.UntilUtc);
        var gaps = OnCallCalculator.CoverageGaps(schedule, NoOverrides, NoAbsences, late.AddDays(-1)); // the 28 days are cut short
        Assert.Equal((3, lastShift.UntilUtc, DateTime.MaxValue), (gaps.Count, gaps[^1].FromUtc, gaps[^1].ToUtc));
    }
}
