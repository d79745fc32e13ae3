// Incident report deadlines as data (rules/incident-clocks.json): a new IRG version is a data change.
using System.Text.Json;

namespace CprDesk.Compliance.Incidents;

public sealed record IncidentClockRule(string Name, TimeSpan Due, string Section, TimeSpan? Max = null);

public sealed class IncidentRules
{
    public required string Version { get; init; }
    public required IncidentClockRule InitialReport { get; init; }
    public required IncidentClockRule FullReport { get; init; }
    public required IncidentClockRule QuestionAnswer { get; init; }
    public required IncidentClockRule Update { get; init; }
    public required IncidentClockRule ActionItemChanged { get; init; }
    public required IncidentClockRule RevocationDelay { get; init; }
    public required IncidentClockRule ActionItemDue { get; init; }
    public required IReadOnlyList<string> RevocationDelayTags { get; init; }

    public static IncidentRules Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"Incident clock rules not found: {path}");
        RulesFile? f;
        try { f = JsonSerializer.Deserialize<RulesFile>(File.ReadAllBytes(path), new JsonSerializerOptions(JsonSerializerDefaults.Web) { AllowTrailingCommas = true }); }
        catch (JsonException ex) { throw new InvalidOperationException($"Incident clock rules {path} are not valid JSON: {ex.Message}", ex); }
        var c = f?.Clocks ?? throw new InvalidOperationException($"Incident clock rules {path} need 'clocks'.");
        IncidentClockRule R(ClockFile? x, string key) => x is { Name: { Length: > 0 } n, Due: { } d } && d > TimeSpan.Zero
            ? new IncidentClockRule(n, d, x.Section ?? "", x.Max)
            : throw new InvalidOperationException($"Incident clock rules {path}: clock '{key}' needs a name and a positive 'due'.");
        return new IncidentRules
        {
            Version = f.Version ?? "?",
            InitialReport = R(c.InitialReport, "initialReport"),
            FullReport = R(c.FullReport, "fullReport"),
            QuestionAnswer = R(c.QuestionAnswer, "questionAnswer"),
            Update = R(c.Update, "update"),
            ActionItemChanged = R(c.ActionItemChanged, "actionItemChanged"),
            RevocationDelay = R(c.RevocationDelay, "revocationDelay"),
            ActionItemDue = R(c.ActionItemDue, "actionItemDue"),
            RevocationDelayTags = f.RevocationDelayTags ?? ["leaf-revocation-delay", "ca-revocation-delay"],
        };
    }

    private sealed class RulesFile
    {
        public string? Version { get; set; }
        public ClocksFile? Clocks { get; set; }
        public List<string>? RevocationDelayTags { get; set; }
    }

    private sealed class ClocksFile
    {
        public ClockFile? InitialReport { get; set; }
        public ClockFile? FullReport { get; set; }
        public ClockFile? QuestionAnswer { get; set; }
        public ClockFile? Update { get; set; }
        public ClockFile? ActionItemChanged { get; set; }
        public ClockFile? RevocationDelay { get; set; }
        public ClockFile? ActionItemDue { get; set; }
    }

    private sealed class ClockFile
    {
        public string? Name { get; set; }
        public TimeSpan? Due { get; set; }
        public TimeSpan? Max { get; set; }
        public string? Section { get; set; }
    }
}

/// <summary>An incident clock computed from facts.</summary>
public sealed record IncidentClock(string Name, string Ref, DateTime DueAt, DateTime? MetAt, DateTime? WaivedAt, string Basis);

public sealed record IncidentClockFacts(
    DateTime AwareAt,
    bool RevocationDelay,
    DateTime? NextUpdateOn,
    IReadOnlyList<(string Kind, DateTime PostedAt)> Posts,
    IReadOnlyList<IncidentQuestion> Questions,
    IReadOnlyList<IncidentActionItem> ActionItems,
    DateTime? ClosedAt);

