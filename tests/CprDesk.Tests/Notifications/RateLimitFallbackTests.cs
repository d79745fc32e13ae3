// Per-contact-method rate limits and fallback, with a real HTTP listener on loopback (that can answer 500) and the
// file outbox: an excess notification waits (rate-limited) and goes later, never dropped; a webhook that keeps failing
// falls back to the person's email, and both are recorded and listed on the report.
using System.Collections.Concurrent;
using System.Net;
using CprDesk.Escalation;
using CprDesk.Notifications;
using CprDesk.OnCall;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Notifications;

public sealed class RateLimitFallbackTests : IAsyncLifetime, IDisposable
{
    private readonly Desk _desk = new();
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, int Status)> _received = new();
    private readonly TempDir _outboxDir = new();
    private string _base = "";
    private volatile int _status = 200;

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        _base = $"http://127.0.0.1:{ServeProcess.FreePort()}/";
        _listener.Prefixes.Add(_base);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); } catch (Exception) { return; }
                var status = _status;
                _received.Enqueue((ctx.Request.Url!.AbsolutePath, status));
                ctx.Response.StatusCode = status;
                ctx.Response.Close();
            }
        });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _listener.Close();
        _outboxDir.Dispose();
        _desk.Dispose();
    }

    /// <summary>bob, the only person on call, reachable by webhook first and email second (as contact methods).</summary>
    private async Task<(EscalationEngine Engine, OutboxService Outbox)> SetUpAsync(NotificationSettings settings)
    {
        var accounts = new CprDesk.Access.Accounts(_desk.Database, _desk.Time);
        await accounts.CreateAsync("test", "bob", StaffRole.Staff, null, "Bob");
        var contacts = new ContactStore(_desk.Database, _desk.Time);
        await contacts.AddAsync("user:bob", "bob", new ContactMethodBody("webhook", _base + "bob", "chat", null));
        await contacts.AddAsync("user:bob", "bob", new ContactMethodBody("email", "bob@ca.example", null, null));
        var onCall = new OnCallStore(_desk.Database, _desk.Time, _desk.Outbox);
        await onCall.PutScheduleAsync("user:admin", "cpr", new ScheduleBody(
            [new LayerSpec("all", 0, ["bob"], new ShiftSpec(1, null), "09:00", "Europe/Warsaw", "2026-03-01", null)], null));
        var engine = new EscalationEngine(_desk.Database, _desk.Time, EscalationPolicy.Load(Path.Combine(AppContext.BaseDirectory, "rules", "escalation.json")),
            onCall, _desk.Outbox, NullLogger<EscalationEngine>.Instance);
        var outbox = new OutboxService(_desk.Database, _desk.Time, new FileTransport(_outboxDir.Path), _desk.Reports, _desk.Outbox,
            NullLogger<OutboxService>.Instance, new WebhookTransport(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }), settings);
        return (engine, outbox);
    }

    private async Task<List<OutboxMessage>> NotificationsAsync()
    {
        await using var db = _desk.Database.Open();
        return await db.Outbox.AsNoTracking().Where(o => o.Kind == Outbox.Notification).OrderBy(o => o.Id).ToListAsync();
    }

    private async Task<List<AuditEvent>> AuditAsync(string type)
    {
        await using var db = _desk.Database.Open();
        return await db.AuditEvents.AsNoTracking().Where(e => e.Type == type).OrderBy(e => e.Seq).ToListAsync();
    }

    [Fact]
    public async Task A_webhook_that_keeps_failing_falls_back_to_the_persons_email_and_both_are_on_the_report()
    {
        var (engine, outbox) = await SetUpAsync(new NotificationSettings { RateLimitPerMethod = 0, FallbackAfterFailures = 2 });
        _status = 500;
        var ticket = await _desk.SubmitAsync();
        await engine.RunOnceAsync(); // ownership step 0 → bob's webhook and bob's email
        await outbox.RunOnceAsync();

        var hook = Assert.Single(await NotificationsAsync(), o => o.Channel == "webhook");
        Assert.Equal("deferred", hook.Status);
        Assert.NotNull(hook.ContactMethodId);
        Assert.Null(hook.FellBackAt); // one failure is not yet "keeps failing"
        Assert.Empty(await AuditAsync("notification.fallback"));

        _desk.Time.Advance(OutboxService.Backoff[0]);
        await outbox.RunOnceAsync();  // second failure: fall back to the other methods
        await outbox.RunOnceAsync();  // deliver the fallback copy

        var rows = await NotificationsAsync();
        hook = rows.Single(o => o.Id == hook.Id);
        Assert.Equal(2, hook.Attempts);
        Assert.NotNull(hook.FellBackAt);
        Assert.Equal("deferred", hook.Status); // the webhook itself keeps being retried: at-least-once
        var fallback = Assert.Single(rows, o => o.FallbackOfId == hook.Id);
        Assert.Equal("email", fallback.Channel);
        Assert.Equal("bob@ca.example", fallback.Recipient);
        Assert.Equal("sent", fallback.Status);
        Assert.Equal(hook.EscalationStepId, fallback.EscalationStepId);
        Assert.Contains("failed", fallback.Subject);
        Assert.Equal(2, _received.Count(r => r.Path == "/bob" && r.Status == 500));
        var eml = Directory.GetFiles(_outboxDir.Path, "*.eml").Select(File.ReadAllText).ToList();
        Assert.Contains(eml, e => e.Contains("could not be delivered to your webhook") && e.Contains(ticket));

        var audit = Assert.Single(await AuditAsync("notification.fallback"));
        Assert.Equal(ticket, audit.Ticket);
        Assert.Contains("bob@ca.example", audit.Detail);

        var detail = await _desk.Queries.GetAsync(ticket);
        Assert.Contains(detail!.Notifications, n => n.Channel == "email" && n.Recipient == "bob@ca.example" && n.Status == "sent" && n.Step == "ownership step 0");
        Assert.Contains(detail.Notifications, n => n.Channel == "webhook" && n.Status == "deferred");

        // A third failure does not fall back again.
        _desk.Time.Advance(OutboxService.Backoff[1]);
        await outbox.RunOnceAsync();
        Assert.Single(await AuditAsync("notification.fallback"));
    }

    [Fact]
    public async Task A_refused_webhook_falls_back_at_once_and_a_person_without_other_methods_is_recorded()
    {
        var (engine, outbox) = await SetUpAsync(new NotificationSettings { RateLimitPerMethod = 0, FallbackAfterFailures = 5 });
        _status = 404; // permanent: failed after one attempt
        await _desk.SubmitAsync();
        await engine.RunOnceAsync();
        await outbox.RunOnceAsync();
        await outbox.RunOnceAsync();
        var rows = await NotificationsAsync();
        var hook = Assert.Single(rows, o => o.Channel == "webhook" && o.FallbackOfId == null);
        Assert.Equal("failed", hook.Status);
        Assert.Single(rows, o => o.FallbackOfId == hook.Id && o.Channel == "email" && o.Status == "sent");
    }

    [Fact]
    public async Task Notifications_over_a_methods_limit_wait_as_rate_limited_and_go_when_the_window_has_room()
    {
        var window = TimeSpan.FromMinutes(10);
        var (engine, outbox) = await SetUpAsync(new NotificationSettings { RateLimitPerMethod = 2, RateLimitWindow = window, FallbackAfterFailures = 2 });
        var tickets = new List<string>();
        for (var i = 0; i < 3; i++) tickets.Add(await _desk.SubmitAsync($"Report {i}: the key was published."));
        await engine.RunOnceAsync(); // three ownership pages to each of bob's two methods
        await outbox.RunOnceAsync();

        var rows = await NotificationsAsync();
        foreach (var channel in new[] { "webhook", "email" })
        {
            var mine = rows.Where(o => o.Channel == channel).ToList();
            Assert.Equal(3, mine.Count);
            Assert.Equal(2, mine.Count(o => o.Status == "sent"));
            var waiting = Assert.Single(mine, o => o.Status == NotificationLimits.RateLimited);
            Assert.Equal(_desk.Now + window, waiting.NextAttemptAt);
            Assert.Equal(0, waiting.Attempts); // not an attempt: nothing was handed to the channel
        }
        Assert.Equal(2, _received.Count(r => r.Path == "/bob"));
        Assert.Equal(2, (await AuditAsync("notification.rate-limited")).Count);

        var limited = rows.First(o => o.Status == NotificationLimits.RateLimited);
        var ticket = tickets.Single(t => limited.Subject.Contains(t));
        var detail = await _desk.Queries.GetAsync(ticket);
        Assert.Contains(detail!.Notifications, n => n.Status == NotificationLimits.RateLimited);

        // Still limited one minute before the window has room; both go once it has.
        _desk.Time.Advance(window - TimeSpan.FromMinutes(1));
        await outbox.RunOnceAsync();
        Assert.Equal(2, (await NotificationsAsync()).Count(o => o.Status == NotificationLimits.RateLimited));
        _desk.Time.Advance(TimeSpan.FromMinutes(1));
        await outbox.RunOnceAsync();
        Assert.All(await NotificationsAsync(), o => Assert.Equal("sent", o.Status));
        Assert.Equal(3, _received.Count(r => r.Path == "/bob"));
        Assert.Equal(3, Directory.GetFiles(_outboxDir.Path, "*.eml").Count(f => File.ReadAllText(f).Contains("bob@ca.example"))); // beside the acknowledgements
        Assert.Equal(2, (await AuditAsync("notification.rate-limited")).Count); // recorded once per notification, not per pass
    }
}
