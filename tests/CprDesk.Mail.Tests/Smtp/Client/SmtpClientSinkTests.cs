// SmtpClient against a real SMTP server (the Python sink): exact bytes, envelopes, per-recipient replies, TLS, AUTH.
using System.Text;
using CprDesk.Mail.Outgoing;
using CprDesk.Mail.Smtp;

namespace CprDesk.Mail.Tests.Smtp.Client;

public sealed class SmtpClientSinkTests
{
    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    /// <summary>A message from our own writer whose 7bit body has lines that need dot-stuffing.</summary>
    private static byte[] WrittenMessage() => MessageWriter.Write(new OutgoingMessage
    {
        From = new OutgoingAddress("CPR Desk", "cpr@ca.example"),
        To = [new OutgoingAddress("Reporter", "good@example.org")],
        Subject = "Acknowledgement of CPR-2026-000042",
        TextBody = "We received your report.\n.\n..\n.hidden line\n. \nend\n",
        MessageId = "cpr-2026-000042.ack.1a2b@cprdesk.example",
        Date = new DateTimeOffset(2026, 2, 3, 9, 5, 7, TimeSpan.Zero),
        Attachments = [new OutgoingAttachment("evidence.bin", "application/octet-stream", Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray())],
    });

    [Fact]
    public async Task Delivers_exactly_the_bytes_given_with_dot_stuffing_undone_by_the_server()
    {
        await using var sink = await SmtpSink.StartAsync();
        var message = WrittenMessage();
        Assert.Contains("\r\n..\r\n", Encoding.ASCII.GetString(message));

        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org", "other@example.org"], message);

        Assert.True(result.Delivered, result.Reply);
        Assert.False(result.Permanent);
        Assert.Equal(250, result.Code);
        Assert.Equal("250 2.0.0 Ok: queued as 1234", result.Reply);
        Assert.Equal(["good@example.org", "other@example.org"], result.Recipients.Select(r => r.Recipient));
        Assert.All(result.Recipients, r => Assert.Equal((true, 250, "250 2.1.5 Ok"), (r.Accepted, r.Code, r.Reply)));

        var session = await sink.NextSessionAsync();
        Assert.Null(session.Error);
        var transaction = Assert.Single(session.Transactions);
        Assert.Equal("cpr@ca.example", transaction.MailFrom);
        Assert.Equal(["good@example.org", "other@example.org"], transaction.Recipients);
        Assert.Equal($"SIZE={message.Length}", transaction.Parameters);
        Assert.False(transaction.BareLineEnds);
        Assert.Equal(message, transaction.Data);
        Assert.Equal(["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"], session.Verbs);
        Assert.Equal("EHLO client.test", session.Commands[0]);
    }

    [Fact]
    public async Task Lines_of_dots_and_a_missing_final_line_break_survive()
    {
        await using var sink = await SmtpSink.StartAsync();
        var message = Ascii("Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.x\r\nx.\r\n.");

        var result = await SmtpClient.SendAsync(sink.Relay(), "", ["good@example.org"], message);

        Assert.True(result.Delivered, result.Reply);
        var session = await sink.NextSessionAsync();
        var transaction = Assert.Single(session.Transactions);
        // The terminator is CRLF "." CRLF, so a message that does not end with CRLF gets one (RFC 5321 §4.1.1.4).
        Assert.Equal(message.Concat("\r\n"u8.ToArray()), transaction.Data);
        Assert.Equal("", transaction.MailFrom);
        Assert.StartsWith("MAIL FROM:<> ", session.Commands[1]);
    }

    [Fact]
    public async Task Bare_CR_and_LF_go_on_the_wire_as_CRLF()
    {
        await using var sink = await SmtpSink.StartAsync();
        var result = await SmtpClient.SendAsync(sink.Relay(), "a@example.org", ["good@example.org"], Ascii("Subject: x\n\nline\rnext\n.\n"));
        Assert.True(result.Delivered, result.Reply);
        var transaction = Assert.Single((await sink.NextSessionAsync()).Transactions);
        Assert.False(transaction.BareLineEnds);
        Assert.Equal(Ascii("Subject: x\r\n\r\nline\r\nnext\r\n.\r\n"), transaction.Data);
    }

