// The Timeline of a full report, from the audit trail of the incident's reports and of the incident itself:
// receipt, acknowledgement, preliminary reports (reporter and each Subscriber), revocation planned and
// published, clock misses, every escalation and notification. UTC, minute granularity.
using System.Text.Json;
using CprDesk.Deadlines;
using CprDesk.Storage;

namespace CprDesk.Compliance.Incidents;

public sealed record TimelineEntry(DateTime At, string Text);

public static class IncidentTimeline
{
    public const string Format = "yyyy-MM-dd HH:mm";

    public static string Minute(DateTime at) => at.ToString(Format, System.Globalization.CultureInfo.InvariantCulture) + " UTC";

    public static IReadOnlyList<TimelineEntry> Build(IncidentDetail d, IReadOnlyList<AuditEvent> events)
    {
        var entries = new List<TimelineEntry>();
        var many = d.Reports.Count > 1;
        var sentByOutbox = new Dictionary<long, DateTime>();
        foreach (var e in events.Where(e => e.Type == "mail.sent"))
            if (Long(e, "outboxId") is { } id) sentByOutbox[id] = e.At;
        var subscriberNumbers = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

        foreach (var e in events)
        {
            // Events of another incident on the same report (the delayed-revocation one, say) belong to its own timeline.
            if (e.Type.StartsWith("incident.", StringComparison.Ordinal) && Long(e, "incident") is { } other && other != d.Incident.Id) continue;
            var report = d.Reports.FirstOrDefault(r => r.Ticket == e.Ticket);
            var prefix = many && report is not null ? $"{report.Ticket}: " : "";
            void Add(DateTime at, string text) => entries.Add(new TimelineEntry(at, prefix + text));
            switch (e.Type)
            {
                case "report.created":
                    Add(report?.ReceivedAt ?? Date(e, "receivedAt") ?? e.At,
                        $"Certificate Problem Report received from {Reporter(d)} ({Str(e, "channel") ?? "unknown channel"}; ticket {e.Ticket}).");
                    break;
                case "mail.queued" when Str(e, "kind") == "acknowledgement":
                    Add(Long(e, "outboxId") is { } ack && sentByOutbox.TryGetValue(ack, out var ackSent) ? ackSent : e.At,
                        "Automatic acknowledgement sent to the reporter (an acknowledgement, not a preliminary report).");
                    break;
                case "preliminary-report.recorded":
                {
                    var who = Str(e, "recipient") == "subscriber" ? SubscriberLabel(Str(e, "to"), subscriberNumbers) : "the reporter";
                    var at = Date(e, "sentAt") ?? (Long(e, "outboxId") is { } o && sentByOutbox.TryGetValue(o, out var s) ? s : (DateTime?)null);
                    if (at is { } when) Add(when, $"Preliminary report on findings provided to {who}.");
                    else Add(e.At, $"Preliminary report to {who} queued for delivery (not yet accepted by the mail relay).");
                    break;
                }
                case "deadline.missed":
                    Add(Date(e, "dueAt") ?? e.At, $"Deadline missed: {ClockLabel(Str(e, "clock"), Str(e, "recipient"), subscriberNumbers)} ({Str(e, "section")}).");
                    break;
                case "deadline.set" or "deadline.changed" when Str(e, "name") == ClockNames.Revocation:
                    Add(e.At, $"Revocation planned: published revocation due by {Minute(Date(e, e.Type == "deadline.set" ? "dueAt" : "to") ?? e.At)} ({Str(e, "section")}).");
                    break;
                case "report.classified":
                    Add(e.At, "Report classified: " + (Json(e).TryGetProperty("to", out var to) && to.ValueKind == JsonValueKind.Object && to.TryGetProperty("section", out var sec)
                        ? $"{sec.GetString()}." : "revocation reason chosen."));
                    break;
                case "report.assigned" when Str(e, "to") is not null:
                    Add(e.At, "Report taken by a member of staff.");
                    break;
                case "revocation.recorded":
                    Add(Date(e, "publishedAt") ?? e.At, $"Revocation published (CRLReason {Str(e, "crlReason") ?? "unspecified"}).");
                    break;
                case "escalation.fired":
                {
                    var notified = Json(e).TryGetProperty("notified", out var n) && n.ValueKind == JsonValueKind.Array ? n.GetArrayLength() : 0;
                    Add(e.At, $"Escalation ({Str(e, "kind")} step {Long(e, "step")}{ClockSuffix(e, subscriberNumbers)}): {notified} staff notified ({Audience(e)}).");
                    break;
                }
                case "escalation.no-one-on-call":
                    Add(e.At, $"Escalation ({Str(e, "kind")} step {Long(e, "step")}{ClockSuffix(e, subscriberNumbers)}) found nobody on call ({Audience(e)}); it fell through to the next step.");
                    break;
                case "mail.sent" when Str(e, "kind") == "notification":
                    Add(e.At, $"Escalation notification delivered by {(Str(e, "channel") == "webhook" ? "webhook" : "email")}.");
                    break;
                case "incident.opened":
                    Add(e.At, Str(e, "reason") == "deadline.missed"
                        ? "Incident opened automatically in CprDesk on the missed deadline (CA Owner aware)."
                        : "Incident opened in CprDesk (CA Owner aware).");
                    break;
                case "incident.posted":
                    Add(Date(e, "postedAt") ?? e.At, Str(e, "kind") switch
                    {
                        IncidentPost.Preliminary => "Preliminary Incident Report posted.",
                        IncidentPost.Full => "Full Incident Report posted.",
                        IncidentPost.Closure => "Report Closure Summary posted.",
                        _ => "Incident report updated.",
                    });
                    break;
            }
        }
        foreach (var n in d.Fields.TimelineNotes) entries.Add(new TimelineEntry(n.At, n.Text));
        return entries.OrderBy(x => x.At).ToList();
    }

