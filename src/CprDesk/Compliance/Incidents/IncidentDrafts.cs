// Drafts in the CCADB IRG templates: the incident's fields, what the desk knows (timeline, clocks, certificates),
// and N/A for whatever does not apply.
using CprDesk.Deadlines;

namespace CprDesk.Compliance.Incidents;

public sealed class IncidentDrafts(IncidentDesk desk, IncidentOptions options, TimeProvider time)
{
    private IrgTemplateSet? _templates;

    public IrgTemplateSet Templates => _templates ??= IrgTemplates.Load(IncidentOptions.Resolve(options.TemplatesDirectory), options.TemplateVersion);

    public string BugSummary(IncidentDetail d) => $"{(string.IsNullOrWhiteSpace(options.CaOwnerName) ? "CA Owner Name" : options.CaOwnerName.Trim())}: {d.Incident.Title}";

    public async Task<string> RenderAsync(IncidentDetail d, string kind)
    {
        if (!IrgTemplates.Kinds.Contains(kind)) throw Reports.DeskException.Invalid("kind", $"kind must be one of: {string.Join(", ", IrgTemplates.Kinds)}.");
        var events = await desk.EventsAsync(d);
        return IrgTemplates.Render(Templates.Templates[kind], Values(d, events, time.GetUtcNow().UtcDateTime));
    }

    public IReadOnlyList<ValidationProblem> Validate(IncidentDetail d, string kind) =>
        IncidentValidation.Check(d, kind, Templates, options, time.GetUtcNow().UtcDateTime);