    [Fact]
    public async Task Eight_bit_messages_declare_BODY_8BITMIME_when_the_server_offers_it()
    {
        await using var sink = await SmtpSink.StartAsync();
        var message = Encoding.UTF8.GetBytes("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße, 証明書\r\n");
        var result = await SmtpClient.SendAsync(sink.Relay(), "a@example.org", ["good@example.org"], message);
        Assert.True(result.Delivered, result.Reply);
        var transaction = Assert.Single((await sink.NextSessionAsync()).Transactions);
        Assert.Equal($"SIZE={message.Length} BODY=8BITMIME", transaction.Parameters);
        Assert.Equal(message, transaction.Data);
    }

    [Fact]
    public async Task Eight_bit_messages_are_not_sent_to_a_server_without_8BITMIME()
    {
        await using var sink = await SmtpSink.StartAsync("--no-8bitmime");
        var result = await SmtpClient.SendAsync(sink.Relay(), "a@example.org", ["good@example.org"], Encoding.UTF8.GetBytes("Subject: x\r\n\r\nGrüße\r\n"));
        Assert.False(result.Delivered);
        Assert.True(result.Permanent);
        Assert.Equal(0, result.Code);
        Assert.Contains("8BITMIME", result.Reply);
        Assert.Equal(["EHLO", "QUIT"], (await sink.NextSessionAsync()).Verbs);
    }

    [Fact]
    public async Task Each_recipient_gets_its_own_reply_and_the_message_goes_to_those_accepted()
    {
        await using var sink = await SmtpSink.StartAsync(
            "--rcpt", "bad@example.org=550 5.1.1 <bad@example.org>: Recipient address rejected|5.1.1 see https://sink.test/550",
            "--rcpt", "later@example.org=451 4.2.0 <later@example.org>: mailbox busy, try later");
        var message = WrittenMessage();

        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org", "bad@example.org", "later@example.org"], message);

        Assert.True(result.Delivered, result.Reply);
        Assert.False(result.Permanent);
        Assert.Equal(250, result.Code);
        Assert.Equal(
            [
                new SmtpRecipientResult("good@example.org", true, 250, "250 2.1.5 Ok"),
                new SmtpRecipientResult("bad@example.org", false, 550,
                    "550-5.1.1 <bad@example.org>: Recipient address rejected\n550 5.1.1 see https://sink.test/550"),
                new SmtpRecipientResult("later@example.org", false, 451, "451 4.2.0 <later@example.org>: mailbox busy, try later"),
            ],
            result.Recipients);
        var transaction = Assert.Single((await sink.NextSessionAsync()).Transactions);
        Assert.Equal(["good@example.org"], transaction.Recipients);
        Assert.Equal(message, transaction.Data);
    }

