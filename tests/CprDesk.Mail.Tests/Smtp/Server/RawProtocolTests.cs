// The protocol over a bare TCP socket: sequence and syntax errors, limits, timeouts, pipelining, store answers.
using System.Security.Cryptography;
using System.Text;
using CprDesk.Mail.Smtp;
using CprDesk.Mail.Tests.Smtp.Server.Support;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class RawProtocolTests
{
    private static async Task SendMessageAsync(RawSmtpClient client, string body, string expectedFinalReply = "250")
    {
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<reporter@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.WriteAsync(body + ".\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.StartsWith(expectedFinalReply, reply.Lines[^1]);
    }

    [Fact]
    public async Task Commands_out_of_order_get_503()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port, ehlo: null);

        Assert.Equal("503 5.5.1 send EHLO or HELO first", (await client.CommandAsync("MAIL FROM:<a@example.org>")).Lines[0]);
        Assert.Equal(503, (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal(503, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("HELO client.test.example")).Code);
        Assert.Equal("503 5.5.1 need MAIL before RCPT", (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Lines[0]);
        Assert.Equal("503 5.5.1 need MAIL command", (await client.CommandAsync("DATA")).Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal("503 5.5.1 nested MAIL command", (await client.CommandAsync("MAIL FROM:<a@example.org>")).Lines[0]);
        Assert.Equal(550, (await client.CommandAsync("RCPT TO:<nobody@ca.test.example>")).Code);
        Assert.Equal("503 5.5.1 need RCPT command (no valid recipients)", (await client.CommandAsync("DATA")).Lines[0]);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, server.Store.SaveCalls);
    }

    [Fact]
    public async Task Unknown_and_unimplemented_commands_and_bad_syntax()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        Assert.Equal("500 5.5.1 command unrecognized", (await client.CommandAsync("FROB nicate")).Lines[0]);
        Assert.Equal(502, (await client.CommandAsync("EXPN staff")).Code);
        Assert.Equal(502, (await client.CommandAsync("AUTH PLAIN")).Code);
        Assert.Equal(500, (await client.CommandAsync("")).Code);
        Assert.Equal(501, (await client.CommandAsync("EHLO")).Code);
        Assert.Equal(501, (await client.CommandAsync("MAIL TO:<a@example.org>")).Code);
        Assert.Equal(501, (await client.CommandAsync("MAIL FROM:<a@@example.org>")).Code);
        Assert.Equal(555, (await client.CommandAsync("MAIL FROM:<a@example.org> SMTPUTF8")).Code);
        Assert.Equal(501, (await client.CommandAsync("MAIL FROM:<a@example.org> BODY=BINARYMIME")).Code);
        Assert.Equal("552 5.3.4 message size exceeds fixed maximum message size of 52428800 bytes",
            (await client.CommandAsync("MAIL FROM:<a@example.org> SIZE=52428801")).Lines[0]);
        // Tolerated forms: a space after the colon, lower case, no brackets, a source route.
        Assert.Equal(250, (await client.CommandAsync("mail from: <a@example.org> size=100 body=8bitmime")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:cpr@ca.test.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<@relay.example:abuse@ca.test.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<Postmaster>")).Code);
        Assert.Equal(501, (await client.CommandAsync("RCPT TO:<>")).Code);
        Assert.Equal(500, (await client.CommandAsync("RCPT TO:<s\u00fcss@ca.test.example>")).Code);
        Assert.StartsWith("214 2.0.0 commands:", (await client.CommandAsync("HELP")).Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Command_line_over_512_octets_gets_500_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        // 512 octets including CRLF is the limit (RFC 5321 §4.5.3.1.4): exactly that is fine.
        Assert.Equal(250, (await client.CommandAsync("NOOP " + new string('x', 505))).Code);
        Assert.Equal("500 5.5.2 line too long", (await client.CommandAsync("NOOP " + new string('x', 506))).Lines[0]);
        Assert.Equal("500 5.5.2 line too long", (await client.CommandAsync("NOOP " + new string('y', 100_000))).Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Vrfy_says_252()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.StartsWith("252 2.0.0 ", (await client.CommandAsync("VRFY cpr@ca.test.example")).Lines[0]);
        Assert.Equal(501, (await client.CommandAsync("VRFY")).Code);
    }

    [Fact]
    public async Task Rset_ends_the_transaction()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("RSET")).Lines[0]);
        Assert.Equal(503, (await client.CommandAsync("DATA")).Code);
        await SendMessageAsync(client, "Subject: after RSET\r\n\r\nbody\r\n");
        var message = Assert.Single(server.Store.Saved);
        Assert.Equal("reporter@example.org", message.MailFrom);
    }

    [Fact]
    public async Task Idle_client_gets_421_after_the_command_timeout()
    {
        await using var server = await TestServer.StartAsync(o => o.CommandTimeout = TimeSpan.FromMilliseconds(300));
        await using var client = await RawSmtpClient.ConnectAsync(server.Port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);

        var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(421, reply.Code);
        Assert.StartsWith("4.4.2 ", reply.Text);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Idle_client_inside_tls_gets_421_after_the_command_timeout()
    {
        // 2 s, not 300 ms: the TLS handshake itself must fit inside the timeout even on a loaded 2-core CI machine.
        await using var server = await TestServer.StartAsync(o => o.CommandTimeout = TimeSpan.FromSeconds(2));
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();

        var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(421, reply.Code);
        Assert.StartsWith("4.4.2 ", reply.Text);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Stalled_data_gets_421_after_the_data_timeout_and_nothing_is_saved()
    {
        await using var server = await TestServer.StartAsync(o => o.DataTimeout = TimeSpan.FromMilliseconds(300));
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.WriteAsync("Subject: never finished\r\n");

        var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(421, reply.Code);
        Assert.StartsWith("4.4.2 ", reply.Text);
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, server.Store.SaveCalls);
    }

    [Fact]
    public async Task Connections_over_the_limit_get_421_and_are_closed()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxConnections = 1);
        await using var first = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        await using (var second = await RawSmtpClient.ConnectAsync(server.Port))
        {
            var refused = await second.ReadReplyAsync();
            Assert.Equal(421, refused.Code);
            Assert.StartsWith("4.7.0 ", refused.Text);
            Assert.True(await second.IsClosedByServerAsync());
        }

        Assert.Equal(221, (await first.CommandAsync("QUIT")).Code);
        Assert.True(await first.IsClosedByServerAsync());
        // The slot is released before the server closes, so it is free once the close was seen.
        await using var third = await RawSmtpClient.ConnectAsync(server.Port);
        Assert.Equal(220, (await third.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Store_failure_gets_451_and_the_message_is_not_acknowledged()
    {
        var store = new RecordingStore();
        var fail = true;
        store.OnSave = (_, _) => fail ? throw new IOException("disk full") : Task.FromResult<SmtpReply?>(null);
        await using var server = await TestServer.StartAsync(store: store);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        await SendMessageAsync(client, "Subject: lost?\r\n\r\nno\r\n", expectedFinalReply: "451 4.3.0 ");
        Assert.Empty(store.Saved);
        Assert.Contains(server.Log, l => l.Contains("disk full"));

        // The transaction was reset; the client's retry on the same connection succeeds.
        fail = false;
        await SendMessageAsync(client, "Subject: retry\r\n\r\nyes\r\n", expectedFinalReply: "250 2.0.0 queued as 2");
        Assert.Single(store.Saved);
    }

    [Fact]
    public async Task Store_reply_text_is_passed_through()
    {
        var store = new RecordingStore();
        var replies = new Queue<SmtpReply>([
            new SmtpReply(250, "2.0.0", "committed as CPR-2024-0042 sha256 abc"),
            new SmtpReply(554, "5.7.1", "refused by policy"),
            new SmtpReply(250, "2.0.0", "line\r\n250 injected"),
            new SmtpReply(200, "2.0.0", "not a DATA reply"),
        ]);
        store.OnSave = (_, _) => Task.FromResult<SmtpReply?>(replies.Dequeue());
        await using var server = await TestServer.StartAsync(store: store);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        await SendMessageAsync(client, "\r\n", "250 2.0.0 committed as CPR-2024-0042 sha256 abc");
        await SendMessageAsync(client, "\r\n", "554 5.7.1 refused by policy");
        // Text cannot break the reply into two lines.
        await SendMessageAsync(client, "\r\n", "250 2.0.0 line  250 injected");
        // Only a 250 acknowledges a message; anything else that is not a 4xx/5xx becomes 451.
        await SendMessageAsync(client, "\r\n", "451 4.3.0 ");
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Whole_session_written_one_byte_at_a_time()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAsync(server.Port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);

        async Task<Reply> Trickle(string text)
        {
            foreach (var b in Encoding.ASCII.GetBytes(text))
            {
                await client.WriteAsync([b]);
            }
            return await client.ReadReplyAsync();
        }

        const string body = "Subject: trickle\r\n\r\n..dot\r\n.\r\n";
        Assert.Equal(250, (await Trickle("EHLO slow.test.example\r\n")).Code);
        Assert.Equal(250, (await Trickle("MAIL FROM:<slow@example.org> SIZE=40\r\n")).Code);
        Assert.Equal(250, (await Trickle("RCPT TO:<cpr@ca.test.example>\r\n")).Code);
        Assert.Equal(354, (await Trickle("DATA\r\n")).Code);
        Assert.Equal(250, (await Trickle(body)).Code);
        Assert.Equal(221, (await Trickle("QUIT\r\n")).Code);

        var message = Assert.Single(server.Store.Saved);
        Assert.Equal("Subject: trickle\r\n\r\n.dot\r\n", Encoding.ASCII.GetString(message.Bytes));
        Assert.Equal(40, message.DeclaredSize);
        Assert.Equal("slow.test.example", message.Session.HeloName);
    }

    [Fact]
    public async Task Pipelined_commands_in_one_write_get_their_replies_in_order()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        await client.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<cpr@ca.test.example>\r\nRCPT TO:<nobody@ca.test.example>\r\nRCPT TO:<abuse@ca.test.example>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(550, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        // The end of the data, a whole second transaction and QUIT in one write.
        await client.WriteAsync("one\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<cpr@ca.test.example>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        await client.WriteAsync("two\r\n.\r\nQUIT\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(221, (await client.ReadReplyAsync()).Code);

        var messages = server.Store.Saved.ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal(["cpr@ca.test.example", "abuse@ca.test.example"], messages[0].Recipients);
        Assert.Equal("one\r\n", Encoding.ASCII.GetString(messages[0].Bytes));
        Assert.Equal("", messages[1].MailFrom);
        Assert.Equal("two\r\n", Encoding.ASCII.GetString(messages[1].Bytes));
    }

    [Fact]
    public async Task Bare_newlines_are_data_and_only_crlf_dot_crlf_ends_the_message()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        // "\n.\n" and "\r.\r" would end the message on a lax server: here they are content (no smuggling).
        const string data = "Subject: lf\n\nline one\nline two\n.\nMAIL FROM:<evil@example.org>\r.\rstill data\r\n";
        await SendMessageAsync(client, data);
        var message = Assert.Single(server.Store.Saved);
        Assert.Equal(data, Encoding.ASCII.GetString(message.Bytes));
    }

    [Fact]
    public async Task Empty_message_is_stored_as_zero_bytes()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        await SendMessageAsync(client, "");
        var message = Assert.Single(server.Store.Saved);
        Assert.Equal(0, message.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData([])), message.Sha256);
    }

    [Fact]
    public async Task Too_many_recipients_get_452()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxRecipients = 2);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<one@ca.test.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<two@ca.test.example>")).Code);
        Assert.Equal("452 4.5.3 too many recipients", (await client.CommandAsync("RCPT TO:<three@ca.test.example>")).Lines[0]);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<one@ca.test.example>")).Code); // a duplicate is not a new one
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.WriteAsync("x\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(["one@ca.test.example", "two@ca.test.example"], Assert.Single(server.Store.Saved).Recipients);
    }

    [Fact]
    public async Task Large_message_is_spooled_to_an_owner_only_file_that_is_gone_after_the_reply()
    {
        var spool = Directory.CreateTempSubdirectory("cprdesk-smtp-spool-").FullName;
        try
        {
            var store = new RecordingStore();
            string[] filesDuringSave = [];
            var modeDuringSave = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            store.OnSave = (_, _) =>
            {
                filesDuringSave = Directory.GetFiles(spool);
                modeDuringSave = OperatingSystem.IsWindows() ? modeDuringSave : File.GetUnixFileMode(filesDuringSave[0]);
                return Task.FromResult<SmtpReply?>(null);
            };
            await using var server = await TestServer.StartAsync(o => { o.MemoryThresholdBytes = 1024; o.SpoolDirectory = spool; }, store);
            await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

            var body = new StringBuilder("Subject: big\r\n\r\n");
            for (var i = 0; i < 3000; i++)
            {
                body.Append(i % 10 == 0 ? ".." : "").Append("line ").Append(i).Append(" of a long message\r\n");
            }
            var wire = body.ToString();
            await SendMessageAsync(client, wire);

            Assert.Single(filesDuringSave);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, modeDuringSave);
            Assert.Empty(Directory.GetFiles(spool));
            var expected = Encoding.ASCII.GetBytes(wire.Replace("\r\n..", "\r\n."));
            var message = Assert.Single(store.Saved);
            Assert.Equal(expected, message.Bytes);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), message.Sha256);
        }
        finally
        {
            Directory.Delete(spool, recursive: true);
        }
    }

    [Fact]
    public async Task Starttls_resets_the_session_and_cannot_be_repeated()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal("220 2.0.0 ready to start TLS", (await client.CommandAsync("STARTTLS")).Lines[0]);
        var tls = await client.StartTlsAsync();
        Assert.True(tls.IsAuthenticated);
        Assert.Equal("mx.test.example", tls.RemoteCertificate!.Subject[3..]);

        // RFC 3207 §4.2: everything before TLS is forgotten, the client must EHLO again.
        Assert.Equal(503, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        var ehlo = await client.CommandAsync("EHLO client.test.example");
        Assert.DoesNotContain(ehlo.Lines, l => l.EndsWith("STARTTLS", StringComparison.Ordinal));
        Assert.Equal("503 5.5.1 TLS already active", (await client.CommandAsync("STARTTLS")).Lines[0]);
        await SendMessageAsync(client, "Subject: secure\r\n\r\nok\r\n");
        Assert.True(Assert.Single(server.Store.Saved).Session.Secure);
    }

    [Fact]
    public async Task Starttls_without_a_certificate_is_not_offered()
    {
        await using var server = await TestServer.StartAsync(o => o.Certificate = null);
        await using var client = await RawSmtpClient.ConnectAsync(server.Port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        var ehlo = await client.CommandAsync("EHLO client.test.example");
        Assert.Equal(["250-mx.test.example Hello [127.0.0.1]", "250-PIPELINING", "250-SIZE 52428800", "250-8BITMIME", "250 ENHANCEDSTATUSCODES"], ehlo.Lines);
        Assert.Equal(502, (await client.CommandAsync("STARTTLS")).Code);
    }
}
