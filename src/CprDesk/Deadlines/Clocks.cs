// Computes a report's BR clocks from facts alone: receipt time, the reason a person chose, who has been
// sent a preliminary report, and whether revocation was published. Pure, so it is table-tested.
namespace CprDesk.Deadlines;

public enum ClockState { Open, AtRisk, Met, Missed, NotRequired }

public static class ClockNames
{
    public const string PreliminaryReportToReporter = "preliminary-report-to-reporter";
    public const string PreliminaryReportToSubscriber = "preliminary-report-to-subscriber";
    public const string Revocation = "revocation";
}

/// <summary>What the clocks depend on. Nothing about the report's workflow state is here on purpose:
/// no state pauses a clock.</summary>
public sealed record ClockFacts(
    DateTime ReceivedAt,
    string? RevocationReasonCode,
    IReadOnlyList<SubscriberFact> Subscribers,
    DateTime? PreliminaryReportToReporterAt,
    DateTime? RevocationPublishedAt,
    /// <summary>Set when a person decided no revocation is due (resolution NotRevoked or NotACpr).</summary>
    DateTime? RevocationWaivedAt,
    /// <summary>Set when a person decided the message is not a CPR at all: no BR clock applies.</summary>
    DateTime? NotACprAt);

public sealed record SubscriberFact(long Id, string Email, DateTime? PreliminaryReportAt);

/// <summary>A clock's rule outcome: due time and, when its own action happened, the time.</summary>
public sealed record Clock(string Name, string? Recipient, long? SubscriberId, DateTime DueAt, DateTime? MetAt,
    DateTime? WaivedAt, string Section)
{
    public ClockState StateAt(DateTime now, TimeSpan atRiskWithin)
    {
        if (MetAt is { } met) return met <= DueAt ? ClockState.Met : ClockState.Missed;
        // A waiver decided in time ends the obligation; one decided after the due time does not undo the miss.
        if (WaivedAt is { } waived) return waived <= DueAt ? ClockState.NotRequired : ClockState.Missed;
        if (now > DueAt) return ClockState.Missed;
        return DueAt - now < atRiskWithin ? ClockState.AtRisk : ClockState.Open;
    }
}

public static class ClockCalculator
{
    public static IReadOnlyList<Clock> Compute(ClockFacts facts, ClockRules rules)
    {
        var received = facts.ReceivedAt;
        var clocks = new List<Clock>();
        var notCpr = facts.NotACprAt;

        var toReporter = rules.PreliminaryReportToReporter;
        clocks.Add(new Clock(toReporter.Name, "reporter", null, received + toReporter.Due,
            facts.PreliminaryReportToReporterAt, notCpr, toReporter.Section));

        var toSubscriber = rules.PreliminaryReportToSubscriber;
        if (facts.Subscribers.Count == 0)
        {
            // No Subscriber known yet: the obligation still exists, so the clock shows open.
            clocks.Add(new Clock(toSubscriber.Name, null, null, received + toSubscriber.Due, null, notCpr, toSubscriber.Section));
        }
        else
        {
            foreach (var s in facts.Subscribers)
                clocks.Add(new Clock(toSubscriber.Name, s.Email, s.Id, received + toSubscriber.Due, s.PreliminaryReportAt,
                    notCpr, toSubscriber.Section));
        }

        // Strictest tier until a person chooses a reason; reclassification always counts from receipt.
        var reason = rules.FindReason(facts.RevocationReasonCode);
        var revocationDue = reason?.Due ?? rules.Revocation.UnclassifiedDue;
        var section = reason?.Section ?? rules.Revocation.Section;
        clocks.Add(new Clock(rules.Revocation.Name, null, null, received + revocationDue, facts.RevocationPublishedAt,
            notCpr ?? facts.RevocationWaivedAt, section));
        return clocks;
    }
}
