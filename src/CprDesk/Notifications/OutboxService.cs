// Delivers due outbox rows with retries and backoff; records each outcome as an audit event; meets the
// preliminary-report clock when the relay accepted the copy. Due times live in the database, so a restart
// loses nothing. Tests call RunOnceAsync directly.
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Notifications;

public sealed class OutboxService : BackgroundService
{
    private readonly Database database;
    private readonly TimeProvider time;
    private readonly IMailTransport transport;
    private readonly ReportDesk desk;
    private readonly ILogger<OutboxService> log;

    private readonly WebhookTransport? webhooks;
    private readonly Outbox outbox;
    private readonly NotificationSettings notifications;

    public OutboxService(Database database, TimeProvider time, IMailTransport transport, ReportDesk desk, Outbox outbox, ILogger<OutboxService> log,
        WebhookTransport? webhooks = null, NotificationSettings? notifications = null)
    {
        this.webhooks = webhooks;
        this.outbox = outbox;
        this.notifications = notifications ?? new NotificationSettings();
        this.database = database;
        this.time = time;
        this.transport = transport;
        this.desk = desk;
        this.log = log;
        outbox.Queued += Wake;
    }

    /// <summary>Backoff after each failed attempt; after the last the message is failed for good.</summary>
    public static readonly TimeSpan[] Backoff =
    [
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4), TimeSpan.FromHours(8),
    ];

    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Raised after each delivery attempt with the row id and its new status; for watchdogs and tests.</summary>
    public event Action<long, string>? Attempted;
    private readonly SemaphoreSlim _running = new(1, 1);

    /// <summary>Asks the loop to look at the outbox now (after something was queued).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogError(ex, "Outbox pass failed; it will run again");
            }
            // Sleep until woken (mail queued) or the next retry check, whichever comes first.
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var woken = _wake.WaitAsync(cts.Token);
            var timer = Task.Delay(TimeSpan.FromSeconds(15), time, cts.Token);
            await Task.WhenAny(woken, timer);
            await cts.CancelAsync();
            try { await Task.WhenAll(woken, timer); }
            catch (OperationCanceledException) { }
            if (stoppingToken.IsCancellationRequested) return;
        }
    }

    /// <summary>Delivers every row that is due now. Returns how many were attempted.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        await _running.WaitAsync(ct);
        try
        {
            var now = time.GetUtcNow().UtcDateTime;
            var attempted = 0;
            // In batches of 100 until nothing is due: a backlog is worked off now, not one batch per wake-up.
            while (true)
            {
                List<OutboxMessage> due;
                await using (var db = database.Open())
                    due = await db.Outbox.AsNoTracking().Where(o => (o.Status == "queued" || o.Status == "deferred" || o.Status == NotificationLimits.RateLimited) && o.NextAttemptAt <= now)
                        // Pages to staff first: they are what keeps a clock from being missed.
                        .OrderBy(o => o.Kind == Outbox.Notification ? 0 : 1).ThenBy(o => o.NextAttemptAt).ThenBy(o => o.Id).Take(100).ToListAsync(ct);
                foreach (var row in due) await DeliverAsync(row, ct);
                attempted += due.Count;
                if (due.Count < 100) return attempted;
            }
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task DeliverAsync(OutboxMessage row, CancellationToken ct)
    {
        byte[] raw;
        DateTime? limitedUntil;
        await using (var db = database.Open())
        {
            limitedUntil = await NotificationLimits.LimitedUntilAsync(db, row, time.GetUtcNow().UtcDateTime, notifications);
            raw = (await BlobStore.GetAsync(db, row.RawSha256))!.Content;
        }
        if (limitedUntil is { } until)
        {
            await database.WriteAsync(time, async s =>
            {
                var o = await s.Db.Outbox.FirstAsync(x => x.Id == row.Id);
                var t = o.ReportId is { } rid ? await s.Db.Reports.Where(r => r.Id == rid).Select(r => r.Ticket).FirstAsync() : null;
                await NotificationLimits.DeferAsync(s, o, t, until, notifications);
                return true;
            }, ct);
            Attempted?.Invoke(row.Id, NotificationLimits.RateLimited);
            return;
        }
        DeliveryResult result;
        try
        {
            result = row.Channel == "webhook"
                ? webhooks is null ? new DeliveryResult(false, false, "no webhook transport configured") : await webhooks.DeliverAsync(row.Recipient, raw, ct)
                : await transport.DeliverAsync(row.MailFrom, row.Recipient, raw, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result = new DeliveryResult(false, false, $"{ex.GetType().Name}: {ex.Message}");
        }
        string? ticket = null;
        await database.WriteAsync(time, async s =>
        {
            var o = await s.Db.Outbox.FirstAsync(x => x.Id == row.Id);
            ticket = o.ReportId is { } rid ? await s.Db.Reports.Where(r => r.Id == rid).Select(r => r.Ticket).FirstAsync() : null;
            o.Attempts++;
            o.LastReply = result.Reply.Length > 1000 ? result.Reply[..1000] : result.Reply;
            if (result.Accepted)
            {
                o.Status = "sent";
                o.SentAt = s.Now;
                o.NextAttemptAt = null;
                await s.AuditAsync("system", "mail.sent", ticket, new { outboxId = o.Id, o.Kind, o.Channel, to = o.Recipient, reply = o.LastReply, via = o.Channel == "webhook" ? "webhook" : transport.Name });
                // In the same transaction: nobody ever sees a message "sent" while its report has not moved (a clock met,
                // New → Acknowledged).
                if (ticket is not null && row.Kind != Outbox.Notification)
                {
                    await s.Db.SaveChangesAsync(ct);
                    await desk.OutboxSettledInScopeAsync(s, ticket, o.Id);
                }
            }
            else if (result.Permanent || o.Attempts > Backoff.Length)
            {
                o.Status = "failed";
                o.NextAttemptAt = null;
                await s.AuditAsync("system", "mail.failed", ticket, new { outboxId = o.Id, o.Kind, to = o.Recipient, reply = o.LastReply, attempts = o.Attempts });
            }
            else
            {
                o.Status = "deferred";
                o.NextAttemptAt = s.Now + Backoff[o.Attempts - 1];
                await s.AuditAsync("system", "mail.deferred", ticket, new { outboxId = o.Id, o.Kind, to = o.Recipient, reply = o.LastReply, nextAttemptAt = o.NextAttemptAt });
            }
            if (!result.Accepted) await NotificationLimits.FallBackIfDueAsync(s, outbox, o, ticket, notifications);
            return true;
        }, ct);
        // Only an accepted message changes the report (a clock met, a state moved, above); failures are in the audit log.
        Attempted?.Invoke(row.Id, result.Accepted ? "sent" : "not-sent");
        if (!result.Accepted) log.LogWarning("Outbox message {Id} to {To} not delivered: {Reply}", row.Id, row.Recipient, result.Reply);
    }
}
