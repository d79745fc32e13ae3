using System.Diagnostics;
using System.Globalization;

namespace CprDesk.Tests.Support;

/// <summary>A private Dovecot on loopback (tests/tools/dovecot-instance.sh) with the user "cpr" and the folders INBOX,
/// Junk (\Junk), Archive and Archive/Quarantäne. Needs root.</summary>
public sealed class Dovecot : IAsyncDisposable
{
    public static readonly string Tool = Path.Combine(Repo.Root, "tests", "tools", "dovecot-instance.sh");
    private readonly TempDir _dir = new();

    public int Port { get; private set; }
    public int TlsPort { get; private set; }
    public string User => "cpr";
    public string Password { get; private set; } = "";
    public string CertificateSha256 { get; private set; } = "";
    public string Dir => _dir.Path;

    public static async Task<Dovecot> StartAsync()
    {
        if (Environment.UserName != "root")
            throw new InvalidOperationException("The Dovecot tests run a private Dovecot instance and need root (scripts/test.sh runs as root in CI).");
        var d = new Dovecot();
        var (code, output) = await RunAsync("start", d.Dir);
        if (code != 0) throw new InvalidOperationException("dovecot-instance.sh start failed: " + output);
        d.Port = int.Parse(File.ReadAllText(Path.Combine(d.Dir, "port")).Trim(), CultureInfo.InvariantCulture);
        d.TlsPort = int.Parse(File.ReadAllText(Path.Combine(d.Dir, "tlsport")).Trim(), CultureInfo.InvariantCulture);
        d.Password = File.ReadAllText(Path.Combine(d.Dir, "password")).Trim();
        d.CertificateSha256 = File.ReadAllText(Path.Combine(d.Dir, "cert.sha256")).Trim();
        return d;
    }

    /// <summary>APPENDs a message; <paramref name="internalDate"/> sets its INTERNALDATE. Returns the new UID.</summary>
    public async Task<uint> AppendAsync(string folder, byte[] message, DateTimeOffset? internalDate = null)
    {
        var file = Path.Combine(Dir, "append-" + Guid.NewGuid().ToString("N") + ".eml");
        await File.WriteAllBytesAsync(file, message);
        var date = internalDate is { } d ? d.ToUniversalTime().ToString("dd-MMM-yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000" : "";
        var (code, output) = await RunAsync("append", Dir, folder, file, date);
        if (code != 0) throw new InvalidOperationException("append failed: " + output);
        // "[APPENDUID <validity> <uid>] Append completed"
        var parts = output.Trim().Split(' ');
        return uint.Parse(parts[2].TrimEnd(']'), CultureInfo.InvariantCulture);
    }

    public async Task ExpungeAsync(string folder, uint uid)
    {
        var (code, output) = await RunAsync("expunge", Dir, folder, uid.ToString(CultureInfo.InvariantCulture));
        if (code != 0) throw new InvalidOperationException("expunge failed: " + output);
    }

    public async Task SetUidValidityAsync(string folder, uint validity)
    {
        var (code, output) = await RunAsync("uidvalidity", Dir, folder, validity.ToString(CultureInfo.InvariantCulture));
        if (code != 0) throw new InvalidOperationException("uidvalidity failed: " + output);
    }

    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(Tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw; }
        return (p.ExitCode, await stdout + await stderr);
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("stop", Dir);
        _dir.Dispose();
    }
}