    public Dictionary<string, object?> Values(IncidentDetail d, IReadOnlyList<Storage.AuditEvent> events, DateTime now)
    {
        var f = d.Fields;
        var timeline = IncidentTimeline.Build(d, events);
        var certs = IncidentAppendix.Certificates(d, now);
        var auto = Defaults(d);
        var v = new Dictionary<string, object?>
        {
            ["caOwnerCcadbId"] = options.CaOwnerCcadbId?.Trim(),
            ["caOwnerName"] = options.CaOwnerName?.Trim(),
            ["incidentDescription"] = f.IncidentDescription ?? auto.Description,
            ["nonComplianceStart"] = f.NonComplianceStart ?? auto.Start,
            ["nonComplianceIdentified"] = f.NonComplianceIdentified ?? IncidentTimeline.Minute(d.Incident.AwareAt),
            ["nonComplianceEnd"] = f.NonComplianceEnd ?? auto.End,
            ["relevantPolicies"] = f.RelevantPolicies ?? auto.Policies,
            ["source"] = d.Incident.Source,
            ["totalCertificates"] = f.TotalCertificates ?? (certs.Count > 0 ? certs.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : null),
            ["remainingValidCertificates"] = f.RemainingValidCertificates,
            ["affectedCertificateTypes"] = f.AffectedCertificateTypes,
            ["incidentHeuristic"] = f.IncidentHeuristic,
            ["issuanceStopped"] = f.IssuanceStopped,
            ["analysis"] = f.Analysis,
            ["additionalConsiderations"] = f.AdditionalConsiderations,
            ["closureRootCauses"] = f.ClosureRootCauses ?? (d.Findings.Any(x => x.Kind == FindingKinds.RootCause)
                ? string.Join("; ", d.Findings.Where(x => x.Kind == FindingKinds.RootCause).Select(x => x.Title)) : null),
            ["remediationDescription"] = f.RemediationDescription,
            ["commitmentSummary"] = f.CommitmentSummary,
            ["timeline"] = timeline.Select(t => Item(("at", IncidentTimeline.Minute(t.At)), ("text", t.Text))).ToList(),
            ["related"] = f.RelatedIncidents.Select(r => Item(("bug", r.Bug.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("url", $"https://bugzilla.mozilla.org/show_bug.cgi?id={r.Bug}"), ("date", r.Opened.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
                ("description", Cell(r.Description)))).ToList(),
            ["rootCauses"] = d.Findings.Where(x => x.Kind == FindingKinds.RootCause).Select((x, n) => Item(("number", $"#{n + 1}"), ("title", x.Title),
                ("description", IncidentValidation.Detail(x, "description")), ("timeline", IncidentValidation.Detail(x, "timeline")),
                ("detection", IncidentValidation.Detail(x, "detection")), ("interaction", IncidentValidation.Detail(x, "interaction")),
                ("methodology", IncidentValidation.Detail(x, "methodology")))).ToList(),
            ["wentWell"] = Lessons(d, FindingKinds.WentWell),
            ["didntGoWell"] = Lessons(d, FindingKinds.DidNotGoWell),
            ["lucky"] = Lessons(d, FindingKinds.Lucky),
            ["additional"] = Lessons(d, FindingKinds.Additional),
            ["actionItems"] = d.ActionItems.Select(a => Item(("title", Cell(a.Title)), ("kind", a.Kind),
                ("addresses", Cell(string.Join(", ", a.Findings.Select(id => d.Findings.FirstOrDefault(x => x.Id == id)).OfType<IncidentFinding>()
                    .Select(x => IncidentValidation.FindingLabel(d, x))))),
                ("criteria", Cell(a.EvaluationCriteria)), ("due", a.DueOn?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
                ("status", a.Status))).ToList(),
            ["appendix"] = certs.Count == 0 ? null : "```csv\n" + IncidentAppendix.Csv(certs).ReplaceLineEndings("\n") + "```",
        };
        return v;
    }

    private static string? Lessons(IncidentDetail d, string kind)
    {
        var items = d.Findings.Where(x => x.Kind == kind).ToList();
        if (items.Count == 0) return null;
        if (items.Count == 1 && kind == FindingKinds.WentWell) return items[0].Title;
        return string.Concat(items.Select(x => $"\n   - {IncidentValidation.FindingLabel(d, x)}: {x.Title}"));
    }

    private static IReadOnlyDictionary<string, object?> Item(params (string Key, string? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => (object?)p.Value);

    /// <summary>A table cell: no pipe or line break may escape it.</summary>
    private static string? Cell(string? v) => v?.Replace("|", "\\|").ReplaceLineEndings(" ");

    private sealed record Auto(string? Description, string? Start, string? End, string? Policies);

    /// <summary>What the desk can say by itself about an incident opened on a missed CPR clock.</summary>
    private static Auto Defaults(IncidentDetail d)
    {
        var missed = d.Reports.SelectMany(r => r.Deadlines.Select(c => (Report: r, Clock: c)))
            .Where(x => d.Incident.Kind == IncidentKinds.DelayedRevocation ? x.Clock.Name == ClockNames.Revocation : x.Clock.Name != ClockNames.Revocation)
            .Where(x => (x.Clock.MetAt ?? DateTime.MaxValue) > x.Clock.DueAt && x.Clock.DueAt <= d.Incident.AwareAt.AddMinutes(1) && x.Clock.WaivedAt is null)
            .ToList();
        if (missed.Count == 0) return new(null, null, null, null);
        var start = missed.Min(x => x.Clock.DueAt);
        var stillOpen = missed.Any(x => x.Clock.MetAt is null);
        DateTime? end = stillOpen ? null : missed.Max(x => x.Clock.MetAt!.Value);
        var sections = string.Join(", ", missed.Select(x => x.Clock.Section).Distinct());
        var reporter = IncidentTimeline.Reporter(d);
        var first = missed.MinBy(x => x.Report.ReceivedAt).Report;
        var what = d.Incident.Kind == IncidentKinds.DelayedRevocation
            ? $"the revocation was not published by {IncidentTimeline.Minute(start)} as {sections} requires"
            : $"the preliminary report on our findings was not provided to {string.Join(" and ", missed.Select(x => x.Clock.Name == ClockNames.PreliminaryReportToReporter ? "the reporter" : "the Subscriber").Distinct())} within 24 hours ({sections}); it was due at {IncidentTimeline.Minute(start)}";
        return new(
            $"On {IncidentTimeline.Minute(first.ReceivedAt)} we received a Certificate Problem Report from {reporter}, and {what}.",
            IncidentTimeline.Minute(start),
            end is { } e ? IncidentTimeline.Minute(e) : "Ongoing",
            $"CA/Browser Forum TLS Baseline Requirements, {sections}");
    }
}