    /// <summary>How the drafts name the reporter: by name only with recorded consent (IRG privacy guidance).</summary>
    public static string Reporter(IncidentDetail d)
    {
        if (!d.Incident.ReporterConsent) return "a community member";
        var r = d.Reports.FirstOrDefault();
        return r?.ReporterName is { Length: > 0 } name ? name : r?.ReporterEmail ?? "a community member";
    }

    private static string SubscriberLabel(string? email, Dictionary<string, int> numbers)
    {
        var key = email ?? "";
        if (!numbers.TryGetValue(key, out var n)) numbers[key] = n = numbers.Count + 1;
        return $"Subscriber {n}";
    }

    public static string ClockLabel(string? clock, string? recipient, Dictionary<string, int>? numbers = null) => clock switch
    {
        ClockNames.PreliminaryReportToReporter => "preliminary report to the reporter",
        ClockNames.PreliminaryReportToSubscriber => recipient is null || numbers is null ? "preliminary report to the Subscriber" : $"preliminary report to {SubscriberLabel(recipient, numbers)}",
        ClockNames.Revocation => "published revocation",
        null => "clock",
        _ => clock,
    };

    private static string ClockSuffix(AuditEvent e, Dictionary<string, int> numbers) =>
        Str(e, "clock") is { } c ? $", {ClockLabel(c, Str(e, "recipient"), numbers)}" : "";

    private static string Audience(AuditEvent e) =>
        Json(e).TryGetProperty("audience", out var a) && a.ValueKind == JsonValueKind.Array ? string.Join(", ", a.EnumerateArray().Select(x => x.GetString())) : "";

    private static JsonElement Json(AuditEvent e)
    {
        try { return JsonDocument.Parse(e.Detail).RootElement; }
        catch (JsonException) { return default; }
    }

    private static string? Str(AuditEvent e, string name) =>
        Json(e) is { ValueKind: JsonValueKind.Object } j && j.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Long(AuditEvent e, string name) =>
        Json(e) is { ValueKind: JsonValueKind.Object } j && j.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static DateTime? Date(AuditEvent e, string name) =>
        Json(e) is { ValueKind: JsonValueKind.Object } j && j.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetDateTime(out var dt)
            ? DateTime.SpecifyKind(dt.Kind == DateTimeKind.Local ? dt.ToUniversalTime() : dt, DateTimeKind.Utc) : null;
}
