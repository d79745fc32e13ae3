// Intake health through the real host on a fake clock: per-channel age of the last message, the oldest unprocessed
// message and the scorer's state in /healthz and /metrics; silence alarms to admins once per silence.
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CprDesk.Intake;
using CprDesk.Intake.Health;
using CprDesk.Intake.Spam;
using CprDesk.Notifications;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using CprDesk.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Intake;

public sealed class IntakeHealthTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(Desk.Start);
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(time: _time, extra: new Dictionary<string, string?>
        {
            ["CprDesk:Intake:ExpectedSilence:email"] = "01:00:00",
            ["CprDesk:Intake:ExpectedSilence:web-form"] = "1.00:00:00",
        });
        await _host.Service<CprDesk.Access.Accounts>().CreateAsync("test", "watch-admin", StaffRole.Admin, "watch-admin@ca.example", null);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<JsonElement> HealthAsync()
    {
        using var anon = _host.Client();
        // The escalation heartbeat goes stale on a fake clock (503); the intake section is there either way.
        var response = await anon.GetAsync("/healthz");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("intake");
    }

    private static JsonElement Channel(JsonElement intake, string name) =>
        intake.GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("channel").GetString() == name);

    private async Task<string> MetricsAsync()
    {
        using var anon = _host.Client();
        return await anon.GetStringAsync("/metrics");
    }

    private async Task<(List<OutboxMessage> Mail, List<AuditEvent> Silent, List<AuditEvent> Resumed)> AlarmsAsync(string channel)
    {
        await using var db = _host.Service<Database>().Open();
        var mail = await db.Outbox.Where(o => o.Kind == Outbox.Notification && o.Subject == $"Intake channel \"{channel}\" is silent").ToListAsync();
        var silent = await db.AuditEvents.Where(e => e.Type == IntakeHealthService.SilentEvent && e.Detail.Contains($"\"channel\":\"{channel}\"")).ToListAsync();
        var resumed = await db.AuditEvents.Where(e => e.Type == IntakeHealthService.ResumedEvent && e.Detail.Contains($"\"channel\":\"{channel}\"")).ToListAsync();
        return (mail, silent, resumed);
    }

    [Fact]
    public async Task A_silent_channel_notifies_the_admins_once_per_silence()
    {
        var service = _host.Service<IntakeHealthService>();
        await SpamIntakeTests.SendAsync(_host, SpamIntakeTests.Mail("Key compromise", "The key was published."));
        var intake = await HealthAsync();
        Assert.Equal(0, Channel(intake, "email").GetProperty("lastMessageAgeSeconds").GetDouble());
        Assert.False(Channel(intake, "email").GetProperty("silent").GetBoolean());
        Assert.Equal(3600, Channel(intake, "email").GetProperty("expectedSilenceSeconds").GetDouble());

        _time.Advance(TimeSpan.FromMinutes(59));
        await service.RunOnceAsync();
        Assert.Empty((await AlarmsAsync("email")).Silent);
        Assert.Contains("cprdesk_intake_last_message_age_seconds{channel=\"email\"} 3540", await MetricsAsync());

        _time.Advance(TimeSpan.FromMinutes(2));
        await service.RunOnceAsync();
        var (mail, silent, _) = await AlarmsAsync("email");
        var notice = Assert.Single(mail);
        Assert.Equal("watch-admin@ca.example", notice.Recipient);
        var evt = Assert.Single(silent);
        Assert.Equal("system", evt.Actor);
        Assert.Contains("watch-admin", evt.Detail);
        Assert.True(Channel(await HealthAsync(), "email").GetProperty("silent").GetBoolean());
        Assert.Contains("cprdesk_intake_channel_silent{channel=\"email\"} 1", await MetricsAsync());

        // Still silent: no second notice for the same silence.
        _time.Advance(TimeSpan.FromMinutes(30));
        await service.RunOnceAsync();
        await service.RunOnceAsync();
        Assert.Single((await AlarmsAsync("email")).Mail);

        // Mail arrives: the silence is over (audited); a new one later is a new alarm.
        await SpamIntakeTests.SendAsync(_host, SpamIntakeTests.Mail("Misissuance", "Wrong SAN."));
        await service.RunOnceAsync();
        var afterMail = await AlarmsAsync("email");
        Assert.Single(afterMail.Resumed);
        Assert.Single(afterMail.Mail);
        Assert.False(Channel(await HealthAsync(), "email").GetProperty("silent").GetBoolean());

        _time.Advance(TimeSpan.FromMinutes(61));
        await service.RunOnceAsync();
        Assert.Equal(2, (await AlarmsAsync("email")).Mail.Count);
    }

    [Fact]
    public async Task A_channel_that_never_received_anything_is_silent_since_the_desk_began()
    {
        var service = _host.Service<IntakeHealthService>();
        _time.Advance(TimeSpan.FromHours(23));
        await service.RunOnceAsync();
        Assert.Empty((await AlarmsAsync("web-form")).Silent);
        var web = Channel(await HealthAsync(), "web-form");
        Assert.Equal(JsonValueKind.Null, web.GetProperty("lastMessageAt").ValueKind);
        Assert.False(web.GetProperty("silent").GetBoolean());

        _time.Advance(TimeSpan.FromHours(2));
        await service.RunOnceAsync();
        var (mail, silent, _) = await AlarmsAsync("web-form");
        Assert.Single(silent);
        var notice = Assert.Single(mail);
        Assert.Contains("Last message on this channel: never", await RawTextAsync(notice));
    }

    private async Task<string> RawTextAsync(OutboxMessage o)
    {
        await using var db = _host.Service<Database>().Open();
        return Encoding.UTF8.GetString((await BlobStore.GetAsync(db, o.RawSha256))!.Content);
    }

    [Fact]
    public async Task The_oldest_unprocessed_message_and_a_disabled_scorer_are_reported()
    {
        var intake = await HealthAsync();
        Assert.Equal(0, intake.GetProperty("unprocessed").GetProperty("count").GetInt32());
        Assert.Equal("disabled", intake.GetProperty("scorer").GetProperty("state").GetString());
        Assert.DoesNotContain("cprdesk_spam_scorer_up{", await MetricsAsync());

        // Stored, never processed (as after a crash between the commit and the report).
        var json = Encoding.UTF8.GetBytes("""{"reporterEmail":"r@example.org","description":"stuck"}""");
        var id = await _host.Service<IntakePipeline>().StoreRawAsync(new RawSubmission("api", json, "application/json", "127.0.0.1"));
        _time.Advance(TimeSpan.FromSeconds(30));
        var unprocessed = (await HealthAsync()).GetProperty("unprocessed");
        Assert.Equal(1, unprocessed.GetProperty("count").GetInt32());
        Assert.Equal(id, unprocessed.GetProperty("oldestMessageId").GetInt64());
        Assert.Equal(30, unprocessed.GetProperty("oldestAgeSeconds").GetDouble());
        var metrics = await MetricsAsync();
        Assert.Contains("cprdesk_intake_unprocessed_messages 1", metrics);
        Assert.Contains("cprdesk_intake_oldest_unprocessed_age_seconds 30", metrics);
        Assert.Contains("cprdesk_intake_last_message_age_seconds{channel=\"api\"} 30", metrics);
    }

    [Fact]
    public async Task Metrics_show_the_process_memory_and_the_managed_heap()
    {
        var metrics = await MetricsAsync();
        long Gauge(string name)
        {
            var line = metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
            return long.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.True(Gauge("process_resident_memory_bytes") > 1 << 20); // Linux test machines: from /proc/self/status
        Assert.True(Gauge("dotnet_gc_heap_committed_bytes") > 0);
        Assert.True(Gauge("dotnet_gc_allocated_bytes_total") > 0);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter", metrics);
        Assert.Contains("dotnet_gc_collections_total{generation=\"2\"}", metrics);
    }

    [Fact]
    public void A_bad_expected_interval_stops_start_up_with_the_key_named()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<InvalidOperationException>(() => AppHost.Build([], new Dictionary<string, string?>
        {
            ["CprDesk:DataDirectory"] = dir.Path,
            ["CprDesk:Intake:ExpectedSilence:email"] = "four hours",
        }));
        Assert.Contains("CprDesk:Intake:ExpectedSilence:email", ex.Message);
    }
}

