using System.Diagnostics;

namespace CprDesk.Tests.Support;

/// <summary>`cprdesk serve` as a separate process, so a test can kill it hard.</summary>
public sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private ServeProcess(Process process) => _process = process;

    public static async Task<ServeProcess> StartAsync(string dataDir, int smtpPort)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(Cli.AppDll)! };
        foreach (var a in new[] { Cli.AppDll, "serve", "--data", dataDir, "--urls", "http://127.0.0.1:0", "--smtp", $"127.0.0.1:{smtpPort}" }) psi.ArgumentList.Add(a);
        psi.Environment["CprDesk__Mail__Listener__Addresses"] = "cpr@ca.example";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var p = Process.Start(psi)!;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        p.OutputDataReceived += (_, e) => { if (e.Data?.Contains("SMTP listener:", StringComparison.Ordinal) == true) ready.TrySetResult(); };
        p.ErrorDataReceived += (_, _) => { };
        p.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("cprdesk serve exited early"));
        p.EnableRaisingEvents = true;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return new ServeProcess(p);
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(15_000);
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    public static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
