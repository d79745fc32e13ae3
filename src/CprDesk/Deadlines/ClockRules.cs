// The BR clock rules as data: tiers, sections and CRLReasons come from a rules file (rules/tls-br.json),
// so an S/MIME or code-signing variant, or a future ballot, is a data change.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CprDesk.Deadlines;

public sealed record ClockRule(string Name, TimeSpan Due, string Section);

public sealed record RevocationRule(string Name, TimeSpan UnclassifiedDue, string Section);

public sealed record RevocationReason(
    string Code, string Category, TimeSpan Due, string Section, string CrlReason, int CrlReasonCode, string Title);

public sealed class ClockRules
{
    public required string Ruleset { get; init; }
    public required string Title { get; init; }
    public required TimeSpan AtRiskWithin { get; init; }
    public required ClockRule PreliminaryReportToReporter { get; init; }
    public required ClockRule PreliminaryReportToSubscriber { get; init; }
    public required RevocationRule Revocation { get; init; }
    public required IReadOnlyList<RevocationReason> Reasons { get; init; }

    public RevocationReason? FindReason(string? code) =>
        code is null ? null : Reasons.FirstOrDefault(r => string.Equals(r.Code, code, StringComparison.OrdinalIgnoreCase));

    public static ClockRules Load(string path)
    {
        if (!File.Exists(path))
            throw new InvalidOperationException($"Clock rules file not found: {path}");
        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    public static ClockRules Parse(Stream json, string origin)
    {
        RulesFile? file;
        try
        {
            file = JsonSerializer.Deserialize<RulesFile>(json, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"Clock rules file {origin} is not valid JSON: {ex.Message}", ex);
        }
        if (file?.Clocks?.PreliminaryReportToReporter is null || file.Clocks.PreliminaryReportToSubscriber is null
            || file.Clocks.Revocation is null || file.Reasons is null || file.Reasons.Count == 0)
            throw new InvalidOperationException($"Clock rules file {origin} lacks clocks or reasons.");
        var codes = file.Reasons.GroupBy(r => r.Code, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (codes.Count > 0)
            throw new InvalidOperationException($"Clock rules file {origin} repeats reason codes: {string.Join(", ", codes)}");
        foreach (var r in file.Reasons)
            if (r.Due <= TimeSpan.Zero) throw new InvalidOperationException($"Reason {r.Code} in {origin} has no positive due time.");
        return new ClockRules
        {
            Ruleset = file.Ruleset ?? "unnamed",
            Title = file.Title ?? file.Ruleset ?? "unnamed",
            AtRiskWithin = file.AtRiskWithin,
            PreliminaryReportToReporter = file.Clocks.PreliminaryReportToReporter,
            PreliminaryReportToSubscriber = file.Clocks.PreliminaryReportToSubscriber,
            Revocation = file.Clocks.Revocation,
            Reasons = file.Reasons,
        };
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private sealed class RulesFile
    {
        public string? Ruleset { get; set; }
        public string? Title { get; set; }
        public TimeSpan AtRiskWithin { get; set; } = TimeSpan.FromHours(4);
        public ClockSet? Clocks { get; set; }
        public List<RevocationReason>? Reasons { get; set; }
    }

    private sealed class ClockSet
    {
        public ClockRule? PreliminaryReportToReporter { get; set; }
        public ClockRule? PreliminaryReportToSubscriber { get; set; }
        public RevocationRule? Revocation { get; set; }
    }
}