/// <summary>A spamd that accepts and never answers: the message is stored, answered 250 and processed unscored
/// within the configured timeout; the SMTP answer never waits for the scorer.</summary>
public sealed class StalledSpamdTests
{
    [Fact]
    public async Task A_stalled_spamd_costs_at_most_its_timeout_and_the_message_is_unscored()
    {
        using var stall = new TcpListener(IPAddress.Loopback, 0);
        stall.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var held = new List<Socket>();
        var acceptor = Task.Run(async () =>
        {
            try { while (true) held.Add(await stall.AcceptSocketAsync(cts.Token)); }
            catch (OperationCanceledException) { }
        });
        await using var host = await TestHost.StartAsync(extra: new Dictionary<string, string?>
        {
            ["CprDesk:Spam:Spamd"] = $"127.0.0.1:{((IPEndPoint)stall.LocalEndpoint).Port}",
            ["CprDesk:Spam:TimeoutMs"] = "1000",
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await SpamIntakeTests.SendAsync(host, SpamIntakeTests.Mail("Key compromise", "Please revoke."));
        var elapsed = clock.Elapsed;
        await using (var db = host.Service<Database>().Open())
        {
            Assert.Contains("unscored", (await db.Messages.SingleAsync(m => m.Id == result.MessageId)).Flags.Split(' '));
            var score = await db.SpamScores.SingleAsync(s => s.MessageId == result.MessageId);
            // Either it waited out the timeout, or the health check's ping at start had already found spamd stalled.
            Assert.True(score.Error!.Contains("timed out") || score.Error.Contains("not retried"), score.Error);
            Assert.InRange(score.ElapsedMs, 0, 5000);
        }
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"took {elapsed}");
        Assert.Equal(ScorerStatus.Down, host.Service<ISpamScorer>().Status.State);

        // The next message does not wait out another timeout: spamd is paused after the failure.
        var next = await SpamIntakeTests.SendAsync(host, SpamIntakeTests.Mail("Second report", "Please revoke this one too."));
        await using (var db = host.Service<Database>().Open())
        {
            var score = await db.SpamScores.SingleAsync(s => s.MessageId == next.MessageId);
            Assert.Contains("not retried", score.Error);
            Assert.True(score.ElapsedMs < 500, $"{score.ElapsedMs} ms");
        }
        await cts.CancelAsync();
        await acceptor;
        foreach (var s in held) s.Dispose();
    }
}
