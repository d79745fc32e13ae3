// Layers (a weekday business-hours layer over a 24x7 base), overrides that replace all layers, and absences covered by the next person.
using CprDesk.OnCall;
using static CprDesk.Tests.OnCall.OnCallKit;

namespace CprDesk.Tests.OnCall;

public sealed class LayerOverrideAbsenceTests
{
    // Base: weekly n1/n2/n3, Monday 09:00 Warsaw from Mon 2 Mar 2026. Business: daily d1/d2, Mon-Fri 09:00-17:00 Warsaw.
    private static readonly Schedule TwoLayers = new("tls",
    [
        new Layer("base", 0, Rotation(Warsaw, "weekly", "09:00", "2026-03-02", "n1,n2,n3")),
        new Layer("business", 1, Rotation(Warsaw, "daily", "09:00", "2026-03-02", "d1,d2",
            WeeklyWindow.Weekdays(new TimeOnly(9, 0), new TimeOnly(17, 0)))),
    ]);

    // One layer, daily a/b/c/d at 09:00 Warsaw from Mon 2 Mar 2026: Tue 10 Mar 08:00Z - Wed 11 Mar 08:00Z is a's shift.
    private static readonly Schedule Daily = OneLayer(Rotation(Warsaw, "daily", "09:00", "2026-03-02", "a,b,c,d"));

    [Theory]
    [InlineData("2026-03-09T07:59:59Z", "n1", "base", "2026-03-09T08:00:00Z")]     // Monday 08:59 CET: last second of week 1
    [InlineData("2026-03-09T08:00:00Z", "d2", "business", "2026-03-09T16:00:00Z")] // business hours win over the base
    [InlineData("2026-03-09T15:59:59Z", "d2", "business", "2026-03-09T16:00:00Z")]
    [InlineData("2026-03-09T16:00:00Z", "n2", "base", "2026-03-10T08:00:00Z")]     // 17:00: window closed, base again
    [InlineData("2026-03-10T12:00:00Z", "d1", "business", "2026-03-10T16:00:00Z")]
    [InlineData("2026-03-14T12:00:00Z", "n2", "base", "2026-03-16T08:00:00Z")]     // Saturday: the window has no weekend
    [InlineData("2026-03-30T07:00:00Z", "d1", "business", "2026-03-30T15:00:00Z")] // window follows local time into CEST
    [InlineData("2026-03-30T15:00:00Z", "n2", "base", "2026-03-31T07:00:00Z")]
    public void A_windowed_layer_wins_inside_its_window_and_the_base_applies_outside(string at, string user, string layer, string until)
    {
        var answer = OnCallCalculator.At(TwoLayers, NoOverrides, NoAbsences, Utc(at));
        Assert.Equal((user, layer, false), (answer.Primary!.User, answer.Primary.Layer, answer.Primary.ViaOverride));
        Assert.Equal(Utc(until), answer.Primary.UntilUtc);
    }

    [Theory]
    [InlineData("2026-03-09T15:30:00Z", "ov", "d2", "2026-03-09T16:00:00Z")] // over business hours: secondary is who it displaced
    [InlineData("2026-03-09T17:00:00Z", "ov", "n2", "2026-03-09T18:00:00Z")] // over the base layer
    [InlineData("2026-03-09T18:00:00Z", "n2", "n3", "2026-03-10T08:00:00Z")] // override over: back to the layers
    public void An_override_replaces_every_layer(string at, string primary, string secondary, string answerUntil)
    {
        Override[] overrides = [Cover("ov", "2026-03-09T15:00:00Z", "2026-03-09T18:00:00Z"), Cover("other", "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z", schedule: "smime")];
        var answer = OnCallCalculator.At(TwoLayers, overrides, NoAbsences, Utc(at));
        Assert.Equal(primary, answer.Primary!.User);
        Assert.Equal(primary == "ov", answer.Primary.ViaOverride);
        Assert.Equal(primary == "ov" ? OnCallCalculator.OverrideLayer : "base", answer.Primary.Layer);
        Assert.Equal(secondary, answer.Secondary);
        Assert.Equal(Utc(answerUntil), answer.UntilUtc);
        if (primary == "ov") Assert.Equal(Utc("2026-03-09T18:00:00Z"), answer.Primary.UntilUtc);
    }

