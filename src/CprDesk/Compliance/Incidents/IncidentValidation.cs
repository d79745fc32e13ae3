// Checks before a report is posted: what the IRG says MUST hold, each problem named so a person can fix it.
using System.Text.Json;

namespace CprDesk.Compliance.Incidents;

public sealed record ValidationProblem(string Field, string Message);

public static class IncidentValidation
{
    public static IReadOnlyList<ValidationProblem> Check(IncidentDetail d, string kind, IrgTemplateSet templates, IncidentOptions options, DateTime now)
    {
        var p = new List<ValidationProblem>();
        var i = d.Incident;
        if (!IrgTemplates.Kinds.Contains(kind)) { p.Add(new("kind", $"kind must be one of: {string.Join(", ", IrgTemplates.Kinds)}.")); return p; }
        if (templates.TooOldAt(now))
            p.Add(new("templateVersion", $"IRG template {templates.Version} was superseded on {templates.SupersededOn:yyyy-MM-dd}, more than 30 days ago: CCADB Policy §6.1 forbids posting with it. Move to the current version."));
        if (i.Source is null || !IncidentDesk.Sources.Contains(i.Source))
            p.Add(new("source", $"Source of incident disclosure must be one of: {string.Join(", ", IncidentDesk.Sources)}."));
        if (string.IsNullOrWhiteSpace(options.CaOwnerName))
            p.Add(new("caOwnerName", $"The CA Owner name is not configured ({IncidentOptions.Section}:CaOwnerName): the bug summary must begin with it."));

        // The reporter is named only with consent (IRG: "a community member").
        if (!i.ReporterConsent)
            foreach (var r in d.Reports)
                foreach (var who in new[] { r.ReporterName, r.ReporterEmail }.Where(w => !string.IsNullOrWhiteSpace(w) && w!.Length >= 3))
                    foreach (var (name, text) in FreeText(d))
                        if (text.Contains(who!, StringComparison.OrdinalIgnoreCase))
                            p.Add(new(name, $"{Label(name)} names the reporter ('{who}') but no consent is recorded: write \"a community member\", or record consent."));

        if (kind == "preliminary") return p;

        if (!IncidentOptions.IsCcadbId(options.CaOwnerCcadbId?.Trim()))
            p.Add(new("caOwnerCcadbId", $"The CA Owner CCADB unique ID is not configured ({IncidentOptions.Section}:CaOwnerCcadbId, 'A' followed by six digits)."));
        foreach (var a in d.ActionItems)
        {
            if (!IncidentActionItem.Kinds.Contains(a.Kind)) p.Add(new($"actionItems[{a.Id}].kind", $"Action item '{a.Title}': Kind must be Prevent, Mitigate or Detect."));
            if (!IncidentActionItem.Statuses.Contains(a.Status)) p.Add(new($"actionItems[{a.Id}].status", $"Action item '{a.Title}': Status must be Ongoing, Complete, Delayed or Canceled."));
        }
        var addressed = d.ActionItems.SelectMany(a => a.Findings).ToHashSet();
        var rootCauses = d.Findings.Where(f => f.Kind == FindingKinds.RootCause).ToList();
        if (rootCauses.Count == 0) p.Add(new("rootCauses", "Root Cause Analysis has no contributing factor."));
        foreach (var f in d.Findings.Where(f => f.Kind is FindingKinds.RootCause or FindingKinds.DidNotGoWell or FindingKinds.Additional))
            if (!addressed.Contains(f.Id))
                p.Add(new($"findings[{f.Id}]", $"{FindingLabel(d, f)} '{f.Title}' has no corresponding action item: each MUST map to at least one."));
        if (d.ActionItems.Count == 0) p.Add(new("actionItems", "There are no action items."));
        if (i.Kind == IncidentKinds.DelayedRevocation && string.IsNullOrWhiteSpace(d.Fields.Analysis))
            p.Add(new("analysis", "Analysis is required for a revocation-delay incident: why revocation was delayed and the harm it avoided."));

        if (kind == "closure")
        {
            foreach (var a in d.ActionItems.Where(a => a.Status is not ("Complete" or "Canceled")))
                p.Add(new($"actionItems[{a.Id}].status", $"Action item '{a.Title}' is {a.Status}: closure needs every action item complete."));
            foreach (var q in d.Questions.Where(q => q.AnsweredAt is null))
                p.Add(new($"questions[{q.Id}]", $"The question asked {q.AskedAt:yyyy-MM-dd HH:mm} UTC is unanswered: closure needs no outstanding questions."));
        }
        return p;
    }

    /// <summary>"Root Cause # 2", "What didn't go well # 1": how findings are numbered in the draft.</summary>
    public static string FindingLabel(IncidentDetail d, IncidentFinding f)
    {
        var n = d.Findings.Where(x => x.Kind == f.Kind).ToList().FindIndex(x => x.Id == f.Id) + 1;
        return f.Kind switch
        {
            FindingKinds.RootCause => $"Root Cause # {n}",
            FindingKinds.DidNotGoWell => $"What didn't go well # {n}",
            FindingKinds.Lucky => $"Where we got lucky # {n}",
            FindingKinds.Additional => $"Additional # {n}",
            _ => $"What went well # {n}",
        };
    }

    private static IEnumerable<(string Name, string Text)> FreeText(IncidentDetail d)
    {
        yield return ("title", d.Incident.Title);
        foreach (var (n, v) in d.Fields.TextFields()) if (v is not null) yield return ($"fields.{n}", v);
        foreach (var f in d.Findings) yield return ($"findings[{f.Id}]", f.Title + " " + f.Detail);
        foreach (var a in d.ActionItems) yield return ($"actionItems[{a.Id}]", a.Title + " " + a.EvaluationCriteria);
        foreach (var t in d.Fields.TimelineNotes) yield return ("timelineNotes", t.Text);
        foreach (var r in d.Fields.RelatedIncidents) if (r.Description is not null) yield return ("relatedIncidents", r.Description);
    }

    private static string Label(string field) => field.StartsWith("fields.", StringComparison.Ordinal) ? field[7..] : field;

    public static string Detail(IncidentFinding f, string key) =>
        JsonDocument.Parse(f.Detail).RootElement is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString() ?? "" : "";
}