/// <summary>Pure: the IRG clocks of one incident from its facts.</summary>
public static class IncidentClockCalculator
{
    public static IReadOnlyList<IncidentClock> Compute(IncidentClockFacts f, IncidentRules rules)
    {
        var clocks = new List<IncidentClock>();
        var posts = f.Posts.OrderBy(p => p.PostedAt).ToList();
        var initial = posts.FirstOrDefault(p => p.Kind is IncidentPost.Preliminary or IncidentPost.Full);
        DateTime? initialAt = initial.Kind is null ? null : initial.PostedAt;
        var fullAt = posts.Where(p => p.Kind == IncidentPost.Full).Select(p => (DateTime?)p.PostedAt).FirstOrDefault();
        var closureAt = posts.Where(p => p.Kind == IncidentPost.Closure).Select(p => (DateTime?)p.PostedAt).FirstOrDefault();

        clocks.Add(new IncidentClock(rules.InitialReport.Name, "", f.AwareAt + rules.InitialReport.Due, initialAt, null,
            $"{rules.InitialReport.Section} (aware {f.AwareAt:yyyy-MM-dd HH:mm} UTC)"));
        // Until something is disclosed, the 14 days count from awareness: never later than the real rule.
        var fullBase = initialAt ?? f.AwareAt;
        clocks.Add(new IncidentClock(rules.FullReport.Name, "", fullBase + rules.FullReport.Due, fullAt ?? closureAt, null,
            $"{rules.FullReport.Section} ({(initialAt is null ? "from awareness, nothing disclosed yet" : $"disclosed {initialAt:yyyy-MM-dd HH:mm} UTC")})"));

        foreach (var q in f.Questions)
            clocks.Add(new IncidentClock(rules.QuestionAnswer.Name, $"question-{q.Id}", q.AskedAt + rules.QuestionAnswer.Due, q.AnsweredAt, null,
                $"{rules.QuestionAnswer.Section} (asked {q.AskedAt:yyyy-MM-dd HH:mm} UTC)"));

        // Update periods: each post starts one and the next post meets it. None after a closure summary.
        for (var i = 0; i < posts.Count; i++)
        {
            var from = posts[i].PostedAt;
            if (closureAt is { } c && from >= c) break;
            var (due, basis) = (from + rules.Update.Due, $"{rules.Update.Section} (last update {from:yyyy-MM-dd HH:mm} UTC)");
            if (f.NextUpdateOn is { } nu && nu > from)
                (due, basis) = (nu.Date.AddDays(1), $"{rules.Update.Section}: Next update {nu:yyyy-MM-dd} on the bug");
            if (f.RevocationDelay && from + rules.RevocationDelay.Due < due)
                (due, basis) = (from + rules.RevocationDelay.Due, rules.RevocationDelay.Section);
            DateTime? next = i + 1 < posts.Count ? posts[i + 1].PostedAt : null;
            var changed = f.ActionItems.Where(a => a.ChangedAt > from && (next is null || a.ChangedAt <= next)).Select(a => (DateTime?)a.ChangedAt).Min();
            if (changed is { } ch && ch + rules.ActionItemChanged.Due < due)
                (due, basis) = (ch + rules.ActionItemChanged.Due, $"{rules.ActionItemChanged.Section} (changed {ch:yyyy-MM-dd HH:mm} UTC)");
            clocks.Add(new IncidentClock(rules.Update.Name, $"after-{from:yyyyMMddHHmm}", due, next, f.ClosedAt, basis));
        }

        foreach (var a in f.ActionItems.Where(a => a.DueOn is not null))
        {
            var settled = a.Status is "Complete" or "Canceled" ? a.SettledAt ?? a.ChangedAt : (DateTime?)null;
            clocks.Add(new IncidentClock(rules.ActionItemDue.Name, $"action-{a.Id}", a.DueOn!.Value.Date + rules.ActionItemDue.Due,
                a.Status == "Complete" ? settled : null, a.Status == "Canceled" ? settled : f.ClosedAt, $"{rules.ActionItemDue.Section}: {a.Title}"));
        }
        return clocks;
    }
}
