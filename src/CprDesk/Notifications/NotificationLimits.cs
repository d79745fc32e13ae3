// Per-contact-method rate limits and fallback for escalation notifications. A notification over its method's limit is
// deferred (status rate-limited) until the window has room, never dropped; one whose method keeps failing is also sent
// to the person's other methods, each copy recorded as a fallback of the original.
using CprDesk.OnCall;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Notifications;

/// <summary>Configuration section <c>CprDesk:Notifications</c>.</summary>
public sealed class NotificationSettings
{
    public const string Section = "CprDesk:Notifications";
    /// <summary>At most this many notifications are handed to one contact method (address or URL) per <see cref="RateLimitWindow"/>; 0 turns the limit off.</summary>
    public int RateLimitPerMethod { get; set; } = 20;
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>After this many failed attempts of one notification (or when it fails for good) the person's other methods are tried too.</summary>
    public int FallbackAfterFailures { get; set; } = 2;
}

public static class NotificationLimits
{
    public const string RateLimited = "rate-limited";

    /// <summary>When <paramref name="row"/>'s destination has no room in the current window: the instant it will.
    /// Null when it may go now. Only notifications count and are limited: acknowledgements and preliminary reports
    /// have their own rules and must never wait behind pages.</summary>
    public static async Task<DateTime?> LimitedUntilAsync(CprDeskDb db, OutboxMessage row, DateTime now, NotificationSettings settings)
    {
        if (row.Kind != Outbox.Notification || settings.RateLimitPerMethod <= 0) return null;
        var since = now - settings.RateLimitWindow;
        var sent = await db.Outbox.AsNoTracking()
            .Where(o => o.Kind == Outbox.Notification && o.Channel == row.Channel && o.Recipient == row.Recipient && o.SentAt != null && o.SentAt > since)
            .OrderByDescending(o => o.SentAt).Select(o => o.SentAt!.Value).Take(settings.RateLimitPerMethod).ToListAsync();
        if (sent.Count < settings.RateLimitPerMethod) return null;
        // The window has room again once the oldest of the last N sends leaves it.
        return sent[^1] + settings.RateLimitWindow;
    }

    /// <summary>Records that <paramref name="o"/> waits for its method's window.</summary>
    public static async Task DeferAsync(WriteScope s, OutboxMessage o, string? ticket, DateTime until, NotificationSettings settings)
    {
        var first = o.Status != RateLimited;
        o.Status = RateLimited;
        o.NextAttemptAt = until;
        if (first)
            await s.AuditAsync("system", "notification.rate-limited", ticket, new
            {
                outboxId = o.Id, o.Channel, to = o.Recipient, limit = settings.RateLimitPerMethod, window = settings.RateLimitWindow.ToString(), until,
            });
    }

    /// <summary>After a failed attempt: if the notification has failed for good or <see cref="NotificationSettings.FallbackAfterFailures"/>
    /// times, queue it to the person's other methods (once per notification; a fallback does not fall back again).</summary>
    public static async Task FallBackIfDueAsync(WriteScope s, Outbox outbox, OutboxMessage o, string? ticket, NotificationSettings settings)
    {
        if (o.Kind != Outbox.Notification || o.FellBackAt is not null || o.FallbackOfId is not null || o.RecipientUserId is not { } userId) return;
        if (o.Status != "failed" && o.Attempts < Math.Max(1, settings.FallbackAfterFailures)) return;
        o.FellBackAt = s.Now;
        var person = await s.Db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId && !u.Disabled);
        var others = person is null ? [] : (await ContactStore.DestinationsAsync(s.Db, [person]))
            .Where(d => !(d.Kind == o.Channel && d.Target == o.Recipient)).ToList();
        var subject = $"{o.Subject} (your {o.Channel} {o.Recipient} failed)";
        var text = $"""
            {o.Subject}

            This escalation notification could not be delivered to your {o.Channel} {o.Recipient}
            after {o.Attempts} attempt(s) (last reply: {o.LastReply}). It is sent to your other contact methods instead.
            Open the report on the dashboard for the details, and check that contact method.
            """;
        var queued = new List<long>();
        foreach (var d in others)
        {
            var copy = d.Kind == ContactMethodRow.Webhook
                ? await outbox.QueueWebhookAsync(s, o.ReportId, ticket, d.Target, subject,
                    new { text = subject, ticket, fallbackOf = new { channel = o.Channel, recipient = o.Recipient, reply = o.LastReply } }, "system", o.EscalationStepId,
                    d.MethodId, userId, o.Id)
                : (await outbox.QueueAsync(s, Outbox.Notification, o.ReportId, ticket, d.Target, d.DisplayName, subject, text, null, [], autoSubmitted: true, "system",
                    o.EscalationStepId, d.MethodId, userId, o.Id)).Row;
            queued.Add(copy.Id);
        }
        await s.AuditAsync("system", "notification.fallback", ticket, new
        {
            outboxId = o.Id, user = person?.Username, from = new { channel = o.Channel, to = o.Recipient, attempts = o.Attempts, reply = o.LastReply, status = o.Status },
            to = others.Select(d => new { channel = d.Kind, to = d.Target }), fallbackOutboxIds = queued,
            note = others.Count == 0 ? "no other contact method" : null,
        });
    }
}
