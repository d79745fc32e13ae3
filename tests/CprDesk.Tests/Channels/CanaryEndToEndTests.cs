// Canary CPRs end to end on loopback: Postfix as the outside relay, CprDesk's SMTP listener and web form as the
// published channels, a second Postfix delivering CprDesk's acknowledgements into the sender mailbox (a Maildir).
// One channel passes, one is broken by the relay (a transport to a dead port) and is lost, one is late.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Channels;

public sealed class CanaryEndToEndTests : IAsyncLifetime
{
    private static readonly string Tool = Path.Combine(Repo.Root, "tests", "tools", "postfix-instance.sh");
    private readonly TempDir _work = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private string RelayDir => Path.Combine(_work.Path, "relay");
    private string MailboxPostfixDir => Path.Combine(_work.Path, "mailbox-postfix");
    private string MailboxBase => Path.Combine(_work.Path, "mailbox");
    private string Maildir => Path.Combine(MailboxBase, "mail");
    private TestHost _host = null!;
    private (string Username, string Password, string Token) _staff;

    public async Task InitializeAsync()
    {
        if (Environment.UserName != "root")
            throw new InvalidOperationException("The canary tests run private Postfix instances and need root (scripts/test.sh runs as root in CI).");
        var mailboxPort = ServeProcess.FreePort();
        await RunOkAsync(Tool, "start", MailboxPostfixDir, Port(mailboxPort), "maildir", MailboxBase);
        var relayPort = ServeProcess.FreePort();
        _host = await TestHost.StartAsync(time: _time, extra: new Dictionary<string, string?>
        {
            ["CprDesk:Mail:Listener:Addresses"] = "cpr@ca.example;broken@ca.example;slow@ca.example",
            // Our acknowledgements and the admins' alerts go out through the mailbox's Postfix.
            ["CprDesk:Mail:Relay:Host"] = "127.0.0.1",
            ["CprDesk:Mail:Relay:Port"] = Port(mailboxPort),
            ["CprDesk:Mail:Relay:Tls"] = "None",
            ["CprDesk:Mail:Listener:HostName"] = "cprdesk.test",
            // The checker is driven by hand; the background loop never sends.
            ["CprDesk:Canary:Enabled"] = "false",
            ["CprDesk:Canary:From"] = "canary-sender@ca.example",
            ["CprDesk:Canary:Relay:Host"] = "127.0.0.1",
            ["CprDesk:Canary:Relay:Port"] = Port(relayPort),
            ["CprDesk:Canary:Relay:Tls"] = "None",
            ["CprDesk:Canary:Maildir"] = Maildir,
            ["CprDesk:Canary:HeloName"] = "outside.test",
        });
        await RunOkAsync(Tool, "start", RelayDir, Port(relayPort), "relay", _host.SmtpEndpoint.ToString());
        // The break: the relay sends broken@ca.example to a port where nothing listens (a forwarding typo).
        await File.WriteAllTextAsync(Path.Combine(RelayDir, "etc", "transport"), $"broken@ca.example smtp:[127.0.0.1]:{ServeProcess.FreePort()}\n");
        await RunOkAsync("postconf", "-c", Path.Combine(RelayDir, "etc"), "-e", $"transport_maps = texthash:{Path.Combine(RelayDir, "etc", "transport")}");
        await RunOkAsync("postfix", "-c", Path.Combine(RelayDir, "etc"), "reload");
        await new Accounts(_host.Service<Database>(), _time).CreateAsync("test", "ops", StaffRole.Admin, "ops@ca.example", "Operations");
        _staff = await _host.UserAsync(StaffRole.Staff);
    }

    public async Task DisposeAsync()
    {
        await RunAsync(Tool, "stop", RelayDir);
        await RunAsync(Tool, "stop", MailboxPostfixDir);
        await _host.DisposeAsync();
        _work.Dispose();
    }

