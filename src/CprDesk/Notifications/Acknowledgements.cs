// The automatic acknowledgement of a new report: ticket, receipt time, what happens next, the status link.
// It is not a preliminary report and meets no clock (DOMAIN.md F8). RFC 3834 decides when none may be sent.
using CprDesk.Intake.Email;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Notifications;

public sealed class Acknowledgements(Outbox outbox, MailSettings settings, CprDeskOptions options)
{
    /// <summary>Queues the acknowledgement, or records why none is sent. Runs in the report's creation transaction.</summary>
    public async Task SendOrSuppressAsync(WriteScope s, Report report, string statusToken, string? suppression,
        string? inReplyTo, IReadOnlyList<string> references, string? originalSubject)
    {
        var to = report.ReporterEmail;
        if (suppression is null && !System.Net.Mail.MailAddress.TryCreate(to, out _)) suppression = "no-valid-reporter-address";
        if (suppression is null)
        {
            var since = s.Now.AddHours(-1);
            var recent = await s.Db.Outbox.CountAsync(o => o.Recipient == to && o.Kind == Outbox.Acknowledgement && o.CreatedAt > since);
            if (recent >= settings.AcknowledgementsPerAddressPerHour) suppression = "rate-limit";
        }
        if (suppression is not null)
        {
            await s.AuditAsync("system", "acknowledgement.suppressed", report.Ticket, new { reason = suppression, to });
            return;
        }
        var statusUrl = $"{BaseUrl()}/report/status/{statusToken}";
        var subject = $"[{report.Ticket}] Certificate Problem Report received" + (string.IsNullOrWhiteSpace(originalSubject) ? "" : $": {Shorten(originalSubject, 120)}");
        var text = $"""
            We have received your Certificate Problem Report and recorded it as {report.Ticket}.

            Received: {report.ReceivedAt:yyyy-MM-dd HH:mm:ss} UTC

            What happens next:
            - Within 24 hours of receipt we investigate and send a preliminary report on our findings to you and to
              the Subscriber of the certificate concerned (CA/Browser Forum Baseline Requirements section 4.9.5).
            - If a certificate must be revoked, revocation is published within 24 hours or 5 days of receipt,
              depending on the reason (section 4.9.1.1).
            - Keep "[{report.Ticket}]" in the subject of any reply so it joins this report.

            Follow the report here (this link is private to you): {statusUrl}

            This is an automatic acknowledgement, not our preliminary report.
            """;
        try
        {
            await outbox.QueueAsync(s, Outbox.Acknowledgement, report.Id, report.Ticket, to, report.ReporterName, subject, text,
                inReplyTo.IsSafeMessageId() ? inReplyTo : null, references.Where(r => r.IsSafeMessageId()).ToList(), autoSubmitted: true, "system");
        }
        catch (Reports.DeskException ex)
        {
            // An address our writer cannot use must never stop the report from being created.
            await s.AuditAsync("system", "acknowledgement.suppressed", report.Ticket, new { reason = "cannot-address", to, detail = ex.Message });
        }
    }

    private string BaseUrl() => (options.PublicBaseUrl ?? options.Urls.Split(';')[0]).TrimEnd('/');

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}

internal static class MessageIdText
{
    /// <summary>In-Reply-To/References taken from received mail: printable ASCII, no spaces or brackets.</summary>
    public static bool IsSafeMessageId(this string? id) =>
        id is { Length: > 0 and <= 900 } && id.All(c => c is > ' ' and < (char)127 and not '<' and not '>');
}
