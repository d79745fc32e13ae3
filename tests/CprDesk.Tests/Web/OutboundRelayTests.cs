using System.Diagnostics;
using System.Text;
using CprDesk.Notifications;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>The outbox through a real SMTP relay (tests/tools/smtp-sink.py): delivery meets the clock with the relay's
/// reply recorded; a 4xx defers with backoff; a 5xx fails for good and leaves the clock open.</summary>
public sealed class OutboundRelayTests
{
    private static string Sink => Path.Combine(Repo.Root, "tests", "tools", "smtp-sink.py");


    private static async Task<Process> StartSinkAsync(int port, string dir, string? reply)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Sink, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", dir, "--lifetime", "120", "--quiet" })
            psi.ArgumentList.Add(a);
        if (reply is not null) { psi.ArgumentList.Add("--reply"); psi.ArgumentList.Add(reply); }
        var p = Process.Start(psi)!;
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("listening", line);
        return p;
    }

    private static async Task<(TestHost Host, string Ticket, long OutboxId)> QueuePreliminaryAsync(int relayPort)
    {
        var host = await TestHost.StartAsync(extra: new Dictionary<string, string?>
        {
            ["CprDesk:Mail:Relay:Host"] = "127.0.0.1",
            ["CprDesk:Mail:Relay:Port"] = relayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CprDesk:Mail:Relay:Tls"] = "None",
        });
        using var client = host.Client();
        var r = await client.PostAsync("/api/v1/reports", new StringContent("""{"reporterEmail":"r@example.org","description":"key leaked"}""", Encoding.UTF8, "application/json"));
        var ticket = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("ticket").GetString()!;
        await host.Service<CprDesk.Reports.ReportDesk>().RecordPreliminaryReportAsync(ticket, "user:tester", "reporter", null, null, "Confirmed; revoking today.", null);
        await using var db = host.Service<Database>().Open();
        var id = await db.Outbox.Where(o => o.Kind == Outbox.PreliminaryReport).Select(o => o.Id).SingleAsync();
        return (host, ticket, id);
    }

    private static async Task<OutboxMessage> AttemptAsync(TestHost host, long outboxId)
    {
        // The background loop may have tried already; either way one attempt has happened when this returns.
        var service = host.Service<OutboxService>();
        await using (var db = host.Service<Database>().Open())
            if (await db.Outbox.AnyAsync(o => o.Id == outboxId && o.Attempts > 0)) return await db.Outbox.SingleAsync(o => o.Id == outboxId);
        var attempted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void On(long id, string _) { if (id == outboxId) attempted.TrySetResult(); }
        service.Attempted += On;
        try
        {
            await service.RunOnceAsync();
            await using var db = host.Service<Database>().Open();
            if (!await db.Outbox.AnyAsync(o => o.Id == outboxId && o.Attempts > 0)) await attempted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally { service.Attempted -= On; }
        await using var db2 = host.Service<Database>().Open();
        return await db2.Outbox.SingleAsync(o => o.Id == outboxId);
    }

    [Fact]
    public async Task Accepted_by_the_relay_meets_the_clock_and_keeps_the_relay_reply()
    {
        using var dir = new TempDir();
        var port = ServeProcess.FreePort();
        using var sink = await StartSinkAsync(port, dir.Path, null);
        var (host, ticket, id) = await QueuePreliminaryAsync(port);
        await using (host)
        {
            var row = await AttemptAsync(host, id);
            Assert.Equal("sent", row.Status);
            Assert.StartsWith("250", row.LastReply);
            var eml = Assert.Single(Directory.GetFiles(dir.Path, "*.eml"), f => File.ReadAllText(f).Contains("Confirmed; revoking today."));
            Assert.Contains($"[{ticket}]", await File.ReadAllTextAsync(eml));
            var clock = (await host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket))!.Summary.Deadlines.Single(d => d.Name == "preliminary-report-to-reporter");
            Assert.Equal("met", clock.State);
            Assert.Equal(row.SentAt, clock.MetAt);
        }
        sink.Kill();
    }

    [Theory]
    [InlineData("451 4.3.0 try later", "deferred")]
    [InlineData("550 5.7.1 refused", "failed")]
    public async Task Refusals_defer_or_fail_and_the_clock_stays_open(string reply, string status)
    {
        using var dir = new TempDir();
        var port = ServeProcess.FreePort();
        using var sink = await StartSinkAsync(port, dir.Path, reply);
        var (host, ticket, id) = await QueuePreliminaryAsync(port);
        await using (host)
        {
            var row = await AttemptAsync(host, id);
            Assert.Equal(status, row.Status);
            Assert.StartsWith(reply[..3], row.LastReply);
            if (status == "deferred") Assert.True(row.NextAttemptAt >= row.CreatedAt + OutboxService.Backoff[0], "a deferred message waits for its backoff");
            else Assert.Null(row.NextAttemptAt);
            var clock = (await host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket))!.Summary.Deadlines.Single(d => d.Name == "preliminary-report-to-reporter");
            Assert.Null(clock.MetAt);
            Assert.NotEqual("PreliminaryReported", (await host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket))!.Report.State.ToString());
            var events = (await host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket))!.Events;
            Assert.Contains(events, e => e.Type == (status == "deferred" ? "mail.deferred" : "mail.failed"));
        }
        sink.Kill();
    }
}
