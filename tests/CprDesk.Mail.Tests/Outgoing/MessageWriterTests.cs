// MessageWriter output read back by Python's email package, plus the writer's own rules (limits, refusals).
using System.Text;
using CprDesk.Mail.Outgoing;

namespace CprDesk.Mail.Tests.Outgoing;

public sealed class MessageWriterTests
{
    private static readonly DateTimeOffset When = new(2026, 2, 3, 9, 5, 7, TimeSpan.FromHours(1));

    private static OutgoingMessage Minimal(string subject = "Hello", string body = "Hi.\n") => new()
    {
        From = new OutgoingAddress("CprDesk", "cpr@ca.example"),
        To = [new OutgoingAddress(null, "reporter@example.org")],
        Subject = subject,
        TextBody = body,
        MessageId = "cpr-2026-000042.ack.1a2b@cprdesk.example",
        Date = When,
    };

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static string? Normalize(string? text) => text?.Replace("\r\n", "\n");

    [Fact]
    public async Task A_full_message_reads_back_the_same_in_python()
    {
        var pdf = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7 + i / 256)).ToArray();
        var csv = Encoding.UTF8.GetBytes("serial,reason\n0a1b,keyCompromise\n");
        var body = "Dear reporter,\n\nWe received your Certificate Problem Report for the certificate with serial 0A:1B.\n"
                   + "Wir prüfen die Angelegenheit — 証明書の問題報告を受け付けました. 🔐\n"
                   + new string('x', 1200) + "\n"
                   + ".a line starting with a dot\n"
                   + "trailing space \n"
                   + "From the CA\n";
        var message = new OutgoingMessage
        {
            From = new OutgoingAddress("Zertifizierungsstelle Müller & Söhne", "cpr@ca.example"),
            To = [new OutgoingAddress("Doe, Jane \"JD\"", "jane.doe@example.org"), new OutgoingAddress("山田 太郎", "\"taro yamada\"@example.jp")],
            Cc = [new OutgoingAddress(null, "audit@ca.example"), new OutgoingAddress("Ops Team", "ops@ca.example")],
            ReplyTo = new OutgoingAddress("CPR Desk", "cpr+CPR-2026-000042@ca.example"),
            Subject = "Re: [CPR-2026-000042] Revocation request für *.example.org — ключ скомпрометирован 🔑",
            TextBody = body,
            MessageId = "cpr-2026-000042.ack.1a2b@cprdesk.example",
            InReplyTo = "CAF=abc+def.123@mail.example.org",
            References = ["first.1@mail.example.org", "CAF=abc+def.123@mail.example.org", "another-quite-long-message-identifier.2026@relay.example.net"],
            Date = new DateTimeOffset(2026, 2, 3, 14, 35, 0, TimeSpan.FromMinutes(330)),
            ExtraHeaders =
            [
                new("Auto-Submitted", "auto-replied"),
                new("X-CPR-Ticket", "CPR-2026-000042"),
                new("X-CprDesk-Loop", "ack; ticket=CPR-2026-000042"),
                new("X-Note", "Überprüfung läuft"),
            ],
            Attachments =
            [
                new OutgoingAttachment("evidence.pdf", "application/pdf", pdf),
                new OutgoingAttachment("Prüfbericht für den sehr langen Dateinamen des Zertifikatsproblemberichts 2026.csv", "text/csv; charset=utf-8", csv),
                new OutgoingAttachment("empty.bin", "application/octet-stream", []),
            ],
        };

        var bytes = MessageWriter.Write(message);
        MessageShape.Check(bytes);
        var parsed = await PythonEmailReader.ReadAsync(bytes);

        Assert.Empty(parsed.Defects);
        Assert.Equal(message.Subject, parsed.Subject);
        Assert.Equal([new ParsedAddress(message.From.DisplayName!, message.From.Address)], parsed.From);
        Assert.Equal([new ParsedAddress("Doe, Jane \"JD\"", "jane.doe@example.org"), new ParsedAddress("山田 太郎", "\"taro yamada\"@example.jp")], parsed.To);
        Assert.Equal([new ParsedAddress("", "audit@ca.example"), new ParsedAddress("Ops Team", "ops@ca.example")], parsed.Cc!);
        Assert.Equal([new ParsedAddress("CPR Desk", "cpr+CPR-2026-000042@ca.example")], parsed.ReplyTo!);
        Assert.Equal(message.MessageId, parsed.MessageId);
        Assert.Equal(message.InReplyTo, parsed.InReplyTo);
        Assert.Equal(message.References, parsed.References);
        Assert.Equal(message.Date, parsed.Date);
        Assert.Equal(message.Date.Offset, parsed.Date.Offset);
        Assert.Equal(Normalize(body), Normalize(parsed.Body));
        Assert.Equal("quoted-printable", parsed.BodyTransferEncoding);
        Assert.Equal("auto-replied", parsed.Extra["Auto-Submitted"]);
        Assert.Equal("CPR-2026-000042", parsed.Extra["X-CPR-Ticket"]);
        Assert.Equal("ack; ticket=CPR-2026-000042", parsed.Extra["X-CprDesk-Loop"]);
        Assert.Equal("Überprüfung läuft", parsed.Extra["X-Note"]);
        Assert.Equal(3, parsed.Attachments.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(message.Attachments[i].FileName, parsed.Attachments[i].FileName);
            Assert.Equal(message.Attachments[i].ContentType.Split(';')[0], parsed.Attachments[i].ContentType);
            Assert.Equal(message.Attachments[i].Content, parsed.Attachments[i].Content);
        }
    }

    [Fact]
    public async Task A_plain_ascii_message_is_a_single_7bit_part_exactly_as_expected()
    {
        var bytes = MessageWriter.Write(Minimal(body: "Line one\nLine two"));
        Assert.Equal(
            "Date: Tue, 03 Feb 2026 09:05:07 +0100\r\n" +
            "From: CprDesk <cpr@ca.example>\r\n" +
            "To: reporter@example.org\r\n" +
            "Message-ID: <cpr-2026-000042.ack.1a2b@cprdesk.example>\r\n" +
            "Subject: Hello\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 7bit\r\n" +
            "\r\n" +
            "Line one\r\nLine two\r\n",
            Text(bytes));
        var parsed = await PythonEmailReader.ReadAsync(bytes);
        Assert.Empty(parsed.Defects);
        Assert.Equal("Line one\nLine two\n", Normalize(parsed.Body));
    }

    [Fact]
    public void Output_is_deterministic()
    {
        var withAttachment = Copy(Minimal(), attachments: [new OutgoingAttachment("a.txt", "text/plain", [65, 66])]);
        Assert.Equal(MessageWriter.Write(withAttachment), MessageWriter.Write(withAttachment));
    }

    [Theory]
    [InlineData(0, "+0000")]
    [InlineData(-210, "-0330")]
    [InlineData(345, "+0545")]
    public void Dates_carry_their_own_offset(int minutes, string zone)
    {
        var date = new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.FromMinutes(minutes));
        var text = Text(MessageWriter.Write(new OutgoingMessage
        {
            From = new(null, "a@b.example"), To = [new(null, "c@d.example")], Subject = "", TextBody = "", MessageId = "x@y", Date = date,
        }));
        Assert.Contains($"\r\nDate: Thu, 31 Dec 2026 23:59:59 {zone}\r\n", "\r\n" + text);
    }

    [Theory]
    [InlineData("Plain ASCII text.\nSecond line.", "7bit")]
    [InlineData("Grüße", "quoted-printable")]
    [InlineData("tab\tand trailing space \nok", "7bit")]
    public void Body_encoding_follows_content(string body, string expected)
    {
        var text = Text(MessageWriter.Write(Minimal(body: body)));
        Assert.Contains($"Content-Transfer-Encoding: {expected}\r\n", text);
    }

    [Fact]
    public async Task Long_ascii_lines_go_quoted_printable_and_come_back_whole()
    {
        var longLine = string.Concat(Enumerable.Range(0, 300).Select(i => $"w{i} ")) + "end";
        var bytes = MessageWriter.Write(Minimal(body: longLine + "\n\nshort\n"));
        Assert.Contains("Content-Transfer-Encoding: quoted-printable", Text(bytes));
        var bodyLines = Text(bytes).Split("\r\n\r\n", 2)[1].Split("\r\n");
        Assert.All(bodyLines, l => Assert.True(l.Length <= 76, $"QP line of {l.Length}"));
        var parsed = await PythonEmailReader.ReadAsync(bytes);
        Assert.Equal(longLine + "\n\nshort\n", Normalize(parsed.Body));
    }

    public static TheoryData<string, string, string> Extremes => new()
    {
        { "one ASCII word longer than a line may be", new string('x', 2500), "Name" },
        { "many words", string.Join(' ', Enumerable.Range(0, 1500).Select(i => $"w{i}")), "Name" },
        { "an ASCII name too long to quote", "s", string.Join(", ", Enumerable.Range(0, 120).Select(i => $"Person {i}")) },
        { "a long CJK name", "s", string.Concat(Enumerable.Repeat("証明書問題報告", 80)) },
        { "one grapheme of 300 combining marks", "a" + new string('\u0301', 300), "e" + new string('\u0308', 300) },
        { "whitespace only", "   \t ", " " },
        { "empty", "", "" },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public async Task Extreme_lengths_keep_every_line_within_998_and_read_back(string what, string subject, string name)
    {
        var message = Copy(Minimal(subject: subject), from: new(name, "cpr@ca.example"), extra: [new("X-Long", subject)]);
        var bytes = MessageWriter.Write(message);
        MessageShape.Check(bytes);
        var parsed = await PythonEmailReader.ReadAsync(bytes);
        Assert.True(parsed.Defects.Count == 0, what + ": " + string.Join("; ", parsed.Defects));
        Assert.Equal(subject, parsed.Subject);
        Assert.Equal(subject, parsed.Extra["X-Long"]);
        Assert.Equal(name, parsed.From.Single().Name);
    }

    [Fact]
    public void Every_line_break_in_the_body_becomes_CRLF()
    {
        var text = Text(MessageWriter.Write(Minimal(body: "a\nb\rc\r\nd")));
        Assert.EndsWith("\r\n\r\na\r\nb\r\nc\r\nd\r\n", text);
    }

    [Fact]
    public void Headers_fold_at_78_or_less_when_they_can()
    {
        var many = Enumerable.Range(0, 20).Select(i => new OutgoingAddress($"Person Number {i}", $"person{i}@example.org")).ToList();
        var message = new OutgoingMessage
        {
            From = new("CprDesk", "cpr@ca.example"), To = many, Subject = string.Join(' ', Enumerable.Repeat("word", 60)),
            TextBody = "", MessageId = "x@y", Date = When,
        };
        var headers = MessageShape.Check(MessageWriter.Write(message));
        Assert.All(headers, l => Assert.True(l.Length <= 78, l));
        Assert.True(headers.Count > 20);
    }

    public static TheoryData<string, Func<OutgoingMessage, OutgoingMessage>> Injections => new()
    {
        { "Subject", m => Copy(m, subject: "Hi\r\nBcc: victim@example.org") },
        { "Subject", m => Copy(m, subject: "Hi\nX: y") },
        { "Subject", m => Copy(m, subject: "Hi\r") },
        { "From.DisplayName", m => Copy(m, from: new("Eve\r\nBcc: x@y.example", "cpr@ca.example")) },
        { "From.Address", m => Copy(m, from: new(null, "cpr@ca.example\r\nBcc: x@y.example")) },
        { "To[1].Address", m => Copy(m, to: [m.To[0], new(null, "b@example.org\nX: y")]) },
        { "To[0].DisplayName", m => Copy(m, to: [new("a\rb", "a@example.org")]) },
        { "Cc[0].Address", m => Copy(m, cc: [new(null, "\r\n@example.org")]) },
        { "ReplyTo.Address", m => Copy(m, replyTo: new(null, "r@example.org\r\n")) },
        { "MessageId", m => Copy(m, messageId: "a@b\r\nX: y") },
        { "InReplyTo", m => Copy(m, inReplyTo: "a@b\r\nX: y") },
        { "References[1]", m => Copy(m, references: ["a@b", "c@d\nX: y"]) },
        { "ExtraHeaders[0]", m => Copy(m, extra: [new("X-A\r\nBcc", "v")]) },
        { "ExtraHeaders[0] (X-A)", m => Copy(m, extra: [new("X-A", "v\r\nBcc: x@y.example")]) },
        { "Attachments[0].FileName", m => Copy(m, attachments: [new("a\r\n.txt", "text/plain", [])]) },
        { "Attachments[0].ContentType", m => Copy(m, attachments: [new("a.txt", "text/plain\r\nX: y", [])]) },
    };

    [Theory]
    [MemberData(nameof(Injections))]
    public void CR_or_LF_in_any_header_value_is_refused_naming_the_field(string field, Func<OutgoingMessage, OutgoingMessage> change)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(change(Minimal())));
        Assert.Equal(field, e.ParamName);
        Assert.Contains(field, e.Message);
    }

    [Theory]
    [InlineData("Subject", "bell\u0007")]
    [InlineData("Subject", "nul\0")]
    [InlineData("Subject", "del\u007f")]
    public void Control_characters_in_header_text_are_refused(string field, string subject)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Minimal(subject: subject)));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Unpaired_surrogates_are_refused_rather_than_replaced()
    {
        // Built at run time: theory data would be serialized, and a lone surrogate does not survive that.
        var lone = "lone " + (char)0xD800 + " surrogate";
        Assert.Equal("Subject", Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Minimal(subject: lone))).ParamName);
        Assert.Equal("To[0].DisplayName", Assert.ThrowsAny<ArgumentException>(() =>
            MessageWriter.Write(Copy(Minimal(), to: [new(lone, "a@example.org")]))).ParamName);
        Assert.Equal("TextBody", Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Minimal(body: lone))).ParamName);
    }

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("two words@example.org")]
    [InlineData("a..b@example.org")]
    [InlineData(".a@example.org")]
    [InlineData("a@b@example.org")]
    [InlineData("@example.org")]
    [InlineData("a@")]
    [InlineData("a@-example.org")]
    [InlineData("a@exa_mple.org")]
    [InlineData("a@example..org")]
    [InlineData("jürgen@example.org")]
    [InlineData("a@bücher.example")]
    [InlineData("\"unterminated@example.org")]
    [InlineData("<a@example.org>")]
    [InlineData("a@[300.1.1.1]")]
    [InlineData("")]
    public void Malformed_addresses_are_refused(string address)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Copy(Minimal(), to: [new(null, address)])));
        Assert.Equal("To[0].Address", e.ParamName);
    }

    [Theory]
    [InlineData("a.b+tag@sub.example.org")]
    [InlineData("\"john doe\"@example.org")]
    [InlineData("\"a@b\\\"c\"@example.org")]
    [InlineData("x@[192.0.2.1]")]
    [InlineData("x@[IPv6:2001:db8::1]")]
    [InlineData("root@localhost")]
    [InlineData("o'brien@example.ie")]
    public async Task Valid_addresses_are_written_as_given(string address)
    {
        var bytes = MessageWriter.Write(Copy(Minimal(), to: [new("Name", address)]));
        var parsed = await PythonEmailReader.ReadAsync(bytes);
        Assert.Equal(address, parsed.To.Single().Address);
    }

    [Theory]
    [InlineData("Subject")]
    [InlineData("content-type")]
    [InlineData("Content-Disposition")]
    [InlineData("Bcc")]
    [InlineData("MIME-Version")]
    public void Extra_headers_may_not_replace_the_writers_own(string name)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Copy(Minimal(), extra: [new(name, "x")])));
        Assert.Equal("ExtraHeaders[0]", e.ParamName);
    }

    [Theory]
    [InlineData("pdf")]
    [InlineData("application/")]
    [InlineData("multipart/mixed")]
    [InlineData("message/rfc822")]
    [InlineData("text/plain; charset")]
    public void Attachment_content_types_must_be_simple_media_types(string contentType)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Copy(Minimal(), attachments: [new("a", contentType, [1])])));
        Assert.Equal("Attachments[0].ContentType", e.ParamName);
    }

    [Theory]
    [InlineData("<id@example>")]
    [InlineData("no-at-sign")]
    [InlineData("two words@example")]
    [InlineData("")]
    public void Our_message_id_must_be_left_at_right_without_brackets(string id)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MessageWriter.Write(Copy(Minimal(), messageId: id)));
        Assert.Equal("MessageId", e.ParamName);
    }

    private static OutgoingMessage Copy(
        OutgoingMessage m, string? subject = null, OutgoingAddress? from = null, IReadOnlyList<OutgoingAddress>? to = null,
        IReadOnlyList<OutgoingAddress>? cc = null, OutgoingAddress? replyTo = null, string? messageId = null, string? inReplyTo = null,
        IReadOnlyList<string>? references = null, IReadOnlyList<KeyValuePair<string, string>>? extra = null,
        IReadOnlyList<OutgoingAttachment>? attachments = null) => new()
    {
        From = from ?? m.From,
        To = to ?? m.To,
        Cc = cc ?? m.Cc,
        ReplyTo = replyTo ?? m.ReplyTo,
        Subject = subject ?? m.Subject,
        TextBody = m.TextBody,
        MessageId = messageId ?? m.MessageId,
        InReplyTo = inReplyTo ?? m.InReplyTo,
        References = references ?? m.References,
        Date = m.Date,
        ExtraHeaders = extra ?? m.ExtraHeaders,
        Attachments = attachments ?? m.Attachments,
    };
}
