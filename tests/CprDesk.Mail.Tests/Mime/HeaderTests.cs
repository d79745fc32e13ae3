// Header section parsing: folding, obsolete syntax, 8-bit text, lines without a colon, envelope lines.
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class HeaderTests
{
    [Fact]
    public void Folded_header_is_unfolded_keeping_the_whitespace()
    {
        using var m = TestMessages.Parse("Subject: one\n two\n\tthree\nX-A: b\n\nbody");
        Assert.Equal("one two\tthree", m.Subject);
        Assert.Equal("b", m.Headers["x-a"]);
    }

    [Fact]
    public void Folding_with_bare_lf_works_and_is_reported_once()
    {
        using var m = MimeParser.Parse("Subject: one\n two\nTo: a@b.c\n\nline1\nline2\n"u8);
        Assert.Equal("one two", m.Subject);
        Assert.Single(m.Defects, d => d.Code == DefectCodes.BareLf);
        Assert.Equal("line1\nline2\n", TestMessages.Ascii(m.Leaves[0]));
    }

    [Fact]
    public void Bare_cr_ends_lines()
    {
        using var m = MimeParser.Parse("Subject: mac\rTo: a@b.c\r\rbody\r"u8);
        Assert.Equal("mac", m.Subject);
        Assert.Equal("a@b.c", m.To.Single().Address);
        Assert.True(m.Has(DefectCodes.BareCr));
    }

    [Fact]
    public void Space_before_colon_is_obsolete_but_accepted()
    {
        using var m = TestMessages.Parse("Subject : hello\nContent-Type\t: text/html\n\n<p>x</p>");
        Assert.Equal("hello", m.Subject);
        Assert.Equal("text/html", m.Body.ContentType.MimeType);
    }

    [Fact]
    public void Empty_values_are_kept_as_empty_strings()
    {
        using var m = TestMessages.Parse("Subject:\nCc:\n\nbody");
        Assert.Equal("", m.Subject);
        Assert.Empty(m.Cc);
        Assert.Equal("", m.Headers["cc"]);
    }

    [Fact]
    public void Raw_utf8_header_is_decoded_without_a_defect()
    {
        using var m = TestMessages.Parse("Subject: Schlüssel – 鍵\n\nx");
        Assert.Equal("Schlüssel – 鍵", m.Subject);
        Assert.False(m.Has(DefectCodes.EightBitHeader));
    }

    [Fact]
    public void Raw_non_utf8_header_is_latin1_with_a_defect()
    {
        var bytes = Encoding.Latin1.GetBytes("Subject: Schl\u00fcssel\r\n\r\nx");
        using var m = MimeParser.Parse(bytes);
        Assert.Equal("Schlüssel", m.Subject);
        Assert.True(m.Has(DefectCodes.EightBitHeader));
    }

    [Fact]
    public void Line_without_colon_ends_the_header_section_and_starts_the_body()
    {
        using var m = TestMessages.Parse("Subject: s\nnot a header\nX-After: y\n\nrest");
        Assert.True(m.Has(DefectCodes.HeaderWithoutColon));
        Assert.Null(m.Headers["X-After"]);
        Assert.Equal("not a header\r\nX-After: y\r\n\r\nrest", TestMessages.Ascii(m.Leaves[0]));
    }

    [Fact]
    public void Continuation_without_a_field_is_ignored_with_a_defect()
    {
        using var m = TestMessages.Parse(" orphan\nSubject: s\n\nx");
        Assert.Equal("s", m.Subject);
        Assert.True(m.Has(DefectCodes.OrphanContinuation));
    }

    [Fact]
    public void Mbox_envelope_line_is_skipped()
    {
        using var m = TestMessages.Parse("From someone@example.org Mon May  6 10:15:00 2024\nSubject: s\n\nx");
        Assert.Equal("s", m.Subject);
        Assert.DoesNotContain(m.Defects, d => d.Code == DefectCodes.HeaderWithoutColon);
    }

    [Fact]
    public void Header_list_lookups_ignore_case_and_keep_order()
    {
        using var m = TestMessages.Parse("Received: one\nreceived: two\nSUBJECT: =?utf-8?q?caf=C3=A9?=\n\nx");
        Assert.Equal(["one", "two"], m.Headers.All("RECEIVED").Select(h => h.Value));
        Assert.Equal("café", m.Headers["subject"]);
        Assert.Equal("=?utf-8?q?caf=C3=A9?=", m.Headers.First("Subject")!.RawValue);
        Assert.Equal(3, m.Headers.Count);
        Assert.Null(m.Headers["missing"]);
    }

    [Fact]
    public void Nul_bytes_are_reported_and_parsing_goes_on()
    {
        using var m = MimeParser.Parse("Subject: a\0b\r\n\r\nbo\0dy"u8);
        Assert.Equal("a\0b", m.Subject);
        Assert.True(m.Has(DefectCodes.NulByte));
        Assert.Equal(5, m.Leaves[0].DecodedLength);
    }

    [Fact]
    public void Headers_running_into_the_end_of_input_give_an_empty_body()
    {
        using var m = TestMessages.Parse("Subject: s\nX-Last: v");
        Assert.Equal("v", m.Headers["x-last"]);
        Assert.Equal(0, m.Leaves.Single().DecodedLength);
    }

    [Fact]
    public void Message_ids_lose_brackets_and_comments()
    {
        using var m = TestMessages.Parse("Message-ID: (c) <a@b> (d)\nIn-Reply-To: Your message <x@y>\nReferences: <1@x>\n <2@x> <3@x>\n\nx");
        Assert.Equal("a@b", m.MessageId);
        Assert.Equal(["x@y"], m.InReplyTo);
        Assert.Equal(["1@x", "2@x", "3@x"], m.References);
    }

    [Fact]
    public void Message_id_without_brackets_is_kept_with_a_defect()
    {
        using var m = TestMessages.Parse("Message-ID: bare@example.org\n\nx");
        Assert.Equal("bare@example.org", m.MessageId);
        Assert.True(m.Has(DefectCodes.InvalidMessageId));
    }
}
