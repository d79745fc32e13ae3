// Content-Type and Content-Disposition parameters, including RFC 2231 charsets, languages and continuations.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class ParameterTests
{
    [Fact]
    public void Type_and_subtype_are_lower_cased_and_parameters_case_insensitive()
    {
        var ct = ContentType.Parse("Text/HTML; CHARSET=\"UTF-8\"; Format=flowed");
        Assert.Equal("text/html", ct.MimeType);
        Assert.Equal("UTF-8", ct.Charset);
        Assert.Equal("flowed", ct.Parameters["format"]);
    }

    [Fact]
    public void Quoted_values_keep_semicolons_and_unescape()
    {
        var ct = ContentType.Parse("multipart/mixed; boundary=\"a;b=\\\"c\\\"\"; x=1");
        Assert.Equal("a;b=\"c\"", ct.Boundary);
        Assert.Equal("1", ct.Parameters["x"]);
    }

    [Fact]
    public void Comments_are_ignored()
    {
        var ct = ContentType.Parse("text/plain (plain text); charset=us-ascii (ascii)");
        Assert.Equal("text/plain", ct.MimeType);
        Assert.Equal("us-ascii", ct.Charset);
    }

    [Fact]
    public void Rfc2231_extended_value_with_charset()
    {
        using var m = TestMessages.Parse("Content-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC%20invoice.pdf\n\nx");
        Assert.Equal("€ invoice.pdf", m.Body.FileName);
        Assert.Equal("attachment", m.Body.ContentDisposition);
    }

    [Fact]
    public void Rfc2231_continuations_mix_encoded_and_plain_sections_and_carry_a_language()
    {
        var ct = ContentType.Parse("application/octet-stream; name*0*=utf-8'de'Schl%C3%BC; name*2=\"Zertifikat.pem\"; name*1*=ssel%20und%20");
        Assert.Equal("Schlüssel und Zertifikat.pem", ct.Name);
    }

    [Fact]
    public void Rfc2231_split_multibyte_character_across_sections()
    {
        var ct = ContentType.Parse("text/plain; name*0*=utf-8''%E2%82; name*1*=%AC.txt");
        Assert.Equal("€.txt", ct.Name);
    }

    [Fact]
    public void Rfc2231_latin1_value()
    {
        var ct = ContentType.Parse("text/plain; name*=iso-8859-1'en'Schl%FCssel.txt");
        Assert.Equal("Schlüssel.txt", ct.Name);
    }

    [Fact]
    public void Rfc2231_missing_section_and_unknown_charset_are_defects()
    {
        var defects = new List<MimeDefect>();
        var ct = ContentType.Parse("text/plain; name*0=a; name*2=c; title*=x-nope''abc", defects);
        Assert.Equal("ac", ct.Name);
        Assert.Equal("abc", ct.Parameters["title"]);
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidParameter);
        Assert.Contains(defects, d => d.Code == DefectCodes.UnknownCharset);
    }

    [Fact]
    public void Encoded_word_file_names_are_decoded()
    {
        using var m = TestMessages.Parse("Content-Type: application/octet-stream; name=\"=?utf-8?B?6Ki85piO5pu4LnBlbQ==?=\"\n\nx");
        Assert.Equal("証明書.pem", m.Body.FileName);
    }

    [Fact]
    public void File_name_prefers_disposition_over_content_type_name()
    {
        using var m = TestMessages.Parse("Content-Type: text/plain; name=ct.txt\nContent-Disposition: inline; filename=cd.txt\n\nx");
        Assert.Equal("cd.txt", m.Body.FileName);
        Assert.Equal("inline", m.Body.ContentDisposition);
    }

    [Fact]
    public void Unknown_disposition_type_is_an_attachment()
    {
        using var m = TestMessages.Parse("Content-Disposition: x-save\n\nx");
        Assert.Equal("attachment", m.Body.ContentDisposition); // RFC 2183 §2.8
    }

    [Theory]
    [InlineData("text")]
    [InlineData("/plain")]
    [InlineData("text/")]
    [InlineData("te xt/plain")]
    [InlineData("")]
    public void Invalid_content_type_is_text_plain_with_a_defect(string value)
    {
        var defects = new List<MimeDefect>();
        Assert.Equal("text/plain", ContentType.Parse(value, defects).MimeType);
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidContentType);
    }

    [Fact]
    public void Unquoted_value_with_spaces_is_taken_up_to_the_semicolon()
    {
        Assert.Equal("my file.pdf", ContentType.Parse("application/pdf; name=my file.pdf ; x=y").Name);
    }

    [Fact]
    public void Parameter_without_value_is_a_defect()
    {
        var defects = new List<MimeDefect>();
        var ct = ContentType.Parse("text/plain; junk; charset=utf-8", defects);
        Assert.Equal("utf-8", ct.Charset);
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidParameter);
    }
}
