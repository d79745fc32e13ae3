// The seed scenario's building block: a CPR arrives on a Saturday evening while the person the rotation names is on holiday.
using CprDesk.OnCall;
using static CprDesk.Tests.OnCall.OnCallKit;

namespace CprDesk.Tests.OnCall;

public sealed class SeedScenarioTests
{
    private static readonly DateTime Arrival = Utc("2026-03-07T20:48:00Z"); // Saturday, 21:48 in Warsaw

    // Weekly 24x7 base from Monday 2 Mar 09:00 Warsaw (alice's week), business hours on weekdays above it.
    private static readonly Schedule Tls = new("tls-cpr",
    [
        new Layer("base", 0, Rotation(Warsaw, "weekly", "09:00", "2026-03-02", "alice,bob,carol")),
        new Layer("business", 10, Rotation(Warsaw, "daily", "09:00", "2026-03-02", "dave,erin",
            WeeklyWindow.Weekdays(new TimeOnly(9, 0), new TimeOnly(17, 0)))),
    ]);

    [Theory]
    [InlineData("", "alice", null, "bob")]              // nobody away: the rotation's own answer
    [InlineData("alice", "bob", "alice", "carol")]      // alice on holiday: bob covers, carol backs him up
    [InlineData("alice,bob", "carol", "alice", null)]   // bob away too: carol covers, nobody is left as secondary
    [InlineData("alice,bob,carol", null, null, null)]   // the whole alias away: a gap, which escalation must raise
    public void The_primary_on_holiday_is_covered_by_the_next_person(string away, string? primary, string? coveringFor, string? secondary)
    {
        var holidays = away.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(u => Away(u, "2026-03-06T17:00:00Z", "2026-03-16T00:00:00Z")).ToList();
        var answer = OnCallCalculator.At(Tls, NoOverrides, holidays, Arrival);

        Assert.Equal(primary, answer.Primary?.User);
        Assert.Equal(coveringFor, answer.Primary?.CoveringFor);
        Assert.Equal(secondary, answer.Secondary);
        // Monday 09:00 Warsaw: business hours start and the base hands off (to bob, whose own week it is).
        Assert.Equal(Utc("2026-03-09T08:00:00Z"), answer.UntilUtc);
        if (answer.Primary is { } duty)
        {
            Assert.Equal("base", duty.Layer);
            Assert.True(duty.UntilUtc >= Arrival.AddHours(24), "the person who takes the CPR is on call through its 24-hour deadline");
        }
    }
}
