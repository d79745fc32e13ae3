using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using CprDesk.Intake;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>Flood the listener, kill -9 the server mid-run, restart, let the sender retry: every message that got a 250
/// is stored byte for byte, and no message makes two reports.</summary>
public sealed class CrashTests
{
    // The sender: Python's smtplib, 4 threads, one connection per message; writes one JSON line per attempt.
    private const string Sender = """
        import hashlib, json, smtplib, sys, threading
        port, outpath, indices = int(sys.argv[1]), sys.argv[2], [int(x) for x in sys.argv[3].split(',')]
        lock = threading.Lock()
        out = open(outpath, 'a')
        def message(i):
            body = ''.join(f'line {i}-{n} ' + 'x' * 60 + '\r\n' for n in range(40))
            return (f'From: flood{i % 7}@example.org\r\nTo: cpr@ca.example\r\nSubject: flood {i}\r\n'
                    f'Message-ID: <flood-{i}@example.org>\r\n\r\n{body}').encode()
        def send(i):
            data = message(i)
            sha = hashlib.sha256(data).hexdigest()
            try:
                with smtplib.SMTP('127.0.0.1', port, timeout=10) as s:
                    s.sendmail(f'flood{i % 7}@example.org', ['cpr@ca.example'], data)
                status = 250
            except Exception as e:
                status = getattr(e, 'smtp_code', 0) or 0
            with lock:
                out.write(json.dumps({'i': i, 'sha': sha, 'status': status}) + '\n'); out.flush()
        def worker(k):
            for i in indices[k::4]: send(i)
        ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
        """;

    private sealed record Attempt(int I, string Sha, int Status);

    private static List<Attempt> Read(string path) =>
        File.Exists(path) ? File.ReadAllLines(path).Select(l => JsonSerializer.Deserialize<JsonElement>(l))
            .Select(j => new Attempt(j.GetProperty("i").GetInt32(), j.GetProperty("sha").GetString()!, j.GetProperty("status").GetInt32())).ToList() : [];

    private static Process StartSender(int port, IEnumerable<int> indices, string outPath)
    {
        var psi = new ProcessStartInfo("python3") { UseShellExecute = false };
        foreach (var a in new[] { "-c", Sender, port.ToString(System.Globalization.CultureInfo.InvariantCulture), outPath, string.Join(',', indices) })
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [Fact]
    public async Task Every_message_that_got_250_survives_a_kill_9_and_retries_make_no_duplicate_reports()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var log = Path.Combine(dir.Path, "attempts.jsonl");
        var port = ServeProcess.FreePort();
        const int total = 240;

        using (var server = await ServeProcess.StartAsync(data, port))
        {
            using var sender = StartSender(port, Enumerable.Range(0, total), log);
            // Kill the server hard once a good number of messages have been accepted (watching the sender's log).
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (Read(log).Count(a => a.Status == 250) < 60 && !sender.HasExited)
                await Task.Delay(20, cts.Token); // watching another process's file: there is no in-process signal to wait on
            server.KillHard();
            await sender.WaitForExitAsync(cts.Token);
        }
        var phase1 = Read(log);
        Assert.Equal(total, phase1.Count);
        Assert.Contains(phase1, a => a.Status == 250);
        Assert.Contains(phase1, a => a.Status != 250); // the kill really interrupted the run

        // Restart on the same data and port; the sender retries everything that did not get a 250.
        await using var host = await TestHost.StartAsync(dir: new TempDirAt(data), extra: new Dictionary<string, string?> { ["CprDesk:Mail:Listener:Endpoints"] = $"127.0.0.1:{port}" });
        var retryLog = Path.Combine(dir.Path, "retry.jsonl");
        using (var retry = StartSender(port, phase1.Where(a => a.Status != 250).Select(a => a.I), retryLog))
            await retry.WaitForExitAsync();
        var retried = Read(retryLog);
        Assert.All(retried, a => Assert.Equal(250, a.Status));
        await host.Service<IntakePipeline>().ProcessPendingAsync(CancellationToken.None);

        await using var db = host.Service<Database>().Open();
        var stored = await db.Messages.Where(m => m.Channel == "email").Select(m => new { m.RawSha256, m.ReportId, m.Status, m.MessageId }).ToListAsync();
        var accepted = phase1.Where(a => a.Status == 250).Concat(retried).ToList();
        foreach (var a in accepted) Assert.Contains(stored, m => m.RawSha256 == a.Sha); // every 250 is stored, byte for byte
        Assert.All(stored, m => Assert.Equal("processed", m.Status));
        Assert.Equal(total, accepted.Select(a => a.I).Distinct().Count());
        // One report per distinct message: copies stored before the kill without a 250 joined as duplicates.
        var reports = stored.GroupBy(m => m.MessageId).Select(g => g.Select(m => m.ReportId).Distinct().Count()).ToList();
        Assert.Equal(total, reports.Count);
        Assert.All(reports, n => Assert.Equal(1, n));
        Assert.Equal(total, await db.Reports.CountAsync());
    }
}
