// Canary CPRs end to end on loopback: Postfix as the outside relay, CprDesk's SMTP listener and web form as the
// published channels, and the sender mailbox a private Dovecot that the canary checker reads over IMAP (implicit TLS,
// pinned certificate). CprDesk's acknowledgements reach that mailbox through a second Postfix delivering with
// virtual(8) straight into the Maildir Dovecot serves: the Postfix tool delivers as 'nobody', Dovecot's mail user is
// 'nobody' too, so pointing Postfix's virtual_mailbox_base at the Dovecot user's home (and its map at "Maildir/")
// lines the two up without an LMTP service the Dovecot tool does not run.
// One channel passes, one is broken by the relay (a transport to a dead port) and is lost, one is held by the relay
// past its limit: late before anything arrives, and still late when the report and acknowledgement finally come.
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
    private readonly string _passwordVariable = "CPRDESK_TEST_CANARY_IMAP_" + Guid.NewGuid().ToString("N")[..8];
    private string RelayDir => Path.Combine(_work.Path, "relay");
    private string MailboxPostfixDir => Path.Combine(_work.Path, "mailbox-postfix");
    private string Transport => Path.Combine(RelayDir, "etc", "transport");
    private Dovecot _dovecot = null!;
    private TestHost _host = null!;
    private (string Username, string Password, string Token) _staff;
    private int _deadPort;

    public async Task InitializeAsync()
    {
        if (Environment.UserName != "root")
            throw new InvalidOperationException("The canary tests run private Postfix and Dovecot instances and need root (scripts/test.sh runs as root in CI).");
        _dovecot = await Dovecot.StartAsync();
        Environment.SetEnvironmentVariable(_passwordVariable, _dovecot.Password);
        var home = Path.Combine(_dovecot.Dir, "mail", _dovecot.User);
        var mailboxPort = ServeProcess.FreePort();
        await RunOkAsync(Tool, "start", MailboxPostfixDir, Port(mailboxPort), "maildir", home);
        // Deliver into the Maildir Dovecot serves for the user (mail_location = maildir:~/Maildir), not the tool's mail/.
        await File.WriteAllTextAsync(Path.Combine(MailboxPostfixDir, "etc", "vmailbox"), "@ca.example Maildir/\n");
        await RunOkAsync("postfix", "-c", Path.Combine(MailboxPostfixDir, "etc"), "reload");
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
            ["CprDesk:Canary:Imap:Host"] = "127.0.0.1",
            ["CprDesk:Canary:Imap:Port"] = Port(_dovecot.TlsPort),
            ["CprDesk:Canary:Imap:Tls"] = "Implicit",
            ["CprDesk:Canary:Imap:CertificateFingerprints"] = _dovecot.CertificateSha256,
            ["CprDesk:Canary:Imap:User"] = _dovecot.User,
            ["CprDesk:Canary:Imap:PasswordEnv"] = _passwordVariable,
            ["CprDesk:Canary:Imap:TimeoutSeconds"] = "20",
            ["CprDesk:Canary:HeloName"] = "outside.test",
        });
        await RunOkAsync(Tool, "start", RelayDir, Port(relayPort), "relay", _host.SmtpEndpoint.ToString());
        // The break: the relay sends broken@ca.example to a port where nothing listens (a forwarding typo). The delay:
        // slow@ca.example goes there too for now, so it waits in the relay's queue until the test lets it go.
        _deadPort = ServeProcess.FreePort();
        await SetTransportAsync($"broken@ca.example smtp:[127.0.0.1]:{_deadPort}\nslow@ca.example smtp:[127.0.0.1]:{_deadPort}\n");
        await RunOkAsync("postconf", "-c", Path.Combine(RelayDir, "etc"), "-e", $"transport_maps = texthash:{Transport}");
        await RunOkAsync("postfix", "-c", Path.Combine(RelayDir, "etc"), "reload");
        await new Accounts(_host.Service<Database>(), _time).CreateAsync("test", "ops", StaffRole.Admin, "ops@ca.example", "Operations");
        _staff = await _host.UserAsync(StaffRole.Staff);
    }

    private async Task SetTransportAsync(string map) => await File.WriteAllTextAsync(Transport, map);

    public async Task DisposeAsync()
    {
        await RunAsync(Tool, "stop", RelayDir);
        await RunAsync(Tool, "stop", MailboxPostfixDir);
        await _host.DisposeAsync();
        await _dovecot.DisposeAsync();
        Environment.SetEnvironmentVariable(_passwordVariable, null);
        _work.Dispose();
    }

    private static string Port(int p) => p.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task One_canary_passes_a_broken_channel_is_lost_and_alerts_a_delayed_one_is_late_and_none_is_a_real_report()
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

        // The slow channel: the relay holds it. 31 minutes on, nothing has come: late already, without waiting for it.
        var slowRun = await canaries.SendAsync(slow.Id);
        Assert.True(slowRun.Outcome == CanaryOutcome.Pending, slowRun.SendResult);
        _time.Advance(TimeSpan.FromMinutes(31));
        await canaries.RunOnceAsync();
        var slowLate = (await RunsAsync())[slowRun.Id];
        Assert.Equal(CanaryOutcome.Late, slowLate.Outcome);
        Assert.Null(slowLate.ReportId);
        Assert.Null(slowLate.AckAt);
        await MailboxHasAsync(m => m.Subject == "Canary CPR late: slow@ca.example" && m.Text.Contains("has not become a report", StringComparison.Ordinal));
        var waiting = await ChannelHealthAsync(); // the broken channel is past its limit too: both degraded, neither lost yet
        Assert.Equal("degraded", waiting.GetProperty("status").GetString());
        Assert.Equal(["broken@ca.example", "slow@ca.example"], waiting.GetProperty("degraded").EnumerateArray().Select(e => e.GetString()).Order());

        // The relay lets it go: it still becomes a canary report (not a real CPR), is acknowledged, and stays late.
        await SetTransportAsync($"broken@ca.example smtp:[127.0.0.1]:{_deadPort}\n");
        await RunOkAsync("postfix", "-c", Path.Combine(RelayDir, "etc"), "reload");
        await RunOkAsync("postqueue", "-c", Path.Combine(RelayDir, "etc"), "-f");
        var slowTicket = await TicketOfAsync(slowRun.Id);
        await MailboxHasAsync(m => m.Ticket == slowTicket);
        _time.Advance(TimeSpan.FromMinutes(1));
        await canaries.RunOnceAsync();
        var slowAcked = (await RunsAsync())[slowRun.Id];
        Assert.Equal(CanaryOutcome.Late, slowAcked.Outcome);
        Assert.NotNull(slowAcked.AckAt);
        Assert.NotNull(slowAcked.ReportId);

        // The broken channel: nothing arrives; late at its limit, then lost at the cut-off (4 h), the admins told each time.
        Assert.Null((await RunsAsync())[brokenRun.Id].ReportId);
        Assert.Equal(CanaryOutcome.Late, (await RunsAsync())[brokenRun.Id].Outcome);
        _time.Advance(TimeSpan.FromHours(4));
        await canaries.RunOnceAsync();
        var lost = (await RunsAsync())[brokenRun.Id];
        Assert.Equal(CanaryOutcome.Lost, lost.Outcome);
        Assert.Null(lost.ReportId);
        Assert.Null(lost.AckAt);
        await MailboxHasAsync(m => m.Subject == "Canary CPR lost: broken@ca.example" && m.Text.Contains("never became a report", StringComparison.Ordinal));
        await using (var db = _host.Service<Database>().Open())
        {
            var subjects = await db.Outbox.Where(o => o.Recipient == "ops@ca.example").Select(o => o.Subject).ToListAsync();
            Assert.Single(subjects, x => x == "Canary CPR late: slow@ca.example");
            Assert.Single(subjects, x => x == "Canary CPR late: broken@ca.example");
            Assert.Single(subjects, x => x == "Canary CPR lost: broken@ca.example");
            Assert.DoesNotContain(subjects, x => x.Contains("cpr@ca.example", StringComparison.Ordinal) || x.Contains("/report", StringComparison.Ordinal));
        }

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

        Assert.Contains("cprdesk_channel_canary_state{channel=\"slow@ca.example\"} 1\n", metrics);
        Assert.Contains("cprdesk_channel_canary_state{channel=\"broken@ca.example\"} 2\n", metrics);

        var channels = await ChannelHealthAsync();
        Assert.Equal("failing", channels.GetProperty("status").GetString());
        Assert.Equal(["broken@ca.example"], channels.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["slow@ca.example"], channels.GetProperty("degraded").EnumerateArray().Select(e => e.GetString()));

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

    private async Task<JsonElement> ChannelHealthAsync()
    {
        // /healthz may be 503 on a fake clock (the escalation heartbeat looks stale); the channels section is there either way.
        var response = await _host.Client().GetAsync("/healthz");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("channels");
    }

    /// <summary>Polls the sender mailbox over IMAP, as the checker reads it (external processes deliver into it), until a message matches.</summary>
    private async Task MailboxHasAsync(Func<MailboxMessage, bool> match)
    {
        var mailbox = _host.Service<ICanaryMailbox>();
        Assert.IsType<ImapCanaryMailbox>(mailbox);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if ((await mailbox.ReadSinceAsync(DateTime.UtcNow.AddDays(-1), CancellationToken.None)).Any(match)) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"No matching message in the sender mailbox within 60 s. Mailbox Postfix log:\n{Tail(MailboxPostfixDir)}\nDovecot log:\n" +
            string.Join("\n", File.ReadAllLines(Path.Combine(_dovecot.Dir, "dovecot.log")).TakeLast(20)));
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
