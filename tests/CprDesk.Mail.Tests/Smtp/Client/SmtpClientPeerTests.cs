// SmtpClient against a scripted TCP peer: pipelining, multi-line replies, timeouts, drops and malformed servers.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CprDesk.Mail.Smtp;

namespace CprDesk.Mail.Tests.Smtp.Client;

public sealed class SmtpClientPeerTests
{
    private static readonly byte[] Message = Encoding.ASCII.GetBytes("Subject: t\r\n\r\nbody\r\n");

    private static SmtpRelayOptions Relay(int port, double timeoutSeconds = 15) => new()
    {
        Host = "127.0.0.1", Port = port, Tls = SmtpTlsMode.None, HeloName = "client.test", Timeout = TimeSpan.FromSeconds(timeoutSeconds),
    };

    [Fact]
    public async Task With_PIPELINING_MAIL_and_every_RCPT_arrive_before_any_reply()
    {
        await using var peer = new ScriptedPeer();
        var send = SmtpClient.SendAsync(Relay(peer.Port), "a@example.org", ["x@example.org", "y@example.org", "z@example.org"], Message);
        await peer.AcceptAsync();
        await peer.SendAsync("220-peer.test first greeting line\r\n220 peer.test ready\r\n");
        Assert.Equal("EHLO client.test", await peer.ReadLineAsync());
        await peer.SendAsync("250-peer.test\r\n250-PIPELINING\r\n250 SIZE\r\n");
        // No reply is sent until all four commands are in: a client waiting for the MAIL reply would stall here.
        Assert.Equal("MAIL FROM:<a@example.org> SIZE=20", await peer.ReadLineAsync());
        Assert.Equal("RCPT TO:<x@example.org>", await peer.ReadLineAsync());
        Assert.Equal("RCPT TO:<y@example.org>", await peer.ReadLineAsync());
        Assert.Equal("RCPT TO:<z@example.org>", await peer.ReadLineAsync());
        await peer.SendAsync("250 ok\r\n250 ok\r\n550-5.1.1 y is unknown\r\n550-5.1.1 really\r\n550 5.1.1 unknown\r\n250 ok\r\n");
        Assert.Equal("DATA", await peer.ReadLineAsync());
        await peer.SendAsync("354 go\r\n");
        Assert.Equal(["Subject: t", "", "body", "."], [await peer.ReadLineAsync(), await peer.ReadLineAsync(), await peer.ReadLineAsync(), await peer.ReadLineAsync()]);
        await peer.SendAsync("250-2.0.0 queued\r\n250 2.0.0 as 42\r\n");
        Assert.Equal("QUIT", await peer.ReadLineAsync());
        await peer.SendAsync("221 bye\r\n");

        var result = await send;
        Assert.True(result.Delivered);
        Assert.Equal((250, "250-2.0.0 queued\n250 2.0.0 as 42"), (result.Code, result.Reply));
        Assert.Equal("550-5.1.1 y is unknown\n550-5.1.1 really\n550 5.1.1 unknown", result.Recipients[1].Reply);
        Assert.Equal([true, false, true], result.Recipients.Select(r => r.Accepted));
    }

    [Fact]
    public async Task A_silent_server_times_out_as_a_temporary_failure()
    {
        await using var peer = new ScriptedPeer();
        var clock = Stopwatch.StartNew();
        var send = SmtpClient.SendAsync(Relay(peer.Port, timeoutSeconds: 1), "a@example.org", ["x@example.org"], Message);
        await peer.AcceptAsync();
        var result = await send;
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.Equal("timed out after 1 s waiting for the reply to the greeting", result.Reply);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
        Assert.All(result.Recipients, r => Assert.StartsWith("no reply: timed out", r.Reply));
    }

