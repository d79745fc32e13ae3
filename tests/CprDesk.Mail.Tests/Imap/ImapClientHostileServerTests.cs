using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CprDesk.Mail.Imap;

namespace CprDesk.Mail.Tests.Imap;

/// <summary>The client against small loopback servers that follow a script and then misbehave.</summary>
public sealed class ImapClientHostileServerTests
{
    /// <summary>Answers each client line with the next scripted reply ("{tag}" replaced); a reply ending in "|CLOSE"
    /// is sent and the connection closed; "STALL" never answers.</summary>
    private static async Task<(int Port, Task Done, CancellationTokenSource Stop)> ServeAsync(string greeting, params string?[] replies)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var done = Task.Run(async () =>
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.Latin1);
                await stream.WriteAsync(Encoding.Latin1.GetBytes(greeting), stop.Token);
                foreach (var reply in replies)
                {
                    var line = await reader.ReadLineAsync(stop.Token);
                    if (line is null || reply is null) return;
                    if (reply == "STALL") { await Task.Delay(Timeout.Infinite, stop.Token); return; }
                    var close = reply.EndsWith("|CLOSE", StringComparison.Ordinal);
                    var text = close ? reply[..^6] : reply;
                    await stream.WriteAsync(Encoding.Latin1.GetBytes(text.Replace("{tag}", line.Split(' ')[0], StringComparison.Ordinal)), stop.Token);
                    if (close) return;
                }
                await reader.ReadLineAsync(stop.Token);
            }
            catch (OperationCanceledException) { }
            catch (IOException) { }
            finally { listener.Stop(); }
        });
        return (((IPEndPoint)listener.LocalEndpoint).Port, done, stop);
    }

    private static ImapClientOptions Options(int port) => new() { Host = "127.0.0.1", Port = port, Tls = ImapTls.None, Timeout = TimeSpan.FromSeconds(1) };

    private const string Greeting = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR IDLE] ready\r\n";

    [Fact]
    public async Task A_connection_dropped_mid_literal_is_a_connection_error_and_the_client_is_unusable()
    {
        var (port, done, stop) = await ServeAsync(Greeting, "{tag} OK [CAPABILITY IMAP4rev1 IDLE] in\r\n", "* 2 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\n{tag} OK [READ-ONLY] x\r\n",
            "* 1 FETCH (UID 1 BODY[] {500}\r\nhalf a message|CLOSE");
        await using var client = await ImapClient.ConnectAsync(Options(port));
        await client.AuthenticateAsync("u", "p");
        var state = await client.ExamineAsync("INBOX");
        Assert.Equal((5u, 2u, true), (state.UidValidity, state.Exists, state.ReadOnly));
        var ex = await Assert.ThrowsAsync<ImapConnectionException>(() => client.FetchAsync(1));
        Assert.Contains("literal of 500 bytes", ex.Message);
        Assert.False(client.IsConnected);
        await Assert.ThrowsAsync<ImapConnectionException>(() => client.NoopAsync());
        stop.Cancel();
        await done;
    }

    [Fact]
    public async Task A_stalled_server_times_out_within_the_bound()
    {
        var (port, done, stop) = await ServeAsync(Greeting, "STALL");
        await using var client = await ImapClient.ConnectAsync(Options(port));
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<ImapTimeoutException>(() => client.AuthenticateAsync("u", "p"));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(10));
        stop.Cancel();
        await done;
    }

    [Fact]
    public async Task A_silent_server_times_out_on_the_greeting()
    {
        var (port, done, stop) = await ServeAsync("");
        await Assert.ThrowsAsync<ImapTimeoutException>(() => ImapClient.ConnectAsync(Options(port)));
        stop.Cancel();
        await done;
    }

    [Fact]
    public async Task Garbage_instead_of_a_greeting_is_a_protocol_error()
    {
        var (port, done, stop) = await ServeAsync("SSH-2.0-OpenSSH_9.2\r\n");
        await Assert.ThrowsAsync<ImapProtocolException>(() => ImapClient.ConnectAsync(Options(port)));
        stop.Cancel();
        await done;
    }

    [Fact]
    public async Task A_refused_command_leaves_the_session_usable_and_untagged_responses_may_come_in_any_order()
    {
        var (port, done, stop) = await ServeAsync(Greeting,
            "{tag} OK [CAPABILITY IMAP4rev1] in\r\n",
            "{tag} NO [NONEXISTENT] Mailbox doesn't exist: Nope\r\n",
            // UIDNEXT before EXISTS before UIDVALIDITY, with an unrelated untagged response in between.
            "* OK [UIDNEXT 9] x\r\n* 3 EXISTS\r\n* 1 FETCH (FLAGS (\\Seen))\r\n* OK [UIDVALIDITY 77] x\r\n{tag} OK [READ-ONLY] done\r\n",
            "* SEARCH 2 7 5\r\n{tag} OK done\r\n");
        await using var client = await ImapClient.ConnectAsync(Options(port));
        await client.AuthenticateAsync("u", "p");
        var refused = await Assert.ThrowsAsync<ImapCommandException>(() => client.ExamineAsync("Nope"));
        Assert.Equal(("NO", "NONEXISTENT"), (refused.Status, refused.Code));
        Assert.True(client.IsConnected);
        var state = await client.ExamineAsync("INBOX");
        Assert.Equal((77u, 9u, 3u), (state.UidValidity, state.UidNext!.Value, state.Exists));
        Assert.Equal([2u, 5u, 7u], await client.UidSearchAllAsync());
        stop.Cancel();
        await done;
    }

    [Fact]
    public async Task STARTTLS_is_required_when_configured_and_never_falls_back_to_plain_text()
    {
        var (port, done, stop) = await ServeAsync("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n");
        var ex = await Assert.ThrowsAsync<ImapConnectionException>(() => ImapClient.ConnectAsync(new ImapClientOptions
        {
            Host = "127.0.0.1", Port = port, Tls = ImapTls.StartTls, Timeout = TimeSpan.FromSeconds(2),
        }));
        Assert.Contains("STARTTLS", ex.Message);
        stop.Cancel();
        await done;
    }

    [Fact]
    public async Task LOGIN_quotes_or_sends_a_literal_for_awkward_passwords()
    {
        var seen = new List<string>();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var c = await listener.AcceptTcpClientAsync();
            var s = c.GetStream();
            var r = new StreamReader(s, Encoding.UTF8);
            await s.WriteAsync("* OK [CAPABILITY IMAP4rev1] hi\r\n"u8.ToArray());
            var login = await r.ReadLineAsync();
            seen.Add(login!);
            await s.WriteAsync("+ go on\r\n"u8.ToArray());
            var rest = new char[9];
            await r.ReadBlockAsync(rest, 0, 9); // "pässwörd" is 10 UTF-8 bytes but 8 chars; read the chars and CRLF
            seen.Add(new string(rest));
            await s.WriteAsync(Encoding.ASCII.GetBytes(login!.Split(' ')[0] + " OK [CAPABILITY IMAP4rev1] in\r\n"));
            listener.Stop();
        });
        await using var client = await ImapClient.ConnectAsync(Options(port));
        await client.AuthenticateAsync("user \"x\"", "pässwörd");
        await server.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.EndsWith("LOGIN \"user \\\"x\\\"\" {10}", seen[0]);
        Assert.StartsWith("pässwörd", seen[1]);
        Assert.True(client.IsAuthenticated);
    }
}
