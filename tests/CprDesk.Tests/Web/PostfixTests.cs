using System.Diagnostics;
using System.Text;
using CprDesk.Intake;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>Debian's Postfix in front of CprDesk, both ways a CA would set it up: relaying to the SMTP listener, and
/// delivering through `cprdesk mailgate` in a pipe(8) transport. Needs root (tests/tools/postfix-instance.sh).</summary>
public sealed class PostfixTests : IAsyncLifetime
{
    private static readonly string Tool = Path.Combine(Repo.Root, "tests", "tools", "postfix-instance.sh");
    private readonly TempDir _work = new();
    private string PostfixDir => Path.Combine(_work.Path, "postfix");
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        if (Environment.UserName != "root")
            throw new InvalidOperationException("The Postfix tests run a private Postfix instance and need root (scripts/test.sh runs as root in CI).");
        _host = await TestHost.StartAsync(extra: new Dictionary<string, string?> { ["CprDesk:Mail:TrustedRelays:0"] = "postfix-test.localdomain" });
    }

    public async Task DisposeAsync()
    {
        await RunAsync(Tool, "stop", PostfixDir);
        await _host.DisposeAsync();
        _work.Dispose();
    }


    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    private async Task<IntakeResult> SendThroughPostfixAsync(int port, byte[] message)
    {
        var intake = _host.Service<IntakePipeline>();
        var done = new TaskCompletionSource<IntakeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnProcessed(IntakeResult r) => done.TrySetResult(r);
        intake.Processed += OnProcessed;
        try
        {
            var sent = await PythonSmtp.SendAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), "reporter@example.org", ["cpr@ca.example"], message);
            Assert.True(sent.Ok, sent.Error);
            return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            intake.Processed -= OnProcessed;
        }
    }

    private static byte[] Message(string id) => Encoding.ASCII.GetBytes(
        $"From: Reporter <reporter@example.org>\r\nTo: cpr@ca.example\r\nSubject: CPR through Postfix {id}\r\nMessage-ID: <{id}@example.org>\r\n\r\nKey compromise, see attached proof.\r\n");

    [Fact]
    public async Task Postfix_relays_to_the_listener_and_its_Received_time_starts_the_clock()
    {
        var port = ServeProcess.FreePort();
        var start = await RunAsync(Tool, "start", PostfixDir, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "relay", _host.SmtpEndpoint.ToString());
        Assert.True(start.Code == 0, start.Output);
        var result = await SendThroughPostfixAsync(port, Message("relay-1"));
        Assert.True(result.NewReport);
        await using var db = _host.Service<Database>().Open();
        var m = await db.Messages.SingleAsync(x => x.Id == result.MessageId);
        Assert.Equal("relay-1@example.org", m.MessageId);
        Assert.Equal("reporter@example.org", m.EnvelopeFrom);
        var raw = Encoding.ASCII.GetString((await db.Blobs.SingleAsync(b => b.Sha256 == m.RawSha256)).Content);
        Assert.Contains("by postfix-test.localdomain", raw);
        // The trusted relay's Received: time (whole seconds) is the receipt time, not later than our own acceptance.
        Assert.True(m.ReceivedAt <= m.AcceptedAt);
        Assert.Equal(0, m.ReceivedAt.Ticks % TimeSpan.TicksPerSecond);
        Assert.Equal(m.ReceivedAt, (await db.Reports.SingleAsync(r => r.Id == m.ReportId)).ReceivedAt);
    }

    [Fact]
    public async Task Postfix_delivers_through_the_mailgate_in_a_pipe_transport()
    {
        var token = await _host.Service<CprDesk.Access.Accounts>().CreateMailgateTokenAsync("test", "postfix-pipe");
        // The pipe runs as the unprivileged user cprdesk-pipe: give it a readable copy of the program and the token.
        var shared = Path.Combine(Path.GetTempPath(), "cprdesk-pipe-" + Guid.NewGuid().ToString("N"));
        try
        {
            CopyDirectory(Path.GetDirectoryName(Support.Cli.AppDll)!, Path.Combine(shared, "app"));
            var tokenFile = Path.Combine(shared, "mailgate.token");
            await File.WriteAllTextAsync(tokenFile, token.Token);
            await RunAsync("/bin/chmod", "-R", "a+rX", shared);
            var port = ServeProcess.FreePort();
            var start = await RunAsync(Tool, "start", PostfixDir, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "pipe",
                "/usr/bin/dotnet", Path.Combine(shared, "app", "cprdesk.dll"), "mailgate", "--url", _host.BaseUri.ToString(),
                "--token-file", tokenFile, "--sender", "${sender}", "--recipient", "${recipient}");
            Assert.True(start.Code == 0, start.Output);
            var result = await SendThroughPostfixAsync(port, Message("pipe-1"));
            Assert.True(result.NewReport);
            await using var db = _host.Service<Database>().Open();
            var m = await db.Messages.SingleAsync(x => x.Id == result.MessageId);
            Assert.Equal("pipe-1@example.org", m.MessageId);
            Assert.Equal("reporter@example.org", m.EnvelopeFrom);
            Assert.Equal("cpr@ca.example", m.EnvelopeTo);
            Assert.StartsWith("mailgate:", m.PeerAddress);
        }
        finally
        {
            try { Directory.Delete(shared, recursive: true); } catch (IOException) { }
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
