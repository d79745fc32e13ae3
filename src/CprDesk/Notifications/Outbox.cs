// Outbound mail: every message we send is written to the outbox table (raw bytes kept) inside the transaction
// that decided to send it, then delivered by OutboxService with retries. A preliminary-report clock is met when
// the relay accepted that recipient's copy, not when the message was queued.
using System.Security.Cryptography;
using CprDesk.Intake.Email;
using CprDesk.Mail.Outgoing;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Notifications;

public sealed record QueuedMail(OutboxMessage Row, string MessageId);

public sealed class Outbox(MailSettings settings)
{
    /// <summary>Raised after a transaction that queued mail has committed.</summary>
    public event Action? Queued;

    public const string Acknowledgement = "acknowledgement";
    public const string PreliminaryReport = "preliminary-report";
    public const string Notification = "notification";

    public string Domain => settings.From.Contains('@') ? settings.From[(settings.From.IndexOf('@') + 1)..] : "localhost";

    /// <summary>A token in our loop header, so mail we sent and that comes back is recognised.</summary>
    public string LoopToken => $"cprdesk@{Domain}";

    /// <summary>Queues a webhook POST (JSON body) in the caller's transaction.</summary>
    public async Task<OutboxMessage> QueueWebhookAsync(WriteScope s, long? reportId, string? ticket, string url, string summary, object body,
        string actor, long? escalationStepId, long? contactMethodId = null, long? recipientUserId = null, long? fallbackOfId = null)
    {
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, Compliance.AuditJson.Options);
        var sha = await BlobStore.PutAsync(s.Db, json);
        var row = new OutboxMessage
        {
            ReportId = reportId, Kind = Notification, Channel = "webhook", MessageId = $"webhook.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}@{Domain}",
            MailFrom = "", Recipient = url, Subject = HeaderText(summary), RawSha256 = sha, Status = "queued", NextAttemptAt = s.Now, CreatedAt = s.Now,
            EscalationStepId = escalationStepId, ContactMethodId = contactMethodId, RecipientUserId = recipientUserId, FallbackOfId = fallbackOfId,
        };
        s.Db.Outbox.Add(row);
        await s.Db.SaveChangesAsync();
        s.AfterCommit(() => Queued?.Invoke());
        await s.AuditAsync(actor, "webhook.queued", ticket, new { outboxId = row.Id, url, summary = row.Subject });
        return row;
    }

    private static string HeaderText(string s) => new string(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();

    /// <summary>Queues <paramref name="text"/> by email to every active admin with an address (system alarms: coverage gaps,
    /// late escalation, silent channels, failing pollers, drift, unreviewed bugs). Returns the admins told.</summary>
    public async Task<IReadOnlyList<StaffUser>> TellAdminsAsync(WriteScope s, string subject, string text)
    {
        var admins = await s.Db.Users.AsNoTracking().Where(u => u.Role == StaffRole.Admin && !u.Disabled && u.Email != null).ToListAsync();
        foreach (var a in admins)
            await QueueAsync(s, Notification, null, null, a.Email!, a.DisplayName, subject, text, null, [], autoSubmitted: true, "system");
        return admins;
    }

    /// <summary>Queues one message to one recipient in the caller's transaction.</summary>
    public async Task<QueuedMail> QueueAsync(WriteScope s, string kind, long? reportId, string? ticket, string recipient, string? recipientName,
        string subject, string text, string? inReplyTo, IReadOnlyList<string> references, bool autoSubmitted, string actor, long? escalationStepId = null,
        long? contactMethodId = null, long? recipientUserId = null, long? fallbackOfId = null)
    {
        var messageId = $"{(ticket ?? "cprdesk").ToLowerInvariant()}.{kind}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}@{Domain}";
        var headers = new List<KeyValuePair<string, string>> { new(MailRules.LoopHeader, LoopToken) };
        if (autoSubmitted) headers.Add(new("Auto-Submitted", "auto-replied"));
        if (ticket is not null) headers.Add(new("X-CPR-Ticket", ticket));
        // Names and subjects can come from hostile mail (decoded encoded-words may hold CR, LF or NUL).
        subject = HeaderText(subject);
        recipientName = recipientName is null ? null : HeaderText(recipientName);
        byte[] raw;
        try
        {
            raw = MessageWriter.Write(new OutgoingMessage
            {
                From = new OutgoingAddress(settings.FromName, settings.From),
                To = [new OutgoingAddress(string.IsNullOrWhiteSpace(recipientName) ? null : recipientName, recipient)],
                Subject = subject,
                TextBody = text,
                MessageId = messageId,
                InReplyTo = inReplyTo,
                References = references,
                Date = new DateTimeOffset(s.Now, TimeSpan.Zero),
                ExtraHeaders = headers,
            });
        }
        catch (ArgumentException ex)
        {
            throw Reports.DeskException.Invalid("to", $"Mail to '{recipient}' cannot be written: {ex.Message}");
        }
        var sha = await BlobStore.PutAsync(s.Db, raw);
        var row = new OutboxMessage
        {
            ReportId = reportId, Kind = kind, MessageId = messageId, MailFrom = settings.From, Recipient = recipient, Subject = subject,
            RawSha256 = sha, Status = "queued", NextAttemptAt = s.Now, CreatedAt = s.Now, EscalationStepId = escalationStepId,
            ContactMethodId = contactMethodId, RecipientUserId = recipientUserId, FallbackOfId = fallbackOfId,
        };
        s.Db.Outbox.Add(row);
        await s.Db.SaveChangesAsync();
        s.AfterCommit(() => Queued?.Invoke());
        await s.AuditAsync(actor, "mail.queued", ticket, new { outboxId = row.Id, kind, to = recipient, subject, messageId });
        return new QueuedMail(row, messageId);
    }
}
