// Coverage gaps to the exact instant: nights and weekends without a base layer, a week with everyone away, an override filling a gap.
using CprDesk.OnCall;
using static CprDesk.Tests.OnCall.OnCallKit;

namespace CprDesk.Tests.OnCall;

public sealed class CoverageGapTests
{
    // Business hours only, Mon-Fri 09:00-17:00 Warsaw: 08:00Z-16:00Z in CET, 07:00Z-15:00Z in CEST (from 29 Mar).
    private static readonly Schedule BusinessHoursOnly = OneLayer(Rotation(Warsaw, "daily", "09:00", "2026-03-02", "a,b",
        WeeklyWindow.Weekdays(new TimeOnly(9, 0), new TimeOnly(17, 0))));

    private static readonly Schedule AroundTheClock = OneLayer(Rotation(NewYork, "weekly", "09:00", "2026-03-02", "a,b"));

    private static CoverageGap Gap(string from, string to) => new(Utc(from), Utc(to));

    [Fact]
    public void Without_a_base_layer_nights_and_weekends_are_gaps()
    {
        var gaps = OnCallCalculator.CoverageGaps(BusinessHoursOnly, NoOverrides, NoAbsences, Utc("2026-03-26T00:00:00Z"), Utc("2026-03-31T00:00:00Z"));
        Assert.Equal(
        [
            Gap("2026-03-26T00:00:00Z", "2026-03-26T08:00:00Z"), // Thursday night, clipped to the window
            Gap("2026-03-26T16:00:00Z", "2026-03-27T08:00:00Z"),
            Gap("2026-03-27T16:00:00Z", "2026-03-30T07:00:00Z"), // the weekend, across spring-forward
            Gap("2026-03-30T15:00:00Z", "2026-03-31T00:00:00Z"),
        ], gaps);
    }

    [Fact]
    public void The_default_window_is_the_next_28_days()
    {
        var from = Utc("2026-04-06T00:00:00Z"); // a Monday, CEST throughout
        var gaps = OnCallCalculator.CoverageGaps(BusinessHoursOnly, NoOverrides, NoAbsences, from);
        Assert.Equal(21, gaps.Count); // before Monday's hours, then one after each of the 20 weekdays
        Assert.Equal(Gap("2026-04-06T00:00:00Z", "2026-04-06T07:00:00Z"), gaps[0]);
        Assert.Equal(Gap("2026-05-01T15:00:00Z", "2026-05-04T00:00:00Z"), gaps[^1]);
        Assert.All(gaps.Skip(1).SkipLast(1), g => Assert.Equal(07, g.ToUtc.Hour));
    }

    [Theory]
    [InlineData("2026-04-06T00:00:00Z", "2026-04-13T00:00:00Z", "2026-04-06T00:00:00Z", "2026-04-13T00:00:00Z")] // both away the same week
    [InlineData("2026-04-08T00:00:00Z", "2026-04-15T00:00:00Z", "2026-04-08T00:00:00Z", "2026-04-13T00:00:00Z")] // overlapping weeks
    public void Everyone_away_is_a_gap_exactly_where_the_absences_overlap(string bFrom, string bTo, string gapFrom, string gapTo)
    {
        Absence[] absences = [Away("a", "2026-04-06T00:00:00Z", "2026-04-13T00:00:00Z"), Away("b", bFrom, bTo, "conference")];
        var gaps = OnCallCalculator.CoverageGaps(AroundTheClock, NoOverrides, absences, Utc("2026-04-01T00:00:00Z"), Utc("2026-04-20T00:00:00Z"));
        Assert.Equal([Gap(gapFrom, gapTo)], gaps);
        Assert.Null(OnCallCalculator.At(AroundTheClock, NoOverrides, absences, Utc(gapFrom)).Primary);
        Assert.NotNull(OnCallCalculator.At(AroundTheClock, NoOverrides, absences, Utc(gapFrom).AddTicks(-1)).Primary);
    }

    [Fact]
    public void An_override_fills_a_gap()
    {
        Override[] saturday = [Cover("volunteer", "2026-03-28T10:00:00Z", "2026-03-28T14:00:00Z")];
        var gaps = OnCallCalculator.CoverageGaps(BusinessHoursOnly, saturday, NoAbsences, Utc("2026-03-27T00:00:00Z"), Utc("2026-03-30T00:00:00Z"));
        Assert.Equal(
        [
            Gap("2026-03-27T00:00:00Z", "2026-03-27T08:00:00Z"),
            Gap("2026-03-27T16:00:00Z", "2026-03-28T10:00:00Z"),
            Gap("2026-03-28T14:00:00Z", "2026-03-30T00:00:00Z"),
        ], gaps);

        var answer = OnCallCalculator.At(BusinessHoursOnly, saturday, NoAbsences, Utc("2026-03-28T12:00:00Z"));
        Assert.Equal(("volunteer", true), (answer.Primary!.User, answer.Primary.ViaOverride));
        Assert.Null(answer.Secondary); // no layer has anyone to back them up
    }

    [Fact]
    public void Before_the_first_hand_off_a_rotation_has_nobody()
    {
        var gaps = OnCallCalculator.CoverageGaps(AroundTheClock, NoOverrides, NoAbsences, Utc("2026-03-01T00:00:00Z"), Utc("2026-03-05T00:00:00Z"));
        Assert.Equal([Gap("2026-03-01T00:00:00Z", "2026-03-02T14:00:00Z")], gaps); // Monday 09:00 EST
        var answer = OnCallCalculator.At(AroundTheClock, NoOverrides, NoAbsences, Utc("2026-03-01T00:00:00Z"));
        Assert.Equal((null, Utc("2026-03-02T14:00:00Z")), (answer.Primary, answer.UntilUtc));
    }

    [Fact]
    public void An_empty_window_has_no_gaps_and_no_shifts()
    {
        var t = Utc("2026-03-01T00:00:00Z");
        Assert.Empty(OnCallCalculator.CoverageGaps(AroundTheClock, NoOverrides, NoAbsences, t, t));
        Assert.Empty(OnCallCalculator.Timeline(AroundTheClock, NoOverrides, NoAbsences, t, t));
    }
}