    [Fact]
    public void Overlapping_overrides_the_later_one_wins()
    {
        Override[] overrides = [Cover("first", "2026-03-09T15:00:00Z", "2026-03-09T18:00:00Z"), Cover("second", "2026-03-09T16:00:00Z", "2026-03-09T17:00:00Z")];
        var shifts = OnCallCalculator.Timeline(TwoLayers, overrides, NoAbsences, Utc("2026-03-09T15:00:00Z"), Utc("2026-03-09T18:00:00Z"));
        Assert.Equal(
        [
            new OnCallShift("first", "override", Utc("2026-03-09T15:00:00Z"), Utc("2026-03-09T16:00:00Z"), true, null, false),
            new OnCallShift("second", "override", Utc("2026-03-09T16:00:00Z"), Utc("2026-03-09T17:00:00Z"), true, null, false),
            new OnCallShift("first", "override", Utc("2026-03-09T17:00:00Z"), Utc("2026-03-09T18:00:00Z"), true, null, false),
        ], shifts);
    }

    [Fact]
    public void An_override_whose_user_is_absent_stands_and_is_flagged()
    {
        var answer = OnCallCalculator.At(TwoLayers, [Cover("ov", "2026-03-09T15:00:00Z", "2026-03-09T18:00:00Z")],
            [Away("ov", "2026-03-09T17:00:00Z", "2026-03-12T00:00:00Z")], Utc("2026-03-09T17:30:00Z"));
        Assert.Equal(("ov", true, true), (answer.Primary!.User, answer.Primary.ViaOverride, answer.Primary.UserAbsent));
        Assert.Equal("n2", answer.Secondary);

        var before = OnCallCalculator.At(TwoLayers, [Cover("ov", "2026-03-09T15:00:00Z", "2026-03-09T18:00:00Z")],
            [Away("ov", "2026-03-09T17:00:00Z", "2026-03-12T00:00:00Z")], Utc("2026-03-09T16:30:00Z"));
        Assert.False(before.Primary!.UserAbsent);
        Assert.Equal(Utc("2026-03-09T17:00:00Z"), before.Primary.UntilUtc); // the flag flipping is a change in the answer
    }

    [Theory]
    [InlineData("a", "b", "a", "c")]     // scheduled person away: the next in rotation covers, the one after is secondary
    [InlineData("a,b", "c", "a", "d")]   // two in a row away: the one after covers
    [InlineData("a,b,d", "c", "a", null)] // nobody else left for secondary
    [InlineData("b", "a", null, "c")]    // the secondary's turn is skipped when they are away
    [InlineData("a,b,c,d", null, null, null)] // everyone away: the only layer has nobody
    public void Absent_people_are_covered_by_the_next_in_rotation(string away, string? primary, string? coveringFor, string? secondary)
    {
        var absences = away.Split(',').Select(u => Away(u, "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")).ToList();
        var answer = OnCallCalculator.At(Daily, NoOverrides, absences, Utc("2026-03-10T12:00:00Z"));
        Assert.Equal(primary, answer.Primary?.User);
        Assert.Equal(coveringFor, answer.Primary?.CoveringFor);
        Assert.Equal(secondary, answer.Secondary);
        Assert.Equal(Utc("2026-03-11T00:00:00Z"), answer.UntilUtc); // the absences end; a is back for the rest of the shift
    }

    [Fact]
    public void Cover_lasts_exactly_as_long_as_the_absence_within_the_shift()
    {
        var shifts = OnCallCalculator.Timeline(Daily, NoOverrides, [Away("a", "2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z", "dentist")],
            Utc("2026-03-10T08:00:00Z"), Utc("2026-03-11T08:00:00Z"));
        Assert.Equal(
        [
            new OnCallShift("a", "base", Utc("2026-03-10T08:00:00Z"), Utc("2026-03-10T12:00:00Z"), false, null, false),
            new OnCallShift("b", "base", Utc("2026-03-10T12:00:00Z"), Utc("2026-03-10T14:00:00Z"), false, "a", false),
            new OnCallShift("a", "base", Utc("2026-03-10T14:00:00Z"), Utc("2026-03-11T08:00:00Z"), false, null, false),
        ], shifts);
    }

