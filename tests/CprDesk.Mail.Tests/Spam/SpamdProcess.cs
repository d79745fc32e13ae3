// A private spamd (Debian package spamassassin) on a free loopback port, local tests only, no user configuration.
// Shared with CprDesk.Tests as a linked file.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CprDesk.Mail.Tests.Spam;

public sealed class SpamdProcess : IAsyncDisposable
{
    /// <summary>The GTUBE test string (SpamAssassin's 20_body_tests.cf): scores 1000.</summary>
    public const string Gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

    /// <summary>First start compiles nothing (Debian ships compiled rules) but parses every rule file: seconds, not minutes.</summary>
    public static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly string _dir;

    private SpamdProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }
    public string LogPath => Path.Combine(_dir, "spamd.log");
    public bool Running => !_process.HasExited;

    public static async Task<SpamdProcess> StartAsync()
    {
        const string spamd = "/usr/sbin/spamd";
        if (!File.Exists(spamd)) throw new InvalidOperationException("spamd is needed for this test (Debian packages spamassassin and spamd; scripts/test.sh installs them)");
        var dir = Path.Combine(Path.GetTempPath(), "cprdesk-spamd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var port = FreePort();
        var psi = new ProcessStartInfo(spamd) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        // -x: no per-user configuration; -L: local tests only (no DNS, no network); --syslog=stderr: log to our pipe;
        // -H: a throwaway home for helper applications; two children are plenty for tests.
        foreach (var a in new[] { $"--listen=127.0.0.1:{port}", "--allowed-ips=127.0.0.1", "-x", "-L", "--max-children=2", "--min-children=1",
                     "--syslog=stderr", $"--helper-home-dir={dir}", $"--pidfile={Path.Combine(dir, "spamd.pid")}" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var log = new StreamWriter(Path.Combine(dir, "spamd.log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = new SpamdProcess(process, dir, port);
        // spamd opens its port only when the rules are loaded: wait on the port, with a deadline.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"spamd exited with {process.ExitCode}: {Tail(started.LogPath)}");
            if (await CanConnectAsync(port)) return started;
            if (deadline.Elapsed > StartDeadline)
            {
                await started.DisposeAsync();
                throw new TimeoutException($"spamd did not open 127.0.0.1:{port} within {StartDeadline.TotalSeconds} s");
            }
            await Task.Delay(200);
        }
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        using var c = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await c.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static string Tail(string path)
    {
        try { return string.Join(" | ", File.ReadAllLines(path).TakeLast(5)); }
        catch (IOException) { return "(no log)"; }
    }

    /// <summary>Stops spamd and its children and waits until the port is closed.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
