using CprDesk.Deadlines;
using CprDesk.Tests.Support;

namespace CprDesk.Tests.Deadlines;

/// <summary>The BR tiers and clock states, table-driven over the rules file we ship.</summary>
public sealed class ClockRuleTests
{
    private static readonly ClockRules Rules = Desk.LoadRules();
    private static readonly DateTime T0 = new(2026, 3, 6, 19, 45, 0, DateTimeKind.Utc);

    private static ClockFacts Facts(string? reason = null, DateTime? toReporter = null, DateTime? revoked = null,
        DateTime? waived = null, DateTime? notCpr = null, params SubscriberFact[] subscribers) =>
        new(T0, reason, subscribers, toReporter, revoked, waived, notCpr);

    private static Clock Revocation(ClockFacts f) => ClockCalculator.Compute(f, Rules).Single(c => c.Name == ClockNames.Revocation);

    [Theory]
    [InlineData(null, 24)] // unclassified: strictest until a person chooses
    [InlineData("1", 24)] [InlineData("2", 24)] [InlineData("3", 24)] [InlineData("4", 24)] [InlineData("5", 24)]
    [InlineData("6", 120)] [InlineData("7", 120)] [InlineData("8", 120)] [InlineData("9", 120)] [InlineData("10", 120)]
    [InlineData("11", 120)] [InlineData("12", 120)] [InlineData("13", 120)] [InlineData("14", 120)] [InlineData("15", 120)]
    [InlineData("16", 120)]
    [InlineData("subordinate-ca", 168)]
    public void Revocation_due_follows_the_BR_tier(string? reason, int hours)
    {
        var clock = Revocation(Facts(reason));
        Assert.Equal(T0.AddHours(hours), clock.DueAt);
        Assert.StartsWith(reason == "subordinate-ca" ? "BR §4.9.1.2" : "BR §4.9.1.1", clock.Section);
    }

    [Theory]
    [InlineData("1", "unspecified", 0)] [InlineData("2", "privilegeWithdrawn", 9)] [InlineData("3", "keyCompromise", 1)]
    [InlineData("4", "keyCompromise", 1)] [InlineData("5", "superseded", 4)] [InlineData("6", "superseded", 4)]
    [InlineData("7", "privilegeWithdrawn", 9)] [InlineData("8", "privilegeWithdrawn", 9)] [InlineData("9", "cessationOfOperation", 5)]
    [InlineData("10", "privilegeWithdrawn", 9)] [InlineData("11", "privilegeWithdrawn", 9)] [InlineData("12", "superseded", 4)]
    [InlineData("13", "privilegeWithdrawn", 9)] [InlineData("14", "unspecified", 0)] [InlineData("15", "unspecified", 0)]
    [InlineData("16", "keyCompromise", 1)]
    public void Each_reason_carries_its_CRLReason(string code, string crlReason, int crlCode)
    {
        var reason = Rules.FindReason(code)!;
        Assert.Equal(crlReason, reason.CrlReason);
        Assert.Equal(crlCode, reason.CrlReasonCode);
        Assert.NotEqual(6, reason.CrlReasonCode); // never certificateHold
    }

    [Fact]
    public void Preliminary_report_clocks_are_24h_and_the_subscriber_clock_shows_while_no_subscriber_is_known()
    {
        var clocks = ClockCalculator.Compute(Facts(), Rules);
        Assert.Equal(3, clocks.Count);
        var toSubscriber = clocks.Single(c => c.Name == ClockNames.PreliminaryReportToSubscriber);
        Assert.Null(toSubscriber.Recipient);
        Assert.Equal(T0.AddHours(24), toSubscriber.DueAt);
        Assert.Equal(T0.AddHours(24), clocks.Single(c => c.Name == ClockNames.PreliminaryReportToReporter).DueAt);
    }

    [Fact]
    public void Each_known_subscriber_gets_its_own_clock_from_the_original_receipt()
    {
        var clocks = ClockCalculator.Compute(Facts(subscribers: [new(1, "a@example.com", T0.AddHours(2)), new(2, "b@example.com", null)]), Rules)
            .Where(c => c.Name == ClockNames.PreliminaryReportToSubscriber).ToList();
        Assert.Equal(["a@example.com", "b@example.com"], clocks.Select(c => c.Recipient));
        Assert.All(clocks, c => Assert.Equal(T0.AddHours(24), c.DueAt));
        Assert.Equal(ClockState.Met, clocks[0].StateAt(T0.AddHours(30), Rules.AtRiskWithin));
        Assert.Equal(ClockState.Missed, clocks[1].StateAt(T0.AddHours(30), Rules.AtRiskWithin));
    }

    public static TheoryData<double, double?, double?, ClockState> StateCases => new()
    {
        // hours after receipt: now, met, waived → state of a 24 h clock
        { 1, null, null, ClockState.Open },
        { 20, null, null, ClockState.Open },
        { 20.01, null, null, ClockState.AtRisk },
        { 23.99, null, null, ClockState.AtRisk },
        { 24.01, null, null, ClockState.Missed },
        { 30, 23.5, null, ClockState.Met },
        { 30, 24.5, null, ClockState.Missed },
        { 30, null, 10, ClockState.NotRequired },
        { 30, null, 25, ClockState.Missed },
        { 5, 24, null, ClockState.Met },
    };

    [Theory]
    [MemberData(nameof(StateCases))]
    public void Clock_state_at_an_instant(double nowH, double? metH, double? waivedH, ClockState expected)
    {
        var clock = new Clock("x", null, null, T0.AddHours(24), metH is { } m ? T0.AddHours(m) : null, waivedH is { } w ? T0.AddHours(w) : null, "s");
        Assert.Equal(expected, clock.StateAt(T0.AddHours(nowH), Rules.AtRiskWithin));
    }

    [Fact]
    public void Not_a_CPR_waives_every_clock_and_not_revoked_only_the_revocation_clock()
    {
        var notRevoked = ClockCalculator.Compute(Facts(reason: "12", waived: T0.AddHours(1)), Rules);
        Assert.Equal([false, false, true], notRevoked.Select(c => c.WaivedAt is not null));
        var notCpr = ClockCalculator.Compute(Facts(notCpr: T0.AddHours(1)), Rules);
        Assert.All(notCpr, c => Assert.Equal(T0.AddHours(1), c.WaivedAt));
    }

    [Fact]
    public void A_rules_file_with_a_repeated_reason_is_refused()
    {
        var json = """
        {"ruleset":"x","clocks":{"preliminaryReportToReporter":{"name":"a","due":"1.00:00:00","section":"s"},
          "preliminaryReportToSubscriber":{"name":"b","due":"1.00:00:00","section":"s"},
          "revocation":{"name":"r","unclassifiedDue":"1.00:00:00","section":"s"}},
         "reasons":[{"code":"1","category":"c","due":"1.00:00:00","section":"s","crlReason":"unspecified","crlReasonCode":0,"title":"t"},
                    {"code":"1","category":"c","due":"5.00:00:00","section":"s","crlReason":"unspecified","crlReasonCode":0,"title":"t"}]}
        """;
        var ex = Assert.Throws<InvalidOperationException>(() => ClockRules.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)), "test"));
        Assert.Contains("repeats reason codes: 1", ex.Message);
    }
}
