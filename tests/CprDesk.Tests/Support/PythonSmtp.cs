using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace CprDesk.Tests.Support;

/// <summary>Python's smtplib as the sending peer: a real SMTP client, not ours.</summary>
public static class PythonSmtp
{
    private const string Script = """
        import json, smtplib, ssl, sys
        host, port, sender, rcpts, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(','), sys.argv[5] == '1'
        data = sys.stdin.buffer.read()
        out = {}
        try:
            with smtplib.SMTP(host, port, timeout=30) as s:
                s.ehlo('python.test')
                if tls:
                    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                    s.starttls(context=ctx); s.ehlo('python.test')
                refused = s.sendmail(sender, rcpts, data)
                out = {'ok': True, 'refused': {k: v[0] for k, v in refused.items()}}
        except smtplib.SMTPRecipientsRefused as e:
            out = {'ok': False, 'code': list(e.recipients.values())[0][0], 'error': str(e)}
        except smtplib.SMTPResponseException as e:
            out = {'ok': False, 'code': e.smtp_code, 'error': e.smtp_error.decode('utf-8', 'replace')}
        print(json.dumps(out))
        """;

    public sealed record Result(bool Ok, int? Code, string? Error);

    public static async Task<Result> SendAsync(IPEndPoint server, string sender, string[] recipients, byte[] message, bool startTls = false)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", Script, server.Address.ToString(), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), sender, string.Join(',', recipients), startTls ? "1" : "0" })
            psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception ex) { throw new InvalidOperationException("python3 is needed for this test (Debian package python3)", ex); }
        using (p)
        {
            await p.StandardInput.BaseStream.WriteAsync(message);
            p.StandardInput.Close();
            var stdout = await p.StandardOutput.ReadToEndAsync();
            var stderr = await p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(cts.Token);
            if (p.ExitCode != 0) throw new InvalidOperationException($"python smtplib failed: {stderr}");
            var json = JsonDocument.Parse(stdout).RootElement;
            return new Result(json.GetProperty("ok").GetBoolean(), json.TryGetProperty("code", out var c) ? c.GetInt32() : null,
                json.TryGetProperty("error", out var e) ? e.GetString() : null);
        }
    }
}
