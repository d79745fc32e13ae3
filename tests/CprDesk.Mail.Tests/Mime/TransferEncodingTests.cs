// Content-Transfer-Encoding decoding (RFC 2045 §6): base64, quoted-printable, identity encodings and unknown ones.
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class TransferEncodingTests
{
    private static (string Text, MimeMessage Message) Decode(string cte, string body)
    {
        var m = TestMessages.Parse($"Content-Type: application/octet-stream\nContent-Transfer-Encoding: {cte}\n\n{body}");
        return (TestMessages.Ascii(m.Leaves.Single()), m);
    }

    [Theory]
    [InlineData("QUJD\nREVG\n", "ABCDEF")]
    [InlineData("QUJD REVG\n", "ABCDEF")]
    [InlineData("QUI=\n", "AB")]
    [InlineData("QQ==\n", "A")]
    [InlineData("  QU\n  JD  \n", "ABC")]
    [InlineData("", "")]
    public void Base64(string body, string expected)
    {
        var (text, m) = Decode("base64", body);
        using (m)
        {
            Assert.Equal(expected, text);
            Assert.False(m.Has(DefectCodes.InvalidBase64));
            Assert.False(m.Has(DefectCodes.MissingBase64Padding));
        }
    }

    [Fact]
    public void Base64_without_padding_is_decoded_with_a_defect()
    {
        var (text, m) = Decode("base64", "QUI\n");
        using (m)
        {
            Assert.Equal("AB", text);
            Assert.True(m.Has(DefectCodes.MissingBase64Padding));
        }
    }

    [Theory]
    [InlineData("QU*JD\n", "ABC")]
    [InlineData("QUJD!!REVG\n", "ABCDEF")]
    [InlineData("QUJDR\n", "ABC")] // one dangling character
    [InlineData("QUI=QUJD\n", "AB")] // data after the padding
    public void Base64_garbage_is_ignored_with_a_defect(string body, string expected)
    {
        var (text, m) = Decode("base64", body);
        using (m)
        {
            Assert.Equal(expected, text);
            Assert.True(m.Has(DefectCodes.InvalidBase64));
        }
    }

    [Fact]
    public void Base64_binary_round_trip_and_hash()
    {
        var data = new byte[10_000];
        new Random(7).NextBytes(data);
        var b64 = Convert.ToBase64String(data, Base64FormattingOptions.InsertLineBreaks);
        using var m = TestMessages.Parse($"Content-Type: application/zip\nContent-Transfer-Encoding: base64\n\n{b64}\n");
        var leaf = m.Leaves.Single();
        Assert.Equal(data, TestMessages.Bytes(leaf));
        Assert.Equal(data.Length, leaf.DecodedLength);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), leaf.Sha256);
        Assert.Equal("base64", leaf.TransferEncoding);
    }

    [Theory]
    [InlineData("a=3Db\n", "a=b\r\n")]
    [InlineData("caf=c3=a9\n", "caf\u00c3\u00a9\r\n")] // lower-case hex
    [InlineData("soft=\nbreak\n", "softbreak\r\n")]
    [InlineData("soft=  \nbreak", "softbreak")] // transport padding after the '='
    [InlineData("trailing   \nspace\t\n", "trailing\r\nspace\r\n")] // rule 3
    [InlineData("inner  space\n", "inner  space\r\n")]
    [InlineData("last=", "last")]
    [InlineData("=\n", "")]
    public void Quoted_printable(string body, string expected)
    {
        var (text, m) = Decode("quoted-printable", body);
        using (m)
        {
            Assert.Equal(expected, text);
            Assert.False(m.Has(DefectCodes.InvalidQuotedPrintable));
        }
    }

    [Theory]
    [InlineData("a=ZZb", "a=ZZb")]
    [InlineData("a=4", "a=4")]
    [InlineData("a=4xb", "a=4xb")]
    [InlineData("a= b", "a= b")]
    [InlineData("==41", "=A")]
    public void Quoted_printable_invalid_escapes_stay_literal_with_a_defect(string body, string expected)
    {
        var (text, m) = Decode("quoted-printable", body);
        using (m)
        {
            Assert.Equal(expected, text);
            Assert.True(m.Has(DefectCodes.InvalidQuotedPrintable));
        }
    }

    [Fact]
    public void Quoted_printable_text_through_charset()
    {
        using var m = TestMessages.Parse("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: Quoted-Printable\n\nCl=C3=A9 priv=C3=A9e");
        Assert.Equal("Clé privée", m.TextBody);
        Assert.Equal("quoted-printable", m.Leaves[0].TransferEncoding);
    }

    [Theory]
    [InlineData("7bit")]
    [InlineData("8bit")]
    [InlineData("binary")]
    public void Identity_encodings_keep_bytes_and_line_endings(string cte)
    {
        var head = Encoding.ASCII.GetBytes($"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: {cte}\r\n\r\n");
        byte[] body = [1, 2, 0xFF, (byte)'\r', (byte)'\n', (byte)'x', (byte)'\n', (byte)'y'];
        using var m = MimeParser.Parse([.. head, .. body]);
        Assert.Equal(body, TestMessages.Bytes(m.Leaves[0]));
        Assert.False(m.Has(DefectCodes.UnknownTransferEncoding));
    }

    [Fact]
    public void Unknown_encoding_is_taken_as_8bit_with_a_defect()
    {
        var (text, m) = Decode("x-made-up", "raw=3D");
        using (m)
        {
            Assert.Equal("raw=3D", text);
            Assert.True(m.Has(DefectCodes.UnknownTransferEncoding));
            Assert.Equal("x-made-up", m.Leaves[0].TransferEncoding);
        }
    }

    [Fact]
    public void Long_base64_line_split_across_reader_segments_decodes_whole()
    {
        var data = new byte[300_000];
        new Random(3).NextBytes(data);
        var oneLine = Convert.ToBase64String(data); // 400 KB on one line: several reader segments
        using var m = TestMessages.Parse($"Content-Transfer-Encoding: base64\nContent-Type: application/octet-stream\n\n{oneLine}");
        Assert.Equal(data, TestMessages.Bytes(m.Leaves[0]));
    }

    [Fact]
    public void Long_quoted_printable_line_keeps_state_across_segments()
    {
        var line = string.Concat(Enumerable.Repeat("ab=3D", 40_000)); // 200 KB line
        using var m = TestMessages.Parse($"Content-Transfer-Encoding: quoted-printable\nContent-Type: text/plain\n\n{line}=\nend");
        Assert.Equal(string.Concat(Enumerable.Repeat("ab=", 40_000)) + "end", TestMessages.Ascii(m.Leaves[0]));
    }
}
