// Entity structure (RFC 2046): multiparts of every kind, encapsulated messages, boundaries, body and attachment choice.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class StructureTests
{
    private const string Nested = """
        Subject: nested
        Content-Type: multipart/mixed; boundary="outer"

        preamble
        --outer
        Content-Type: multipart/alternative; boundary="inner"

        --inner
        Content-Type: text/plain

        plain
        --inner
        Content-Type: text/html

        <p>html</p>
        --inner--
        --outer
        Content-Type: application/pdf; name="a.pdf"
        Content-Transfer-Encoding: base64

        JVBERg==
        --outer--
        epilogue
        """;

    [Fact]
    public void Nested_multiparts_build_a_tree()
    {
        using var m = TestMessages.Parse(Nested);
        var outer = Assert.IsType<Multipart>(m.Body);
        Assert.Equal("preamble", outer.Preamble);
        Assert.Equal("epilogue", outer.Epilogue);
        Assert.Equal(2, outer.Children.Count);
        var alt = Assert.IsType<Multipart>(outer.Children[0]);
        Assert.Equal(["text/plain", "text/html"], alt.Children.Select(c => c.ContentType.MimeType));
        Assert.Equal(["plain", "<p>html</p>", "%PDF"], m.Leaves.Select(TestMessages.Ascii));
        Assert.Empty(m.Defects);
    }

    [Fact]
    public void Body_prefers_plain_in_alternative_and_the_pdf_is_the_attachment()
    {
        using var m = TestMessages.Parse(Nested);
        Assert.Equal("plain", m.TextBody);
        Assert.Same(m.Leaves[0], m.TextBodyPart);
        Assert.Equal("a.pdf", Assert.Single(m.Attachments).FileName);
        Assert.True(m.Attachments[0].IsAttachment);
        Assert.False(m.Leaves[1].IsAttachment);
    }

    [Fact]
    public void Html_only_body_is_converted_to_text()
    {
        using var m = TestMessages.Parse("Content-Type: text/html\n\n<html><style>x{}</style><body><p>Hello &amp; bye</p><p>two</p></body></html>");
        Assert.Equal("Hello & bye\n\ntwo", m.TextBody);
        Assert.Equal("text/html", m.TextBodyPart!.ContentType.MimeType);
        Assert.Empty(m.Attachments);
    }

    [Fact]
    public void Text_marked_as_attachment_is_not_the_body()
    {
        using var m = TestMessages.Parse("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain
            Content-Disposition: attachment; filename=log.txt

            log
            --b
            Content-Type: text/plain

            real body
            --b--
            """);
        Assert.Equal("real body", m.TextBody);
        Assert.Equal("log.txt", Assert.Single(m.Attachments).FileName);
    }

    [Fact]
    public void Unknown_multipart_subtype_is_split_like_mixed()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/x-custom; boundary=b\n\n--b\n\none\n--b\n\ntwo\n--b--\n");
        Assert.Equal(["one", "two"], m.Leaves.Select(TestMessages.Ascii));
    }

    [Fact]
    public void Digest_parts_default_to_message_rfc822()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst\n--d\n\nSubject: two\n\nsecond\n--d--\n");
        var digest = Assert.IsType<Multipart>(m.Body);
        var subjects = digest.Children.Select(c => Assert.IsType<MessagePart>(c).Message.Subject);
        Assert.Equal(["one", "two"], subjects);
    }

    [Fact]
    public void Forwarded_message_is_parsed_recursively_and_its_leaves_are_listed()
    {
        using var m = TestMessages.Parse("""
            Subject: Fwd
            Content-Type: multipart/mixed; boundary=o

            --o
            Content-Type: text/plain

            see below
            --o
            Content-Type: message/rfc822

            From: Orig <orig@example.net>
            Subject: =?utf-8?q?Original_=E2=80=93_report?=
            Date: Sun, 05 May 2024 08:00:00 -0700
            Content-Type: multipart/mixed; boundary=i

            --i
            Content-Type: text/plain

            inner text
            --i
            Content-Type: application/x-pem-file; name=k.pem

            -----BEGIN PRIVATE KEY-----
            --i--
            --o--
            """);
        var forwarded = Assert.IsType<MessagePart>(((Multipart)m.Body).Children[1]).Message;
        Assert.Equal("Original – report", forwarded.Subject);
        Assert.Equal("orig@example.net", forwarded.From[0].Address);
        Assert.Equal(new DateTimeOffset(2024, 5, 5, 15, 0, 0, TimeSpan.Zero), forwarded.Date);
        Assert.Equal("inner text", forwarded.TextBody);
        Assert.Equal(["see below", "inner text", "-----BEGIN PRIVATE KEY-----"], m.Leaves.Select(TestMessages.Ascii));
        Assert.Equal("see below", m.TextBody);
        Assert.Equal("k.pem", Assert.Single(m.Attachments).FileName);
        Assert.True(forwarded.Size > 100);
    }

    [Fact]
    public void Base64_encoded_message_part_is_decoded_and_parsed_with_a_defect()
    {
        var inner = Convert.ToBase64String("Subject: inner\r\n\r\nhello\r\n"u8);
        using var m = TestMessages.Parse($"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{inner}\n");
        var part = Assert.IsType<MessagePart>(m.Body);
        Assert.Equal("inner", part.Message.Subject);
        Assert.Equal("hello\r\n", TestMessages.Ascii(m.Leaves.Single()));
        Assert.True(m.Has(DefectCodes.EncodedMessagePart));
    }

    [Fact]
    public void Missing_boundary_makes_one_text_part()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed\n\n--x\n\ntext\n--x--\n");
        var leaf = Assert.IsType<MimePart>(m.Body);
        Assert.Equal("text/plain", leaf.ContentType.MimeType);
        Assert.True(m.Has(DefectCodes.MissingBoundary));
        Assert.Contains("text", m.TextBody);
    }

    [Fact]
    public void Unterminated_multipart_keeps_parts_up_to_the_end()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n");
        Assert.Equal(["one", "two"], m.Leaves.Select(TestMessages.Ascii));
        Assert.True(m.Has(DefectCodes.UnterminatedBoundary));
    }

    [Fact]
    public void Inner_multipart_without_close_delimiter_ends_at_the_outer_boundary()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\ninner\n--o\n\nouter\n--o--\n");
        Assert.Equal(["inner", "outer"], m.Leaves.Select(TestMessages.Ascii));
        Assert.Single(m.Defects, d => d.Code == DefectCodes.UnterminatedBoundary);
    }

    [Fact]
    public void Boundary_lines_may_carry_transport_padding_but_not_other_text()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--bx\n--b x\n--b\t\n\ntwo\n--b-- \t\n");
        Assert.Equal(["one\r\n--bx\r\n--b x", "two"], m.Leaves.Select(TestMessages.Ascii));
        Assert.Empty(m.Defects);
    }

    [Fact]
    public void First_boundary_never_found_keeps_the_body_as_text()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=never\n\n--other\n\ntext\n");
        Assert.Equal("text/plain", m.Body.ContentType.MimeType);
        Assert.Equal("--other\r\n\r\ntext\r\n", TestMessages.Ascii(m.Leaves[0]));
        Assert.True(m.Has(DefectCodes.MissingFirstBoundary));
    }

    [Fact]
    public void The_crlf_before_a_boundary_belongs_to_the_boundary()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nline\n\n--b--\n");
        Assert.Equal("line\r\n", TestMessages.Ascii(m.Leaves[0]));
    }

    [Fact]
    public void Related_uses_the_start_part_as_body()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/related; boundary=r; start=\"<root@x>\"\n\n--r\nContent-Type: text/plain\n\nnot root\n--r\nContent-Type: text/html\nContent-ID: <root@x>\n\n<b>root</b>\n--r--\n");
        Assert.Equal("root", m.TextBody);
    }

    [Fact]
    public void Attachments_include_non_text_and_named_parts_but_not_inline_text()
    {
        using var m = TestMessages.Parse("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            body
            --b
            Content-Type: text/plain

            footer
            --b
            Content-Type: text/plain; name=notes.txt

            notes
            --b
            Content-Type: image/png

            png
            --b--
            """);
        Assert.Equal(["notes", "png"], m.Attachments.Select(TestMessages.Ascii));
    }

    [Fact]
    public void Message_size_counts_the_raw_bytes()
    {
        var text = TestMessages.Crlf("Subject: s\n\nbody\n");
        using var m = TestMessages.Parse(text);
        Assert.Equal(text.Length, m.Size);
    }

    [Fact]
    public void Empty_input_gives_an_empty_message()
    {
        using var m = MimeParser.Parse(ReadOnlySpan<byte>.Empty);
        Assert.Empty(m.Headers);
        Assert.Equal(0, m.Leaves.Single().DecodedLength);
        Assert.Equal("text/plain", m.Body.ContentType.MimeType);
        Assert.Null(m.Subject);
        Assert.Equal("", m.TextBody);
    }

    [Fact]
    public void Repeated_delimiter_lines_make_no_empty_parts()
    {
        using var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\none\n--b--\n");
        Assert.Equal(["one"], m.Leaves.Select(TestMessages.Ascii));
    }
}