    [Fact]
    public void When_everyone_in_a_layer_is_away_the_layer_below_applies()
    {
        // Business hours on Tue 10 Mar: d1 is scheduled; with d1 and d2 away, the base layer's n2 is on call.
        Absence[] absences = [Away("d1", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z"), Away("d2", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")];
        var answer = OnCallCalculator.At(TwoLayers, NoOverrides, absences, Utc("2026-03-10T10:00:00Z"));
        Assert.Equal(("n2", "base", null), (answer.Primary!.User, answer.Primary.Layer, answer.Primary.CoveringFor));
        Assert.Equal("n3", answer.Secondary); // the top layer with someone is now the base
        Assert.Equal(Utc("2026-03-11T08:00:00Z"), answer.Primary.UntilUtc); // through the night, to Wednesday's business hours
    }

    [Fact]
    public void Back_to_back_shifts_of_the_same_person_are_one_shift()
    {
        var schedule = OneLayer(Rotation(Kolkata, "daily", "09:00", "2026-03-02", "solo"));
        var shifts = OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, Utc("2026-03-10T00:00:00Z"), Utc("2026-03-20T00:00:00Z"));
        Assert.Equal([new OnCallShift("solo", "base", Utc("2026-03-10T00:00:00Z"), Utc("2026-03-20T00:00:00Z"), false, null, false)], shifts);

        // And At never sees an end, so it reports its horizon: the answer holds at least that long.
        var at = Utc("2026-03-10T00:00:00Z");
        var answer = OnCallCalculator.At(schedule, NoOverrides, NoAbsences, at);
        Assert.Equal(at + OnCallCalculator.Lookahead, answer.Primary!.UntilUtc);
        Assert.Equal(at + OnCallCalculator.Lookahead, answer.UntilUtc);
        Assert.Null(answer.Secondary);
    }

    [Fact]
    public void Secondary_changes_are_part_of_the_answer_even_when_the_primary_stays()
    {
        // a on call all Tuesday; b (the secondary) is away from 12:00 to 14:00, so c is secondary then.
        Absence[] absences = [Away("b", "2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z")];
        var morning = OnCallCalculator.At(Daily, NoOverrides, absences, Utc("2026-03-10T09:00:00Z"));
        Assert.Equal(("a", "b"), (morning.Primary!.User, morning.Secondary));
        Assert.Equal(Utc("2026-03-10T12:00:00Z"), morning.UntilUtc);
        Assert.Equal(Utc("2026-03-11T08:00:00Z"), morning.Primary.UntilUtc);
        var noon = OnCallCalculator.At(Daily, NoOverrides, absences, Utc("2026-03-10T12:00:00Z"));
        Assert.Equal(("a", "c"), (noon.Primary!.User, noon.Secondary));
    }

    [Fact]
    public void An_overnight_window_spans_midnight()
    {
        // Nights only, Friday and Saturday 22:00 - 06:00 New York (EST until 8 Mar).
        var nights = new WeeklyWindow(new HashSet<DayOfWeek> { DayOfWeek.Friday, DayOfWeek.Saturday }, new TimeOnly(22, 0), new TimeOnly(6, 0));
        var schedule = OneLayer(Rotation(NewYork, "weekly", "09:00", "2026-02-23", "x,y", nights));
        var shifts = OnCallCalculator.Timeline(schedule, NoOverrides, NoAbsences, Utc("2026-03-02T00:00:00Z"), Utc("2026-03-09T00:00:00Z"));
        Assert.Equal(
        [
            new OnCallShift("y", "base", Utc("2026-03-07T03:00:00Z"), Utc("2026-03-07T11:00:00Z"), false, null, false), // Fri 22:00 - Sat 06:00 EST
            new OnCallShift("y", "base", Utc("2026-03-08T03:00:00Z"), Utc("2026-03-08T10:00:00Z"), false, null, false), // to 06:00 EDT: 7 h
        ], shifts);
    }
}