    [Fact]
    public async Task A_refused_connection_is_a_result_not_an_exception()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var result = await SmtpClient.SendAsync(Relay(port), "a@example.org", ["x@example.org"], Message);
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.StartsWith($"connecting to 127.0.0.1:{port}: ", result.Reply);
    }

    [Fact]
    public async Task An_unknown_host_is_a_result_not_an_exception()
    {
        var relay = new SmtpRelayOptions { Host = "no-such-host.invalid", HeloName = "client.test", Timeout = TimeSpan.FromSeconds(10) };
        var result = await SmtpClient.SendAsync(relay, "a@example.org", ["x@example.org"], Message);
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.StartsWith("connecting to no-such-host.invalid:25: ", result.Reply);
    }

    [Fact]
    public async Task A_connection_dropped_mid_session_is_a_temporary_failure()
    {
        await using var peer = new ScriptedPeer();
        var send = SmtpClient.SendAsync(Relay(peer.Port), "a@example.org", ["x@example.org"], Message);
        await peer.AcceptAsync();
        await peer.SendAsync("220 hi\r\n");
        await peer.ReadLineAsync();
        await peer.SendAsync("250 peer.test\r\n");
        Assert.StartsWith("MAIL FROM:", await peer.ReadLineAsync());
        peer.Close();
        var result = await send;
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.StartsWith("waiting for the reply to MAIL FROM: ", result.Reply);
    }

    [Fact]
    public async Task A_reply_that_is_not_SMTP_is_a_protocol_failure()
    {
        await using var peer = new ScriptedPeer();
        var send = SmtpClient.SendAsync(Relay(peer.Port), "a@example.org", ["x@example.org"], Message);
        await peer.AcceptAsync();
        await peer.SendAsync("HTTP/1.1 400 Bad Request\r\n\r\n");
        var result = await send;
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.Contains("malformed reply line", result.Reply);
    }

    [Fact]
    public async Task An_endless_reply_line_is_cut_off()
    {
        await using var peer = new ScriptedPeer();
        var send = SmtpClient.SendAsync(Relay(peer.Port), "a@example.org", ["x@example.org"], Message);
        await peer.AcceptAsync();
        await peer.SendAsync("220 " + new string('x', 20_000));
        var result = await send;
        Assert.Equal(0, result.Code);
        Assert.Contains("longer than 8192", result.Reply);
    }

    [Fact]
    public async Task A_554_greeting_is_permanent()
    {
        await using var peer = new ScriptedPeer();
        var send = SmtpClient.SendAsync(Relay(peer.Port), "a@example.org", ["x@example.org"], Message);
        await peer.AcceptAsync();
        await peer.SendAsync("554 5.7.1 no service for you\r\n");
        Assert.Equal("QUIT", await peer.ReadLineAsync());
        await peer.SendAsync("221 bye\r\n");
        var result = await send;
        Assert.Equal((false, true, 554, "554 5.7.1 no service for you"), (result.Delivered, result.Permanent, result.Code, result.Reply));
    }

    [Fact]
    public async Task Data_sent_after_the_STARTTLS_go_ahead_is_refused_as_injection()
    {
        await using var tlsPeer = new ScriptedPeer();
        var relay = new SmtpRelayOptions
        {
            Host = "127.0.0.1", Port = tlsPeer.Port, Tls = SmtpTlsMode.StartTlsRequired, HeloName = "client.test",
            Timeout = TimeSpan.FromSeconds(15), AcceptAnyCertificate = true,
        };
        var tlsSend = SmtpClient.SendAsync(relay, "a@example.org", ["x@example.org"], Message);
        await tlsPeer.AcceptAsync();
        await tlsPeer.SendAsync("220 hi\r\n");
        await tlsPeer.ReadLineAsync();
        await tlsPeer.SendAsync("250-peer.test\r\n250 STARTTLS\r\n");
        Assert.Equal("STARTTLS", await tlsPeer.ReadLineAsync());
        // One write: the injected reply arrives with the 220, before any TLS (the CVE-2011-0411 pattern).
        await tlsPeer.SendAsync("220 go ahead\r\n250 2.1.0 injected\r\n");
        var result = await tlsSend;
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.Contains("response injection", result.Reply);
        Assert.Empty(await tlsPeer.ReadToEndAsync());
    }

    [Fact]
    public async Task Cancellation_by_the_caller_throws_as_usual()
    {
        await using var peer = new ScriptedPeer();
        using var cts = new CancellationTokenSource();
        var send = SmtpClient.SendAsync(Relay(peer.Port), "a@example.org", ["x@example.org"], Message, cts.Token);
        await peer.AcceptAsync();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
    }

    public static TheoryData<string, Func<Task>> BadArguments => new()
    {
        { "recipients", () => SmtpClient.SendAsync(Relay(25), "a@example.org", [], Message) },
        { "recipients[1]", () => SmtpClient.SendAsync(Relay(25), "a@example.org", ["x@example.org", "x@example.org>\r\nDATA"], Message) },
        { "mailFrom", () => SmtpClient.SendAsync(Relay(25), "a@example.org> SIZE=1", ["x@example.org"], Message) },
        { "mailFrom", () => SmtpClient.SendAsync(Relay(25), "jürgen@example.org", ["x@example.org"], Message) },
        { "message", () => SmtpClient.SendAsync(Relay(25), "a@example.org", ["x@example.org"], Encoding.ASCII.GetBytes("Subject: x\r\n\r\n" + new string('x', 999) + "\r\n")) },
        { "relay", () => SmtpClient.SendAsync(new SmtpRelayOptions { Host = "h", HeloName = "c.test", Timeout = TimeSpan.Zero }, "a@example.org", ["x@example.org"], Message) },
        { "relay", () => SmtpClient.SendAsync(new SmtpRelayOptions { Host = "h", HeloName = "bad name" }, "a@example.org", ["x@example.org"], Message) },
        { "relay", () => SmtpClient.SendAsync(new SmtpRelayOptions { Host = "h", HeloName = "c.test", Username = "u" }, "a@example.org", ["x@example.org"], Message) },
        { "relay", () => SmtpClient.SendAsync(new SmtpRelayOptions { Host = "h", HeloName = "c.test", Port = 0 }, "a@example.org", ["x@example.org"], Message) },
        { "relay", () => SmtpClient.SendAsync(new SmtpRelayOptions { Host = "h\r\n", HeloName = "c.test" }, "a@example.org", ["x@example.org"], Message) },
        { "relay", () => SmtpClient.SendAsync(null!, "a@example.org", ["x@example.org"], Message) },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task Bad_arguments_throw_ArgumentException_before_any_connection(string parameter, Func<Task> send)
    {
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(send);
        Assert.Equal(parameter, e.ParamName);
    }
}