    [Fact]
    public async Task When_no_recipient_is_accepted_there_is_no_DATA_and_a_temporary_refusal_decides()
    {
        await using var sink = await SmtpSink.StartAsync(
            "--rcpt", "bad@example.org=550 5.1.1 no such user",
            "--rcpt", "later@example.org=451 4.2.0 try later");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["bad@example.org", "later@example.org"], WrittenMessage());
        Assert.False(result.Delivered);
        Assert.False(result.Permanent);
        Assert.Equal((451, "451 4.2.0 try later"), (result.Code, result.Reply));
        Assert.Equal(["EHLO", "MAIL", "RCPT", "RCPT", "QUIT"], (await sink.NextSessionAsync()).Verbs);
    }

    [Fact]
    public async Task When_every_recipient_is_refused_permanently_the_result_is_permanent()
    {
        await using var sink = await SmtpSink.StartAsync("--rcpt", "bad@example.org=550 5.1.1 no such user");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["bad@example.org"], WrittenMessage());
        Assert.Equal((false, true, 550, "550 5.1.1 no such user"), (result.Delivered, result.Permanent, result.Code, result.Reply));
    }

    [Fact]
    public async Task A_451_to_MAIL_FROM_is_temporary()
    {
        await using var sink = await SmtpSink.StartAsync("--mail-reply", "451 4.3.0 Temporary lookup failure");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, false, 451, "451 4.3.0 Temporary lookup failure"), (result.Delivered, result.Permanent, result.Code, result.Reply));
        // Under PIPELINING the RCPT went out with MAIL; its own reply is kept.
        Assert.Equal((false, 503), (result.Recipients[0].Accepted, result.Recipients[0].Code));
        Assert.Empty((await sink.NextSessionAsync()).Transactions);
    }

    [Fact]
    public async Task A_5xx_after_the_data_is_permanent()
    {
        await using var sink = await SmtpSink.StartAsync("--final-reply", "554 5.7.1 Message rejected as spam");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, true, 554, "554 5.7.1 Message rejected as spam"), (result.Delivered, result.Permanent, result.Code, result.Reply));
        Assert.True(result.Recipients[0].Accepted);
    }

    [Fact]
    public async Task A_5xx_to_the_DATA_command_is_permanent_and_sends_nothing_more()
    {
        await using var sink = await SmtpSink.StartAsync("--data-reply", "554 5.5.1 No thanks");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, true, 554), (result.Delivered, result.Permanent, result.Code));
        var session = await sink.NextSessionAsync();
        Assert.Equal(["EHLO", "MAIL", "RCPT", "DATA", "QUIT"], session.Verbs);
    }

    [Fact]
    public async Task STARTTLS_then_AUTH_PLAIN_then_the_message()
    {
        await using var sink = await SmtpSink.StartAsync([.. TestCertificate.SinkArgs, "--starttls", "--auth", "cprdesk:s3cret pässwörd"]);
        var message = WrittenMessage();
        var result = await SmtpClient.SendAsync(
            sink.Relay(SmtpTlsMode.StartTlsRequired, "cprdesk", "s3cret pässwörd"), "cpr@ca.example", ["good@example.org"], message);

        Assert.True(result.Delivered, result.Reply);
        var session = await sink.NextSessionAsync();
        Assert.Null(session.Error);
        Assert.True(session.Tls);
        Assert.Equal(("cprdesk", "PLAIN"), (session.AuthUser, session.AuthMechanism));
        Assert.Equal(["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"], session.Verbs);
        Assert.Equal(message, Assert.Single(session.Transactions).Data);
    }

    [Fact]
    public async Task AUTH_LOGIN_when_it_is_all_the_server_offers()
    {
        await using var sink = await SmtpSink.StartAsync([.. TestCertificate.SinkArgs, "--starttls", "--auth", "u:p", "--auth-mechanisms", "LOGIN"]);
        var result = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.StartTlsWhenAvailable, "u", "p"), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.True(result.Delivered, result.Reply);
        var session = await sink.NextSessionAsync();
        Assert.Equal(("u", "LOGIN", true), (session.AuthUser, session.AuthMechanism, session.Tls));
    }

    [Fact]
    public async Task Wrong_credentials_are_a_permanent_failure_and_no_mail_is_sent()
    {
        await using var sink = await SmtpSink.StartAsync([.. TestCertificate.SinkArgs, "--starttls", "--auth", "u:right"]);
        var result = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.StartTlsRequired, "u", "wrong"), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, true, 535), (result.Delivered, result.Permanent, result.Code));
        Assert.Equal(["EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"], (await sink.NextSessionAsync()).Verbs);
    }

    [Fact]
    public async Task Credentials_never_go_over_plain_text_unless_allowed()
    {
        await using var sink = await SmtpSink.StartAsync("--auth", "u:p");
        var refused = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.StartTlsWhenAvailable, "u", "p"), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, false, 0), (refused.Delivered, refused.Permanent, refused.Code));
        Assert.Contains("unencrypted", refused.Reply);
        Assert.Equal(["EHLO", "QUIT"], (await sink.NextSessionAsync()).Verbs);

        var allowed = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.None, "u", "p", allowAuthWithoutTls: true), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.True(allowed.Delivered, allowed.Reply);
        var session = await sink.NextSessionAsync();
        Assert.Equal(("u", false), (session.AuthUser, session.Tls));
    }

    [Fact]
    public async Task StartTlsRequired_sends_nothing_to_a_server_without_STARTTLS()
    {
        await using var sink = await SmtpSink.StartAsync();
        var result = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.StartTlsRequired), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.Contains("STARTTLS", result.Reply);
        Assert.All(result.Recipients, r => Assert.Equal((false, 0), (r.Accepted, r.Code)));
        Assert.Equal(["EHLO", "QUIT"], (await sink.NextSessionAsync()).Verbs);
    }

    [Fact]
    public async Task StartTlsWhenAvailable_goes_on_in_plain_text_without_STARTTLS()
    {
        await using var sink = await SmtpSink.StartAsync();
        var result = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.StartTlsWhenAvailable), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.True(result.Delivered, result.Reply);
        Assert.False((await sink.NextSessionAsync()).Tls);
    }

    [Fact]
    public async Task An_untrusted_certificate_ends_the_session_before_anything_is_sent()
    {
        await using var sink = await SmtpSink.StartAsync([.. TestCertificate.SinkArgs, "--starttls"]);
        var result = await SmtpClient.SendAsync(
            sink.Relay(SmtpTlsMode.StartTlsWhenAvailable, acceptAnyCertificate: false), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, false, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.Contains("TLS handshake", result.Reply);
        Assert.Contains("certificate", result.Reply, StringComparison.OrdinalIgnoreCase);
        // Under TLS 1.3 the server's side of the handshake may complete before the client rejects the certificate,
        // so the sink sees either an error or a plain close; either way, nothing after STARTTLS.
        Assert.Equal(["EHLO", "STARTTLS"], (await sink.NextSessionAsync()).Verbs);
    }

    [Fact]
    public async Task Implicit_TLS_from_the_first_byte()
    {
        await using var sink = await SmtpSink.StartAsync([.. TestCertificate.SinkArgs, "--implicit-tls"]);
        var message = WrittenMessage();
        var result = await SmtpClient.SendAsync(sink.Relay(SmtpTlsMode.Implicit), "cpr@ca.example", ["good@example.org"], message);
        Assert.True(result.Delivered, result.Reply);
        var session = await sink.NextSessionAsync();
        Assert.True(session.Tls);
        Assert.Equal(message, Assert.Single(session.Transactions).Data);
    }

    [Fact]
    public async Task HELO_when_EHLO_is_refused_and_then_no_extensions()
    {
        await using var sink = await SmtpSink.StartAsync("--reject-ehlo");
        var message = WrittenMessage();
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org"], message);
        Assert.True(result.Delivered, result.Reply);
        var session = await sink.NextSessionAsync();
        Assert.Equal(["EHLO", "HELO", "MAIL", "RCPT", "DATA", "QUIT"], session.Verbs);
        Assert.Equal("HELO client.test", session.Commands[1]);
        var transaction = Assert.Single(session.Transactions);
        Assert.Equal("", transaction.Parameters);
        Assert.Equal(message, transaction.Data);
    }

    [Fact]
    public async Task Without_PIPELINING_commands_go_one_at_a_time_and_still_work()
    {
        await using var sink = await SmtpSink.StartAsync("--no-pipelining", "--rcpt", "bad@example.org=550 5.1.1 no");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["bad@example.org", "good@example.org"], WrittenMessage());
        Assert.True(result.Delivered, result.Reply);
        Assert.Equal([false, true], result.Recipients.Select(r => r.Accepted));
    }

    [Fact]
    public async Task Hundreds_of_recipients_go_in_pipelined_groups()
    {
        await using var sink = await SmtpSink.StartAsync("--rcpt", "r137@example.org=550 5.1.1 no");
        var recipients = Enumerable.Range(0, 250).Select(i => $"r{i}@example.org").ToList();
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", recipients, WrittenMessage());
        Assert.True(result.Delivered, result.Reply);
        Assert.Equal(recipients, result.Recipients.Select(r => r.Recipient));
        Assert.Equal([137], result.Recipients.Select((r, i) => (r, i)).Where(x => !x.r.Accepted).Select(x => x.i));
        Assert.Equal(249, Assert.Single((await sink.NextSessionAsync()).Transactions).Recipients.Count);
    }

    [Fact]
    public async Task A_message_over_the_advertised_SIZE_is_not_sent()
    {
        await using var sink = await SmtpSink.StartAsync("--size", "1000");
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org"], WrittenMessage());
        Assert.Equal((false, true, 0), (result.Delivered, result.Permanent, result.Code));
        Assert.Contains("1000", result.Reply);
        Assert.Equal(["EHLO", "QUIT"], (await sink.NextSessionAsync()).Verbs);
    }

    [Fact]
    public async Task A_large_message_arrives_whole()
    {
        await using var sink = await SmtpSink.StartAsync();
        var random = new Random(7);
        var content = new byte[3 * 1024 * 1024];
        random.NextBytes(content);
        var message = MessageWriter.Write(new OutgoingMessage
        {
            From = new(null, "cpr@ca.example"), To = [new(null, "good@example.org")], Subject = "big", TextBody = "see attachment",
            MessageId = "big@cprdesk.example", Attachments = [new("big.bin", "application/octet-stream", content)],
        });
        var result = await SmtpClient.SendAsync(sink.Relay(), "cpr@ca.example", ["good@example.org"], message);
        Assert.True(result.Delivered, result.Reply);
        Assert.Equal(message, Assert.Single((await sink.NextSessionAsync()).Transactions).Data);
    }
}
