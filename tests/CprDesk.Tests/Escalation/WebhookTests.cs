// Webhook notifications through a real HTTP listener on loopback: a person's webhook and a schedule's team channel
// get a Slack-compatible body that also names the ticket and clock; a failing receiver is retried, not lost.
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using CprDesk.Escalation;
using CprDesk.Notifications;
using CprDesk.OnCall;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Escalation;

public sealed class WebhookTests : IAsyncLifetime, IDisposable
{
    private readonly Desk _desk = new();
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, string Body, int Status)> _received = new();
    private string _base = "";
    private int _status = 200;

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        var port = ServeProcess.FreePort();
        _base = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(_base);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); } catch (Exception) { return; }
                using var reader = new StreamReader(ctx.Request.InputStream);
                var status = _status;
                _received.Enqueue((ctx.Request.Url!.AbsolutePath, await reader.ReadToEndAsync(), status));
                ctx.Response.StatusCode = status;
                ctx.Response.Close();
            }
        });
        await using var db = _desk.Database.Open();
        db.Users.Add(new StaffUser { Username = "bob", Role = StaffRole.Staff, WebhookUrl = _base + "bob", PasswordHash = "x", CreatedAt = _desk.Now });
        await db.SaveChangesAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _listener.Close();
        _desk.Dispose();
    }

    [Fact]
    public async Task The_primary_and_the_team_channel_get_a_webhook_and_a_failing_receiver_is_retried()
    {
        var onCall = new OnCallStore(_desk.Database, _desk.Time, _desk.Outbox);
        await onCall.PutScheduleAsync("user:admin", "cpr", new ScheduleBody(
            [new LayerSpec("all", 0, ["bob"], new ShiftSpec(1, null), "09:00", "Europe/Warsaw", "2026-03-01", null)], _base + "team"));
        var engine = new EscalationEngine(_desk.Database, _desk.Time, EscalationPolicy.Load(Path.Combine(AppContext.BaseDirectory, "rules", "escalation.json")),
            onCall, _desk.Outbox, NullLogger<EscalationEngine>.Instance);
        using var outboxDir = new TempDir();
        var outbox = new OutboxService(_desk.Database, _desk.Time, new FileTransport(outboxDir.Path), _desk.Reports, _desk.Outbox,
            NullLogger<OutboxService>.Instance, new WebhookTransport(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }));

        var ticket = await _desk.SubmitAsync();
        await engine.RunOnceAsync();           // ownership step 0: the primary (bob) by his webhook
        await outbox.RunOnceAsync();
        var toBob = Assert.Single(_received, r => r.Path == "/bob");
        var body = JsonDocument.Parse(toBob.Body).RootElement;
        Assert.Contains(ticket, body.GetProperty("text").GetString());
        Assert.Equal(ticket, body.GetProperty("ticket").GetString());
        Assert.Equal("ownership step 0", body.GetProperty("step").GetString());

        _desk.Time.Advance(TimeSpan.FromHours(12)); // T−12 h: primary, secondary and the team channel, once per clock
        _status = 503;                              // the receiver is down for a while
        await engine.RunOnceAsync();
        await outbox.RunOnceAsync();
        await using (var db = _desk.Database.Open())
        {
            var team = await db.Outbox.Where(o => o.Channel == "webhook" && o.Recipient == _base + "team").ToListAsync();
            Assert.Equal(3, team.Count);
            Assert.All(team, o => Assert.Equal("deferred", o.Status));
            Assert.All(team, o => Assert.StartsWith("503", o.LastReply));
        }
        _status = 200;
        _desk.Time.Advance(OutboxService.Backoff[0]);
        await outbox.RunOnceAsync();
        await using (var db = _desk.Database.Open())
            Assert.All(await db.Outbox.Where(o => o.Channel == "webhook").ToListAsync(), o => Assert.Equal("sent", o.Status));
        Assert.Equal(3, _received.Count(r => r.Path == "/team" && r.Status == 200 && r.Body.Contains("\"clock\":\"")));
        Assert.Equal(3, _received.Count(r => r.Path == "/team" && r.Status == 503)); // each refused once, then retried
    }
}