    private static string Port(int p) => p.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task One_canary_passes_a_broken_channel_is_lost_and_alerts_a_slow_one_is_late_and_none_is_a_real_report()
    {
        var registry = _host.Service<ChannelRegistry>();
        var canaries = _host.Service<CanaryService>();
        var good = await registry.AddAsync("test", new ChannelInput("cpr@ca.example", PublishedIn: ["cps", "ccadb-prm"], CanaryEnabled: false));
        var form = await registry.AddAsync("test", new ChannelInput(new Uri(_host.BaseUri, "/report").ToString(), PublishedIn: ["website"], CanaryEnabled: false));
        var broken = await registry.AddAsync("test", new ChannelInput("broken@ca.example", PublishedIn: ["ccadb-alias1"], CanaryEnabled: false));
        var slow = await registry.AddAsync("test", new ChannelInput("slow@ca.example", PublishedIn: ["ccadb-alias2"], CanaryEnabled: false, LateAfterMinutes: 30));

        // A real report beside the canaries: it must stay in the queue and the metrics.
        var real = await _host.Client().PostAsync("/api/v1/reports", JsonContent.Create(new { reporterEmail = "reporter@example.org", description = "Key compromise." }));
        Assert.Equal(HttpStatusCode.Created, real.StatusCode);
        var realTicket = (await real.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;

        var t0 = _time.GetUtcNow().UtcDateTime;
        var goodRun = await canaries.SendAsync(good.Id);
        var formRun = await canaries.SendAsync(form.Id);
        var brokenRun = await canaries.SendAsync(broken.Id);
        Assert.True(goodRun.Outcome == CanaryOutcome.Pending, goodRun.SendResult);
        Assert.True(formRun.Outcome == CanaryOutcome.Pending, formRun.SendResult);
        Assert.True(brokenRun.Outcome == CanaryOutcome.Pending, brokenRun.SendResult); // the relay accepted it: the loss is downstream

        // Both working channels: report created, clock started, acknowledgement back in the sender mailbox.
        var goodTicket = await TicketOfAsync(goodRun.Id);
        var formTicket = await TicketOfAsync(formRun.Id);
        await MailboxHasAsync(m => m.Ticket == goodTicket);
        await MailboxHasAsync(m => m.Ticket == formTicket);
        await canaries.RunOnceAsync();
        var runs = await RunsAsync();
        foreach (var id in new[] { goodRun.Id, formRun.Id })
        {
            var r = runs[id];
            Assert.Equal(CanaryOutcome.Passed, r.Outcome);
            Assert.NotNull(r.ReportId);
            Assert.True(r.ClockStarted);
            Assert.Equal(t0, r.SentAt);
            Assert.NotNull(r.ReceivedAt);
            Assert.NotNull(r.AckAt);
        }
        Assert.Equal(CanaryOutcome.Pending, runs[brokenRun.Id].Outcome);

        // The slow channel: the acknowledgement is only seen 45 minutes after sending, past its 30-minute limit.
        var slowRun = await canaries.SendAsync(slow.Id);
        _time.Advance(TimeSpan.FromMinutes(45));
        var slowTicket = await TicketOfAsync(slowRun.Id);
        await MailboxHasAsync(m => m.Ticket == slowTicket);
        await canaries.RunOnceAsync();
        Assert.Equal(CanaryOutcome.Late, (await RunsAsync())[slowRun.Id].Outcome);
        await MailboxHasAsync(m => m.Subject == "Canary CPR late: slow@ca.example");

        // The broken channel: nothing arrives; once the lost cut-off (4 h) passes it is lost, and the admins are told.
        Assert.Null((await RunsAsync())[brokenRun.Id].ReportId);
        _time.Advance(TimeSpan.FromHours(4));
        await canaries.RunOnceAsync();
        var lost = (await RunsAsync())[brokenRun.Id];
        Assert.Equal(CanaryOutcome.Lost, lost.Outcome);
        Assert.Null(lost.ReportId);
        Assert.Null(lost.AckAt);
        await MailboxHasAsync(m => m.Subject == "Canary CPR lost: broken@ca.example" && m.Text.Contains("never became a report", StringComparison.Ordinal));

        // Canary reports: stored, closed, marked, acknowledged; not in the queue, the metrics or escalation.
        var canaryTickets = new[] { goodTicket, formTicket, slowTicket };
        await using (var db = _host.Service<Database>().Open())
        {
            foreach (var t in canaryTickets)
            {
                var report = await db.Reports.Include(r => r.Deadlines).SingleAsync(r => r.Ticket == t);
                Assert.True(report.IsCanary);
                Assert.Equal(ReportState.Closed, report.State);
                Assert.NotEmpty(report.Deadlines);
                Assert.All(report.Deadlines, d => Assert.NotNull(d.WaivedAt));
                Assert.Contains(await db.Outbox.Where(o => o.ReportId == report.Id).ToListAsync(), o => o.Kind == "acknowledgement" && o.Status == "sent");
            }
        }
        await _host.Service<CprDesk.Escalation.EscalationEngine>().RunOnceAsync();
        await using (var db = _host.Service<Database>().Open())
        {
            Assert.False(await db.EscalationSteps.AnyAsync(s => db.Reports.Any(r => r.Id == s.ReportId && r.IsCanary)));
            Assert.True(await db.EscalationSteps.AnyAsync(s => db.Reports.Any(r => r.Id == s.ReportId && r.Ticket == realTicket)));
            Assert.True((await CprDesk.Compliance.AuditLog.VerifyAsync(db)).Ok);
        }

        var staff = _host.Client(_staff.Token);
        var queue = await staff.GetStringAsync("/api/v1/reports") + await staff.GetStringAsync("/api/v1/reports?state=Closed");
        Assert.Contains(realTicket, queue);
        foreach (var t in canaryTickets) Assert.DoesNotContain(t, queue);
        var page = await (await _host.SignedInClientAsync(_staff.Username, _staff.Password)).GetStringAsync("/staff?closed=true");
        Assert.Contains(realTicket, page);
        foreach (var t in canaryTickets) Assert.DoesNotContain(t, page);

        var metrics = await _host.Client().GetStringAsync("/metrics");
        Assert.Contains("cprdesk_reports{state=\"New\"} 1\n", metrics);
        Assert.Contains("cprdesk_reports{state=\"Closed\"} 0\n", metrics);
        Assert.Contains("cprdesk_channel_canary_ok{channel=\"cpr@ca.example\",outcome=\"passed\"} 1\n", metrics);
        Assert.Contains("cprdesk_channel_canary_ok{channel=\"broken@ca.example\",outcome=\"lost\"} 0\n", metrics);
        Assert.Contains("cprdesk_channel_canary_ok{channel=\"slow@ca.example\",outcome=\"late\"} 0\n", metrics);

        var health = await _host.Client().GetFromJsonAsync<JsonElement>("/healthz");
        var channels = health.GetProperty("channels");
        Assert.Equal("failing", channels.GetProperty("status").GetString());
        Assert.Equal(["broken@ca.example", "slow@ca.example"], channels.GetProperty("failing").EnumerateArray().Select(e => e.GetString()).Order());

        var list = await staff.GetFromJsonAsync<JsonElement>("/api/v1/channels");
        var goodView = list.EnumerateArray().Single(c => c.GetProperty("address").GetString() == "cpr@ca.example");
        Assert.Equal(["ccadb-prm", "cps"], goodView.GetProperty("publishedIn").EnumerateArray().Select(e => e.GetString()).Order());
        var last = goodView.GetProperty("lastCanary");
        Assert.Equal("passed", last.GetProperty("outcome").GetString());
        Assert.Equal(t0, last.GetProperty("sentAt").GetDateTime().ToUniversalTime());
        Assert.NotEqual(JsonValueKind.Null, last.GetProperty("receivedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, last.GetProperty("ackAt").ValueKind);
        var formView = list.EnumerateArray().Single(c => c.GetProperty("kind").GetString() == "web-form");
        Assert.Equal(new Uri(_host.BaseUri, "/report").ToString(), formView.GetProperty("url").GetString());
    }

    private async Task<Dictionary<long, CanaryRunRow>> RunsAsync()
    {
        await using var db = _host.Service<Database>().Open();
        return await db.CanaryRuns.AsNoTracking().ToDictionaryAsync(r => r.Id);
    }

    /// <summary>Waits (real time, bounded) until intake has made the run's report.</summary>
    private async Task<string> TicketOfAsync(long runId)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await using (var db = _host.Service<Database>().Open())
                if (await db.CanaryRuns.Where(r => r.Id == runId).Select(r => r.Ticket).SingleAsync() is { } ticket) return ticket;
            await Task.Delay(100);
        }
        throw new TimeoutException($"Canary run {runId} made no report within 60 s. Relay log:\n{Tail(RelayDir)}");
    }

    /// <summary>Polls the sender mailbox (an external process delivers into it) until a message matches.</summary>
    private async Task MailboxHasAsync(Func<MailboxMessage, bool> match)
    {
        var mailbox = new MaildirMailbox(Maildir);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if ((await mailbox.ReadSinceAsync(DateTime.MinValue, CancellationToken.None)).Any(match)) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"No matching message in the sender mailbox within 60 s. Mailbox Postfix log:\n{Tail(MailboxPostfixDir)}");
    }

    private static string Tail(string dir)
    {
        var log = Path.Combine(dir, "log", "postfix.log");
        return File.Exists(log) ? string.Join("\n", File.ReadAllLines(log).TakeLast(30)) : "(no log)";
    }

    private static async Task RunOkAsync(string file, params string[] args)
    {
        var (code, output) = await RunAsync(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {output}");
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }
}
