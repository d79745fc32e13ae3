// Our own expectations over the corpus: which defects each hostile message must raise, and what typical CPR mail yields.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class CorpusTests
{
    private static MimeMessage Load(string name)
    {
        using var s = File.OpenRead(Path.Combine(Corpus.Directory, name));
        return MimeParser.Parse(s);
    }

    [Theory]
    [InlineData("002-bare-lf.eml", DefectCodes.BareLf)]
    [InlineData("003-bare-cr.eml", DefectCodes.BareCr)]
    [InlineData("009-latin1-raw-header.eml", DefectCodes.EightBitHeader)]
    [InlineData("010-header-without-colon.eml", DefectCodes.HeaderWithoutColon)]
    [InlineData("011-nul-bytes.eml", DefectCodes.NulByte)]
    [InlineData("017-ew-unknown-charset.eml", DefectCodes.UnknownCharset)]
    [InlineData("018-ew-malformed.eml", DefectCodes.InvalidEncodedWord)]
    [InlineData("030-unknown-charset-body.eml", DefectCodes.UnknownCharset)]
    [InlineData("037-address-invalid.eml", DefectCodes.InvalidAddress)]
    [InlineData("043-date-invalid.eml", DefectCodes.InvalidDate)]
    [InlineData("056-rfc822-base64.eml", DefectCodes.EncodedMessagePart)]
    [InlineData("060-quoted-printable.eml", DefectCodes.InvalidQuotedPrintable)]
    [InlineData("062-base64-no-padding.eml", DefectCodes.MissingBase64Padding)]
    [InlineData("063-base64-garbage.eml", DefectCodes.InvalidBase64)]
    [InlineData("065-unknown-cte.eml", DefectCodes.UnknownTransferEncoding)]
    [InlineData("067-missing-boundary.eml", DefectCodes.MissingBoundary)]
    [InlineData("068-unterminated-boundary.eml", DefectCodes.UnterminatedBoundary)]
    [InlineData("072-deep-nesting.eml", DefectCodes.MaxDepth)]
    [InlineData("073-many-parts.eml", DefectCodes.MaxParts)]
    [InlineData("074-huge-header.eml", DefectCodes.HeaderTooLarge)]
    [InlineData("075-missing-first-boundary.eml", DefectCodes.MissingFirstBoundary)]
    [InlineData("080-truncated.eml", DefectCodes.UnterminatedBoundary)]
    [InlineData("080-truncated.eml", DefectCodes.InvalidBase64)]
    [InlineData("083-message-ids.eml", null)]
    [InlineData("084-invalid-content-type.eml", DefectCodes.InvalidContentType)]
    [InlineData("092-random-bytes.eml", DefectCodes.HeaderWithoutColon)]
    public void Hostile_messages_raise_their_defect(string file, string? code)
    {
        using var m = Load(file);
        if (code is null) Assert.Empty(m.Defects);
        else Assert.Contains(m.Defects, d => d.Code == code);
    }

    [Theory]
    [InlineData("001-simple-plain.eml")]
    [InlineData("004-folded-headers.eml")]
    [InlineData("008-utf8-raw-headers.eml")]
    [InlineData("019-gb2312.eml")]
    [InlineData("020-iso-2022-jp.eml")]
    [InlineData("048-alternative.eml")]
    [InlineData("050-nested.eml")]
    [InlineData("052-pem-attachment.eml")]
    [InlineData("055-forwarded-rfc822.eml")]
    [InlineData("058-rfc2231-continuations.eml")]
    [InlineData("087-cpr-key-compromise.eml")]
    public void Well_formed_messages_have_no_defects(string file)
    {
        using var m = Load(file);
        Assert.Empty(m.Defects);
    }

    [Fact]
    public void Every_corpus_message_parses_and_its_size_is_the_file_size()
    {
        foreach (var path in Corpus.Files)
        {
            using var m = Load(Path.GetFileName(path));
            Assert.Equal(new FileInfo(path).Length, m.Size);
        }
    }

    [Fact]
    public void Typical_key_compromise_report()
    {
        using var m = Load("087-cpr-key-compromise.eml");
        Assert.Equal("Key compromise: www.example.com (serial 04:3A:9F:11)", m.Subject);
        Assert.Equal(new MailboxAddress("Security Researcher", "researcher@security.example"), m.From.Single());
        Assert.Equal("researcher+cpr@security.example", m.ReplyTo.Single().Address);
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 10, 15, 0, TimeSpan.Zero), m.Date);
        Assert.Equal("20240506101500.GA1234@security.example", m.MessageId);
        Assert.Contains("private key of the certificate below was published", m.TextBody);
        Assert.Equal(["proof.csr", "cert.pem"], m.Attachments.Select(a => a.FileName));
        Assert.StartsWith("-----BEGIN CERTIFICATE REQUEST-----", m.Attachments[0].GetText());
    }

    [Fact]
    public void Chinese_japanese_and_russian_subjects_and_bodies()
    {
        using (var m = Load("019-gb2312.eml"))
        {
            Assert.Equal("证书问题报告", m.Subject);
            Assert.Equal("私钥已泄露，请吊销证书。\n", m.TextBody);
        }
        using (var m = Load("020-iso-2022-jp.eml"))
        {
            Assert.Equal("証明書の失効依頼", m.Subject);
            Assert.Equal("秘密鍵が漏洩しました。\n", m.TextBody);
        }
        using (var m = Load("021-koi8-r.eml"))
        {
            Assert.Equal("Отзыв сертификата", m.Subject);
            Assert.Equal("Закрытый ключ скомпрометирован.\n", m.TextBody);
        }
    }

    [Fact]
    public void Forwarded_report_is_reachable_as_a_message_part()
    {
        using var m = Load("055-forwarded-rfc822.eml");
        var forwarded = ((Multipart)m.Body).Children.OfType<MessagePart>().Single();
        Assert.Equal("report.eml", forwarded.FileName);
        Assert.Equal("Compromised key – please act", forwarded.Message.Subject);
        Assert.Equal("orig-report@example.net", forwarded.Message.MessageId);
        Assert.Equal("leaked.pem", m.Attachments.Single().FileName);
    }
}
