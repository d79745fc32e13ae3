// Charset labels and aliases through the code-pages provider; unknown labels fall back without throwing.
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class CharsetTests
{
    [Theory]
    [InlineData("utf-8", "ключ 鍵 €")]
    [InlineData("utf8", "ключ 鍵 €")]
    [InlineData("UTF-8", "ключ 鍵 €")]
    [InlineData("iso-8859-1", "Schlüssel")]
    [InlineData("latin1", "Schlüssel")]
    [InlineData("ISO8859-1", "Schlüssel")]
    [InlineData("iso-8859-2", "Zażółć")]
    [InlineData("iso-8859-5", "ключ")]
    [InlineData("iso-8859-7", "κλειδί")]
    [InlineData("iso-8859-15", "€uro")]
    [InlineData("windows-1250", "Zażółć")]
    [InlineData("windows-1251", "ключ")]
    [InlineData("windows-1252", "“quotes” €")]
    [InlineData("cp1252", "“quotes” €")]
    [InlineData("windows-1253", "κλειδί")]
    [InlineData("windows-1254", "anahtar ğş")]
    [InlineData("windows-1255", "מפתח")]
    [InlineData("windows-1256", "مفتاح")]
    [InlineData("windows-1257", "ąčę")]
    [InlineData("windows-1258", "khóa")]
    [InlineData("koi8-r", "Закрытый ключ")]
    [InlineData("koi8-u", "ключ")]
    [InlineData("gb2312", "证书问题")]
    [InlineData("GBK", "证书问题")]
    [InlineData("gb18030", "证书问题 €")]
    [InlineData("big5", "憑證問題")]
    [InlineData("shift_jis", "証明書")]
    [InlineData("x-sjis", "証明書")]
    [InlineData("iso-2022-jp", "証明書の失効")]
    [InlineData("euc-jp", "証明書")]
    [InlineData("euc-kr", "인증서")]
    [InlineData("ks_c_5601-1987", "인증서")]
    [InlineData("utf-16le", "ключ")]
    [InlineData("utf-16be", "ключ")]
    [InlineData("\"utf-8\"", "quoted label")]
    public void Round_trips_through_the_label(string label, string text)
    {
        var enc = Charsets.Find(label);
        Assert.NotNull(enc);
        var bytes = enc!.GetBytes(text);
        var defects = new List<MimeDefect>();
        Assert.Equal(text, Charsets.Decode(bytes, label, defects));
        Assert.Empty(defects);
    }

    [Fact]
    public void Utf16_honours_a_byte_order_mark_and_defaults_to_big_endian()
    {
        Assert.Equal("ab", Charsets.Decode([0xFF, 0xFE, (byte)'a', 0, (byte)'b', 0], "utf-16"));
        Assert.Equal("ab", Charsets.Decode([0xFE, 0xFF, 0, (byte)'a', 0, (byte)'b'], "utf-16"));
        Assert.Equal("ab", Charsets.Decode([0, (byte)'a', 0, (byte)'b'], "utf-16")); // RFC 2781 §4.3
    }

    [Fact]
    public void Ascii_and_missing_labels_read_utf8_when_valid_else_latin1()
    {
        Assert.Equal("café", Charsets.Decode(Encoding.UTF8.GetBytes("café"), "us-ascii"));
        Assert.Equal("café", Charsets.Decode(Encoding.Latin1.GetBytes("café"), null));
        Assert.Equal("plain", Charsets.Decode("plain"u8, "ANSI_X3.4-1968"));
    }

    [Theory]
    [InlineData("x-no-such-charset")]
    [InlineData("utf-7")]
    [InlineData("unknown-8bit")]
    [InlineData("")]
    [InlineData("a-label-that-is-far-too-long-to-be-any-charset-name-at-all-really-it-is")]
    public void Unknown_labels_fall_back_with_a_defect(string label)
    {
        if (label.Length == 0)
        {
            Assert.Null(Charsets.Find(label));
            return;
        }
        var defects = new List<MimeDefect>();
        Assert.Equal("café", Charsets.Decode(Encoding.UTF8.GetBytes("café"), label, defects));
        Assert.Contains(defects, d => d.Code == DefectCodes.UnknownCharset);
        Assert.Null(Charsets.Find(label));
    }

    [Fact]
    public void Malformed_bytes_become_replacement_characters()
    {
        Assert.Equal("a\uFFFDb", Charsets.Decode([(byte)'a', 0xFF, (byte)'b'], "utf-8"));
    }

    [Fact]
    public void Part_text_uses_the_declared_charset_and_reports_unknown_ones()
    {
        var body = Charsets.Find("koi8-r")!.GetBytes("ключ");
        var head = "Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"u8.ToArray();
        using var m = MimeParser.Parse([.. head, .. body]);
        Assert.Equal("ключ", m.TextBody);

        using var unknown = TestMessages.Parse("Content-Type: text/plain; charset=x-nope\n\ncafé");
        Assert.Equal("café", unknown.TextBody);
        Assert.True(unknown.Has(DefectCodes.UnknownCharset));
    }
}
