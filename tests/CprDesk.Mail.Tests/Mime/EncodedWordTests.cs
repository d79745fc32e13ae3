// RFC 2047 encoded-words: B and Q, adjacency, split characters, mixed and unknown charsets, malformed words.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class EncodedWordTests
{
    [Theory]
    [InlineData("=?utf-8?B?Y2Fmw6k=?=", "café")]
    [InlineData("=?UTF-8?b?Y2Fmw6k?=", "café")] // missing padding
    [InlineData("=?iso-8859-1?Q?caf=E9_cr=E8me?=", "café crème")]
    [InlineData("=?iso-8859-1?q?caf=e9?=", "café")] // lower-case hex
    [InlineData("plain text", "plain text")]
    [InlineData("a =?utf-8?q?b?= c", "a b c")]
    [InlineData("=?utf-8?q?a?= =?utf-8?q?b?=", "ab")] // RFC 2047 §6.2
    [InlineData("=?utf-8?q?a?=\t  =?utf-8?q?_b?=", "a b")]
    [InlineData("=?utf-8?q?a?==?utf-8?q?b?=", "ab")] // glued, not separated by whitespace
    [InlineData("x=?utf-8?q?a?=y", "xay")]
    [InlineData("=?utf-8*en?q?lang?=", "lang")] // RFC 2231 §5 language suffix
    [InlineData("=?gb2312?B?1qTK6Q==?=", "证书")]
    [InlineData("=?iso-2022-jp?B?GyRCPlpMQD1xGyhC?=", "証明書")]
    [InlineData("=?koi8-r?B?68zA3g==?=", "Ключ")]
    [InlineData("=?ks_c_5601-1987?B?wM7B9bytIA==?=", "인증서 ")]
    [InlineData("=?utf-8?q??=", "")]
    public void Decodes(string input, string expected)
    {
        var defects = new List<MimeDefect>();
        Assert.Equal(expected, EncodedWords.Decode(input, defects));
        Assert.Empty(defects);
    }

    [Fact]
    public void Multibyte_character_split_across_words_is_joined()
    {
        // € is E2 82 AC: the first word carries E2 82, the second AC.
        Assert.Equal("€ 100", EncodedWords.Decode("=?utf-8?b?4oI=?= =?utf-8?b?rA==?= 100"));
        Assert.Equal("€", EncodedWords.Decode("=?utf-8?q?=E2?= =?UTF-8?q?=82=AC?="));
    }

    [Fact]
    public void Mixed_charsets_are_decoded_per_run()
    {
        var text = "=?iso-8859-2?q?Za=BF=F3=B3=E6?= =?koi8-r?b?68zA3g==?= =?utf-8?b?6Y21?=";
        Assert.Equal("ZażółćКлюч鍵", EncodedWords.Decode(text));
    }

    [Fact]
    public void Unknown_charset_keeps_the_raw_word_with_a_defect()
    {
        var defects = new List<MimeDefect>();
        Assert.Equal("=?x-nope?q?abc?= and", EncodedWords.Decode("=?x-nope?q?abc?= and", defects));
        Assert.Contains(defects, d => d.Code == DefectCodes.UnknownCharset);
    }

    [Fact]
    public void Unterminated_word_stays_as_written_with_a_defect()
    {
        var defects = new List<MimeDefect>();
        Assert.Equal("=?utf-8?q?never closed", EncodedWords.Decode("=?utf-8?q?never closed", defects));
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidEncodedWord);
    }

    [Fact]
    public void Bad_base64_and_bad_q_escapes_are_reported()
    {
        var defects = new List<MimeDefect>();
        Assert.Equal("ab", EncodedWords.Decode("=?utf-8?b?Y#WI=?=", defects));
        Assert.Equal("a=zz", EncodedWords.Decode("=?utf-8?q?a=zz?=", defects));
        Assert.Equal(2, defects.Count(d => d.Code == DefectCodes.InvalidEncodedWord));
    }

    [Theory]
    [InlineData("=?")]
    [InlineData("=?utf-8?")]
    [InlineData("=?utf-8?x?abc?=")]
    [InlineData("=??q?abc?=")]
    [InlineData("?= =? =?=?")]
    public void Things_that_are_not_encoded_words_are_left_alone(string input)
    {
        Assert.Equal(input, EncodedWords.Decode(input));
    }

    [Fact]
    public void Whitespace_between_a_word_and_text_is_kept()
    {
        Assert.Equal("Re: café  now", EncodedWords.Decode("Re: =?utf-8?q?caf=C3=A9?=  now"));
    }
}
