// Rotations across the 2026 DST changes (EU 29 Mar / 25 Oct, US 8 Mar / 1 Nov) and in a zone without DST, to the second.
using CprDesk.OnCall;
using static CprDesk.Tests.OnCall.OnCallKit;

namespace CprDesk.Tests.OnCall;

public sealed class RotationDstTests
{
    [Theory]
    // Daily 09:00, a/b/c from the start date: b's shift spans the change.
    [InlineData(Warsaw, "daily", "09:00", "2026-03-27", "2026-03-28T07:59:59Z", "a", "2026-03-28T08:00:00Z")] // 09:00 CET = 08:00Z
    [InlineData(Warsaw, "daily", "09:00", "2026-03-27", "2026-03-29T06:59:59.9999999Z", "b", "2026-03-29T07:00:00Z")] // 09:00 CEST = 07:00Z
    [InlineData(Warsaw, "daily", "09:00", "2026-03-27", "2026-03-29T07:00:00Z", "c", "2026-03-30T07:00:00Z")]
    [InlineData(Warsaw, "daily", "09:00", "2026-10-23", "2026-10-25T07:59:59Z", "b", "2026-10-25T08:00:00Z")] // back to CET
    [InlineData(Warsaw, "daily", "09:00", "2026-10-23", "2026-10-25T08:00:00Z", "c", "2026-10-26T08:00:00Z")]
    [InlineData(NewYork, "daily", "09:00", "2026-03-06", "2026-03-08T12:59:59Z", "b", "2026-03-08T13:00:00Z")] // 09:00 EDT = 13:00Z
    [InlineData(NewYork, "daily", "09:00", "2026-03-06", "2026-03-08T13:00:00Z", "c", "2026-03-09T13:00:00Z")]
    [InlineData(NewYork, "daily", "09:00", "2026-10-30", "2026-11-01T13:59:59Z", "b", "2026-11-01T14:00:00Z")] // 09:00 EST = 14:00Z
    [InlineData(NewYork, "daily", "09:00", "2026-10-30", "2026-11-01T14:00:00Z", "c", "2026-11-02T14:00:00Z")]
    [InlineData(Kolkata, "daily", "09:00", "2026-03-27", "2026-03-29T03:29:59Z", "b", "2026-03-29T03:30:00Z")] // IST = +05:30 always
    [InlineData(Kolkata, "daily", "09:00", "2026-03-27", "2026-03-29T03:30:00Z", "c", "2026-03-30T03:30:00Z")]
    [InlineData(Kolkata, "daily", "09:00", "2026-10-30", "2026-11-01T03:30:00Z", "c", "2026-11-02T03:30:00Z")]
    // Weekly, Monday 09:00.
    [InlineData(Warsaw, "weekly", "09:00", "2026-03-23", "2026-03-30T06:59:59Z", "a", "2026-03-30T07:00:00Z")]
    [InlineData(Warsaw, "weekly", "09:00", "2026-03-23", "2026-03-30T07:00:00Z", "b", "2026-04-06T07:00:00Z")]
    [InlineData(Warsaw, "weekly", "09:00", "2026-10-19", "2026-10-26T07:59:59Z", "a", "2026-10-26T08:00:00Z")]
    [InlineData(Warsaw, "weekly", "09:00", "2026-10-19", "2026-10-26T08:00:00Z", "b", "2026-11-02T08:00:00Z")]
    [InlineData(NewYork, "weekly", "09:00", "2026-03-02", "2026-03-09T12:59:59Z", "a", "2026-03-09T13:00:00Z")]
    [InlineData(NewYork, "weekly", "09:00", "2026-03-02", "2026-03-09T13:00:00Z", "b", "2026-03-16T13:00:00Z")]
    [InlineData(NewYork, "weekly", "09:00", "2026-10-26", "2026-11-02T13:59:59Z", "a", "2026-11-02T14:00:00Z")]
    [InlineData(NewYork, "weekly", "09:00", "2026-10-26", "2026-11-02T14:00:00Z", "b", "2026-11-09T14:00:00Z")]
    [InlineData(Kolkata, "weekly", "09:00", "2026-03-23", "2026-03-30T03:29:59Z", "a", "2026-03-30T03:30:00Z")]
    // Hand-off at a local time that does not exist on the spring-forward day: the first instant after the gap (03:00).
    [InlineData(Warsaw, "daily", "02:30", "2026-03-28", "2026-03-29T00:59:59Z", "a", "2026-03-29T01:00:00Z")] // 03:00 CEST
    [InlineData(Warsaw, "daily", "02:30", "2026-03-28", "2026-03-29T01:00:00Z", "b", "2026-03-30T00:30:00Z")] // then 02:30 CEST
    [InlineData(NewYork, "daily", "02:30", "2026-03-07", "2026-03-08T06:59:59Z", "a", "2026-03-08T07:00:00Z")] // 03:00 EDT
    [InlineData(NewYork, "daily", "02:30", "2026-03-07", "2026-03-08T07:00:00Z", "b", "2026-03-09T06:30:00Z")]
    // Hand-off at a local time that occurs twice on the fall-back day: the first occurrence.
    [InlineData(NewYork, "daily", "01:30", "2026-10-31", "2026-11-01T05:29:59Z", "a", "2026-11-01T05:30:00Z")] // 01:30 EDT
    [InlineData(NewYork, "daily", "01:30", "2026-10-31", "2026-11-01T06:30:00Z", "b", "2026-11-02T06:30:00Z")] // 01:30 EST: no hand-off
    [InlineData(Warsaw, "daily", "02:30", "2026-10-24", "2026-10-25T00:29:59Z", "a", "2026-10-25T00:30:00Z")] // 02:30 CEST
    [InlineData(Warsaw, "daily", "02:30", "2026-10-24", "2026-10-25T01:30:00Z", "b", "2026-10-26T01:30:00Z")] // 02:30 CET: no hand-off
    [InlineData(Warsaw, "daily", "01:30", "2026-10-24", "2026-10-24T23:30:00Z", "b", "2026-10-26T00:30:00Z")] // 01:30 is not ambiguous in Warsaw
    public void On_call_just_before_and_after_a_hand_off(string zone, string length, string handOff, string start,
        string at, string expected, string until)
    {
        var schedule = OneLayer(Rotation(zone, length, handOff, start, "a,b,c"));
        var answer = OnCallCalculator.At(schedule, NoOverrides, NoAbsences, Utc(at));
        Assert.Equal(expected, answer.Primary?.User);
        Assert.Equal("base", answer.Primary!.Layer);
        Assert.Equal(Utc(until), answer.Primary.UntilUtc);
    }

