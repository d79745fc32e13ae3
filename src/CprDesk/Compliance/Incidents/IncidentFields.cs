// The template's free-text fields of an incident, stored as one JSON object. Empty means "N/A" in a draft
// unless the desk can fill it from what it knows (see IncidentDrafts).
using System.Text.Json;

namespace CprDesk.Compliance.Incidents;

public sealed class IncidentFields
{
    public string? IncidentDescription { get; set; }
    public string? RelevantPolicies { get; set; }
    public string? NonComplianceStart { get; set; }
    public string? NonComplianceIdentified { get; set; }
    public string? NonComplianceEnd { get; set; }
    public string? TotalCertificates { get; set; }
    public string? RemainingValidCertificates { get; set; }
    public string? AffectedCertificateTypes { get; set; }
    public string? IncidentHeuristic { get; set; }
    public string? IssuanceStopped { get; set; }
    public string? Analysis { get; set; }
    public string? AdditionalConsiderations { get; set; }
    public string? ClosureRootCauses { get; set; }
    public string? RemediationDescription { get; set; }
    public string? CommitmentSummary { get; set; }
    /// <summary>Rows of the Related Incidents table a person accepted (Description written by a person).</summary>
    public List<RelatedIncidentRow> RelatedIncidents { get; set; } = [];
    /// <summary>Timeline entries the audit trail cannot know (policy changes, when the incident began, …).</summary>
    public List<TimelineNote> TimelineNotes { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static IncidentFields Parse(string json) => JsonSerializer.Deserialize<IncidentFields>(json, Json) ?? new IncidentFields();

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The string fields by their JSON names, for patching and for validation.</summary>
    public static readonly string[] TextFieldNames =
    [
        "incidentDescription", "relevantPolicies", "nonComplianceStart", "nonComplianceIdentified", "nonComplianceEnd", "totalCertificates",
        "remainingValidCertificates", "affectedCertificateTypes", "incidentHeuristic", "issuanceStopped", "analysis", "additionalConsiderations",
        "closureRootCauses", "remediationDescription", "commitmentSummary",
    ];

    public IEnumerable<(string Name, string? Value)> TextFields()
    {
        var self = JsonSerializer.SerializeToElement(this, Json);
        foreach (var n in TextFieldNames)
            yield return (n, self.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null);
    }

    /// <summary>Sets the given text fields (null leaves a field, "" clears it). Unknown names are refused.</summary>
    public IncidentFields With(IReadOnlyDictionary<string, string?> changes)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(ToJson())!.AsObject();
        foreach (var (k, v) in changes)
        {
            if (!TextFieldNames.Contains(k)) throw Reports.DeskException.Invalid($"fields.{k}", $"Unknown field '{k}'. Fields: {string.Join(", ", TextFieldNames)}.");
            if (v is null) continue;
            node[k] = v.Trim().Length == 0 ? null : v.Trim();
        }
        return JsonSerializer.Deserialize<IncidentFields>(node.ToJsonString(), Json)!;
    }
}

public sealed record RelatedIncidentRow(long Bug, DateTime Opened, string? Description);

public sealed record TimelineNote(DateTime At, string Text);
