// How a canary run is decided on a fake clock, as Checkmk's check_mail_loop grades it: no acknowledgement by the
// channel's limit is late at once (degraded, admins told once), lost at the cut-off; an acknowledgement arriving in
// between keeps it late with its time. A sender mailbox the checker cannot read never makes a run lost: the checker's
// failure is audited and alarmed instead. The channel is the API (a report at once); the sender mailbox a Maildir the
// test delivers acknowledgements into.
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using CprDesk.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Channels;

public sealed class CanaryOutcomeTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(Desk.Start);
    private readonly TempDir _mail = new();
    private string Maildir => Path.Combine(_mail.Path, "Maildir");
    private TestHost _host = null!;
    private (string Username, string Password, string Token) _staff;

    public async Task InitializeAsync()
    {
        foreach (var sub in new[] { "new", "cur", "tmp" }) Directory.CreateDirectory(Path.Combine(Maildir, sub));
        _host = await TestHost.StartAsync(time: _time, extra: new Dictionary<string, string?>
        {
            ["CprDesk:Canary:Enabled"] = "false", // driven by hand below
            ["CprDesk:Canary:From"] = "canary-sender@ca.example",
            ["CprDesk:Canary:Maildir"] = Maildir,
        });
        await new Accounts(_host.Service<Database>(), _time).CreateAsync("test", "ops", StaffRole.Admin, "ops@ca.example", null);
        _staff = await _host.UserAsync(StaffRole.Staff);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _mail.Dispose();
    }

    private async Task<ChannelRow> ApiChannelAsync(string path) =>
        await _host.Service<ChannelRegistry>().AddAsync("test", new ChannelInput(new Uri(_host.BaseUri, path).ToString(), Kind: "api", CanaryEnabled: false, LateAfterMinutes: 30));

    /// <summary>Delivers CprDesk's acknowledgement of <paramref name="ticket"/> into the sender mailbox, as an MTA would.</summary>
    private async Task DeliverAckAsync(string ticket)
    {
        var name = $"{Guid.NewGuid():N}.test";
        var tmp = Path.Combine(Maildir, "tmp", name);
        await File.WriteAllTextAsync(tmp, $"From: cpr-desk@localhost\r\nTo: canary-sender@ca.example\r\nSubject: [{ticket}] Your certificate problem report\r\n" +
            $"X-CPR-Ticket: {ticket}\r\n\r\nWe received your report.\r\n", Encoding.ASCII);
        File.Move(tmp, Path.Combine(Maildir, "new", name));
    }

    private async Task<CanaryRunRow> RunAsync(long id)
    {
        await using var db = _host.Service<Database>().Open();
        return await db.CanaryRuns.AsNoTracking().SingleAsync(r => r.Id == id);
    }

    private async Task<List<string>> AdminSubjectsAsync()
    {
        await using var db = _host.Service<Database>().Open();
        return await db.Outbox.Where(o => o.Recipient == "ops@ca.example").OrderBy(o => o.Id).Select(o => o.Subject).ToListAsync();
    }

    private async Task<List<JsonElement>> DecisionsAsync(long runId)
    {
        await using var db = _host.Service<Database>().Open();
        var details = await db.AuditEvents.Where(e => e.Type == "canary.decided").OrderBy(e => e.Seq).Select(e => e.Detail).ToListAsync();
        return details.Select(d => JsonDocument.Parse(d).RootElement).Where(d => d.GetProperty("runId").GetInt64() == runId).ToList();
    }

    private async Task<JsonElement> ChannelsHealthAsync()
    {
        var response = await _host.Client().GetAsync("/healthz"); // 503 on a fake clock (stale escalation); the section is there
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("channels");
    }

    private async Task<JsonElement> ChannelViewAsync(string url)
    {
        var list = await _host.Client(_staff.Token).GetFromJsonAsync<JsonElement>("/api/v1/channels");
        return list.EnumerateArray().Single(c => c.GetProperty("url").GetString() == url);
    }

    [Fact]
    public async Task No_acknowledgement_by_the_limit_is_late_at_once_and_an_acknowledgement_after_it_keeps_it_late()
    {
        var channel = await ApiChannelAsync("/api/v1/reports");
        var canaries = _host.Service<CanaryService>();
        var run = await canaries.SendAsync(channel.Id);
        Assert.True(run.Outcome == CanaryOutcome.Pending, run.SendResult);
        var ticket = (await RunAsync(run.Id)).Ticket!;
        Assert.NotNull(ticket);

        _time.Advance(TimeSpan.FromMinutes(30));
        await canaries.RunOnceAsync();
        Assert.Equal(CanaryOutcome.Pending, (await RunAsync(run.Id)).Outcome); // at the limit: not yet late
        Assert.Equal("unknown", (await ChannelViewAsync(channel.Address)).GetProperty("health").GetString());

        _time.Advance(TimeSpan.FromMinutes(1));
        await canaries.RunOnceAsync();
        await canaries.RunOnceAsync(); // a second look tells nobody twice
        var late = await RunAsync(run.Id);
        Assert.Equal(CanaryOutcome.Late, late.Outcome);
        Assert.Null(late.AckAt);
        Assert.Equal(_time.GetUtcNow().UtcDateTime, late.DecidedAt);
        Assert.Single(await AdminSubjectsAsync(), s => s == $"Canary CPR late: {channel.Address}");
        var health = await ChannelsHealthAsync();
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal([channel.Address], health.GetProperty("degraded").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(health.GetProperty("failing").EnumerateArray());
        var metrics = await _host.Client().GetStringAsync("/metrics");
        Assert.Contains($"cprdesk_channel_canary_ok{{channel=\"{channel.Address}\",outcome=\"late\"}} 0\n", metrics);
        Assert.Contains($"cprdesk_channel_canary_state{{channel=\"{channel.Address}\"}} 1\n", metrics);
        var view = await ChannelViewAsync(channel.Address);
        Assert.Equal("degraded", view.GetProperty("health").GetString());
        Assert.Equal("late", view.GetProperty("lastCanary").GetProperty("outcome").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("lastCanary").GetProperty("ackAt").ValueKind);

        // The acknowledgement comes 10 minutes past the limit: still late, now with its time; nobody is told again.
        await DeliverAckAsync(ticket);
        _time.Advance(TimeSpan.FromMinutes(9));
        await canaries.RunOnceAsync();
        var acked = await RunAsync(run.Id);
        Assert.Equal(CanaryOutcome.Late, acked.Outcome);
        Assert.Equal(_time.GetUtcNow().UtcDateTime, acked.AckAt);
        Assert.Single(await AdminSubjectsAsync(), s => s.StartsWith("Canary CPR", StringComparison.Ordinal));
        view = await ChannelViewAsync(channel.Address);
        Assert.Equal("degraded", view.GetProperty("health").GetString());
        Assert.Equal(acked.AckAt, view.GetProperty("lastCanary").GetProperty("ackAt").GetDateTime().ToUniversalTime());

        // Past the lost cut-off nothing changes: it was acknowledged.
        _time.Advance(TimeSpan.FromHours(4));
        await canaries.RunOnceAsync();
        Assert.Equal(CanaryOutcome.Late, (await RunAsync(run.Id)).Outcome);
        var decisions = await DecisionsAsync(run.Id);
        var only = Assert.Single(decisions);
        Assert.Equal(("pending", "late"), (only.GetProperty("from").GetString(), only.GetProperty("outcome").GetString()));
        await using var db = _host.Service<Database>().Open();
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Type == "canary.acknowledged" && e.Ticket == ticket));
        Assert.True((await CprDesk.Compliance.AuditLog.VerifyAsync(db)).Ok);
    }

    [Fact]
    public async Task A_late_canary_pages_the_on_call_person_on_their_own_contact_method_through_the_escalation_routing()
    {
        // The on-call primary is a staff member (not an admin) whose only contact method is an email address of its own.
        var admin = await _host.UserAsync(StaffRole.Admin);
        using var adminClient = _host.Client(admin.Token);
        var put = await adminClient.PutAsJsonAsync("/api/v1/schedules/canary-tls", new
        {
            layers = new[] { new { name = "all", priority = 0, participants = new[] { _staff.Username }, shift = new { days = 1 }, handOff = "00:00", timeZone = "UTC", start = "2026-01-01" } },
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var method = await adminClient.PostAsJsonAsync($"/api/v1/users/{_staff.Username}/contact-methods", new { kind = "email", target = "pager-of-staff@ca.example" });
        Assert.True(method.IsSuccessStatusCode, await method.Content.ReadAsStringAsync());

        var channel = await ApiChannelAsync("/api/v1/reports");
        var canaries = _host.Service<CanaryService>();
        var run = await canaries.SendAsync(channel.Id);
        _time.Advance(TimeSpan.FromMinutes(31));
        await canaries.RunOnceAsync();
        Assert.Equal(CanaryOutcome.Late, (await RunAsync(run.Id)).Outcome);

        await using var db = _host.Service<Database>().Open();
        var paged = await db.Outbox.Where(o => o.Recipient == "pager-of-staff@ca.example").Select(o => o.Subject).ToListAsync();
        Assert.Equal([$"Canary CPR late: {channel.Address}"], paged);
        Assert.Contains($"Canary CPR late: {channel.Address}", await AdminSubjectsAsync()); // the admins too
        var notified = await db.AuditEvents.Where(e => e.Type == "canary.late-notified").Select(e => e.Detail).SingleAsync();
        Assert.Contains(JsonDocument.Parse(notified).RootElement.GetProperty("told").EnumerateArray(), t => t.GetString() == _staff.Username);
    }

    [Fact]
    public async Task A_run_never_acknowledged_is_late_then_lost_and_each_change_is_audited_and_told_once()
    {
        var channel = await ApiChannelAsync("/api/v1/reports");
        var canaries = _host.Service<CanaryService>();
        var run = await canaries.SendAsync(channel.Id);
        _time.Advance(TimeSpan.FromMinutes(31));
        await canaries.RunOnceAsync();
        Assert.Equal(CanaryOutcome.Late, (await RunAsync(run.Id)).Outcome);
        _time.Advance(TimeSpan.FromHours(3.5));
        await canaries.RunOnceAsync();
        var lost = await RunAsync(run.Id);
        Assert.Equal(CanaryOutcome.Lost, lost.Outcome);
        Assert.Null(lost.AckAt);
        Assert.Equal([$"Canary CPR late: {channel.Address}", $"Canary CPR lost: {channel.Address}"], await AdminSubjectsAsync());
        Assert.Equal([("pending", "late"), ("late", "lost")],
            (await DecisionsAsync(run.Id)).Select(d => (d.GetProperty("from").GetString(), d.GetProperty("outcome").GetString())));
        var health = await ChannelsHealthAsync();
        Assert.Equal("failing", health.GetProperty("status").GetString());
        Assert.Equal([channel.Address], health.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains($"cprdesk_channel_canary_state{{channel=\"{channel.Address}\"}} 2\n", await _host.Client().GetStringAsync("/metrics"));

        // An acknowledgement that comes after the cut-off changes nothing.
        await DeliverAckAsync(lost.Ticket!);
        _time.Advance(TimeSpan.FromMinutes(1));
        await canaries.RunOnceAsync();
        Assert.Equal(CanaryOutcome.Lost, (await RunAsync(run.Id)).Outcome);
        Assert.Equal(2, (await DecisionsAsync(run.Id)).Count);
    }

    [Fact]
    public async Task A_sender_mailbox_that_cannot_be_read_makes_no_run_lost_and_alarms_once()
    {
        var channel = await ApiChannelAsync("/api/v1/reports");
        var canaries = _host.Service<CanaryService>();
        var run = await canaries.SendAsync(channel.Id);
        var ticket = (await RunAsync(run.Id)).Ticket!;
        var aside = Maildir + ".aside";
        Directory.Move(Maildir, aside); // the mailbox is gone (an unmounted volume, a server down)

        _time.Advance(TimeSpan.FromMinutes(20));
        await canaries.RunOnceAsync();
        var since = _time.GetUtcNow().UtcDateTime;
        Assert.Equal(since, await canaries.CheckerFailingSinceAsync());
        _time.Advance(TimeSpan.FromMinutes(29));
        await canaries.RunOnceAsync();
        Assert.Empty(await AdminSubjectsAsync()); // failing 29 minutes: not yet an alarm (CheckerAlarmAfter 30)
        _time.Advance(TimeSpan.FromMinutes(2));
        await canaries.RunOnceAsync();
        _time.Advance(TimeSpan.FromHours(4));
        await canaries.RunOnceAsync();
        Assert.Equal(since, await canaries.CheckerFailingSinceAsync());
        var waiting = await RunAsync(run.Id);
        Assert.Equal(CanaryOutcome.Pending, waiting.Outcome); // neither late nor lost: we could not look
        Assert.Equal([$"Canary checker cannot read the sender mailbox (maildir:{Maildir})"], await AdminSubjectsAsync());
        Assert.Equal("unknown", (await ChannelViewAsync(channel.Address)).GetProperty("health").GetString());

        // Readable again, with the acknowledgement that came meanwhile: decided now (late: seen past its limit).
        Directory.Move(aside, Maildir);
        await DeliverAckAsync(ticket);
        await canaries.RunOnceAsync();
        Assert.Null(await canaries.CheckerFailingSinceAsync());
        var decided = await RunAsync(run.Id);
        Assert.Equal(CanaryOutcome.Late, decided.Outcome);
        Assert.NotNull(decided.AckAt);
        await using var db = _host.Service<Database>().Open();
        var types = await db.AuditEvents.Where(e => e.Type.StartsWith("canary.checker")).OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync();
        Assert.Equal(["canary.checker-failed", "canary.checker-alarm", "canary.checker-recovered"], types);
    }

    [Fact]
    public void The_sender_mailbox_settings_are_checked_at_start()
    {
        InvalidOperationException Refused(Dictionary<string, string?> config)
        {
            config["CprDesk:DataDirectory"] = _mail.Path;
            return Assert.Throws<InvalidOperationException>(() => AppHost.Build([], config));
        }

        var both = Refused(new() { ["CprDesk:Canary:Maildir"] = "/tmp/x", ["CprDesk:Canary:Imap:Host"] = "127.0.0.1" });
        Assert.Contains("exactly one of Maildir and Imap", both.Message);
        var none = Refused(new() { ["CprDesk:Canary:Enabled"] = "true", ["CprDesk:Canary:From"] = "canary@ca.example" });
        Assert.Contains("no sender mailbox", none.Message);
        var password = Refused(new()
        {
            ["CprDesk:Canary:Imap:Host"] = "127.0.0.1", ["CprDesk:Canary:Imap:User"] = "u", ["CprDesk:Canary:Imap:PasswordEnv"] = "X",
            ["CprDesk:Canary:Imap:Password"] = "hunter2",
        });
        Assert.Contains("CprDesk:Canary:Imap:Password", password.Message);
        var user = Refused(new() { ["CprDesk:Canary:Imap:Host"] = "127.0.0.1", ["CprDesk:Canary:Imap:PasswordEnv"] = "X" });
        Assert.Contains("CprDesk:Canary:Imap:User is required", user.Message);
        var tls = Assert.ThrowsAny<Exception>(() => AppHost.Build([], new Dictionary<string, string?>
        {
            ["CprDesk:DataDirectory"] = _mail.Path, ["CprDesk:Canary:Imap:Host"] = "127.0.0.1", ["CprDesk:Canary:Imap:User"] = "u", ["CprDesk:Canary:Imap:PasswordEnv"] = "X",
            ["CprDesk:Canary:Imap:Tls"] = "sometimes",
        }));
        Assert.Contains("Tls", tls.ToString());
    }
}