    [Theory]
    [InlineData(Warsaw, "daily", "09:00", "2026-03-27", "2026-03-27T08:00:00Z", "24,23,24")]
    [InlineData(Warsaw, "daily", "09:00", "2026-10-23", "2026-10-23T07:00:00Z", "24,25,24")]
    [InlineData(NewYork, "daily", "09:00", "2026-03-06", "2026-03-06T14:00:00Z", "24,23,24")]
    [InlineData(NewYork, "daily", "09:00", "2026-10-30", "2026-10-30T13:00:00Z", "24,25,24")]
    [InlineData(Kolkata, "daily", "09:00", "2026-03-27", "2026-03-27T03:30:00Z", "24,24,24")]
    [InlineData(Kolkata, "daily", "09:00", "2026-10-30", "2026-10-30T03:30:00Z", "24,24,24")]
    [InlineData(Warsaw, "weekly", "09:00", "2026-03-23", "2026-03-23T08:00:00Z", "167,168")]
    [InlineData(Warsaw, "weekly", "09:00", "2026-10-19", "2026-10-19T07:00:00Z", "169,168")]
    [InlineData(NewYork, "weekly", "09:00", "2026-03-02", "2026-03-02T14:00:00Z", "167,168")]
    [InlineData(NewYork, "weekly", "09:00", "2026-10-26", "2026-10-26T13:00:00Z", "169,168")]
    [InlineData(Kolkata, "weekly", "09:00", "2026-03-23", "2026-03-23T03:30:00Z", "168,168")]
    [InlineData(Warsaw, "daily", "02:30", "2026-03-28", "2026-03-28T01:30:00Z", "23.5,23.5,24")] // into and out of 03:00 CEST
    [InlineData(NewYork, "daily", "02:30", "2026-03-07", "2026-03-07T07:30:00Z", "23.5,23.5,24")]
    [InlineData(NewYork, "daily", "01:30", "2026-10-31", "2026-10-31T05:30:00Z", "24,25,24")]
    [InlineData(Warsaw, "daily", "02:30", "2026-10-24", "2026-10-24T00:30:00Z", "24,25,24")]
    [InlineData(Warsaw, "daily", "01:30", "2026-10-24", "2026-10-23T23:30:00Z", "24,25,24")]
    [InlineData(Warsaw, "2d", "09:00", "2026-03-28", "2026-03-28T08:00:00Z", "47,48,48")] // N calendar days
    [InlineData(Warsaw, "12h", "21:00", "2026-03-28", "2026-03-28T20:00:00Z", "12,12,12,12")] // fixed: absolute, DST ignored
    [InlineData(Warsaw, "12h", "21:00", "2026-10-24", "2026-10-24T19:00:00Z", "12,12,12,12")]
    [InlineData(NewYork, "12h", "21:00", "2026-03-07", "2026-03-08T02:00:00Z", "12,12,12,12")]
    [InlineData(NewYork, "12h", "21:00", "2026-10-31", "2026-11-01T01:00:00Z", "12,12,12,12")]
    public void Shift_lengths_across_the_change(string zone, string length, string handOff, string start, string firstHandOff, string hours)
    {
        var expected = hours.Split(',').Select(h => double.Parse(h, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var schedule = OneLayer(Rotation(zone, length, handOff, start, "a,b,c,d,e"));
        var from = Utc(firstHandOff);
        var to = from.AddHours(expected.Sum());

        // Ask from a day early: the rotation has nobody before its first hand-off, which must be exactly firstHandOff.
        var shifts = OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, from.AddDays(-1), to);
        Assert.Equal(expected, shifts.Select(s => (s.UntilUtc - s.FromUtc).TotalHours));
        Assert.Equal(from, shifts[0].FromUtc);
        Assert.Equal(new[] { "a", "b", "c", "d", "e" }[..expected.Length], shifts.Select(s => s.User));
        Assert.Equal([new CoverageGap(from.AddDays(-1), from)], OnCallCalculator.CoverageGaps(schedule, NoOverrides, NoAbsences, from.AddDays(-1), to));
    }

    [Fact]
    public void A_fixed_12h_rotation_keeps_absolute_time_so_local_hand_off_moves()
    {
        // Starts 09:00 CET; after spring-forward the same UTC hand-offs read 10:00 and 22:00 CEST.
        var schedule = OneLayer(Rotation(Warsaw, "12h", "09:00", "2026-03-28", "a,b"));
        var zone = TimeZoneInfo.FindSystemTimeZoneById(Warsaw);
        var shifts = OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, Utc("2026-03-28T08:00:00Z"), Utc("2026-03-30T08:00:00Z"));
        Assert.Equal(["09:00", "21:00", "10:00", "22:00"],
            shifts.Select(s => TimeZoneInfo.ConvertTimeFromUtc(s.FromUtc, zone).ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(["a", "b", "a", "b"], shifts.Select(s => s.User));
    }
}
