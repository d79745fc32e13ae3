using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CprDesk.Tests.Evidence;

/// <summary>A small PKI made in the tests: RSA and ECDSA CAs, leaves, CSRs and CRLs.</summary>
public static class TestPki
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static X509Certificate2 RsaCa(string cn = "CprDesk Test RSA CA") => Ca(cn, RSA.Create(2048));

    public static X509Certificate2 EcCa(string cn = "CprDesk Test ECDSA CA") => Ca(cn, ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public static X509Certificate2 Ca(string cn, AsymmetricAlgorithm key)
    {
        var req = Request($"CN={cn}, O=CprDesk Tests", key);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        return req.CreateSelfSigned(Epoch.AddDays(-30), Epoch.AddYears(10));
    }

    public static CertificateRequest Request(string subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
        _ => throw new ArgumentException("unsupported key"),
    };

    public static X509Certificate2 Leaf(X509Certificate2 ca, AsymmetricAlgorithm key, string dns, byte[] serial, DateTimeOffset? notAfter = null)
    {
        var req = Request($"CN={dns}", key);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dns);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        return req.Create(ca, Epoch, notAfter ?? Epoch.AddDays(90), serial);
    }

    public static ECDsa EcKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static string Spki(AsymmetricAlgorithm key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));

    public static string Sha256(X509Certificate2 cert) => Convert.ToHexStringLower(SHA256.HashData(cert.RawData));

    public static byte[] Csr(AsymmetricAlgorithm key, string subject) => Request(subject, key).CreateSigningRequest();

    public static byte[] Crl(X509Certificate2 ca, params (byte[] Serial, X509RevocationReason Reason)[] revoked)
    {
        var b = new CertificateRevocationListBuilder();
        foreach (var (serial, reason) in revoked) b.AddEntry(serial, Epoch.AddDays(1), reason);
        return b.Build(ca, 7, Epoch.AddDays(7), HashAlgorithmName.SHA256, ca.GetRSAPrivateKey() is null ? null : RSASignaturePadding.Pkcs1, Epoch);
    }

    public static string Pem(string label, byte[] der) => new(PemEncoding.Write(label, der));

    public static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Evidence", "Fixtures", name));

    public static string FixtureText(string name) => Encoding.ASCII.GetString(Fixture(name));

    /// <summary>A plain email with attachments (base64).</summary>
    public static byte[] Email(string body, params (string Name, string Type, byte[] Content)[] attachments)
    {
        var sb = new StringBuilder();
        sb.Append("From: Reporter <reporter@example.org>\r\nTo: cpr@ca.example\r\nSubject: Certificate problem\r\nMessage-ID: <")
          .Append(Guid.NewGuid().ToString("N")).Append("@example.org>\r\nMIME-Version: 1.0\r\n");
        if (attachments.Length == 0)
        {
            sb.Append("Content-Type: text/plain; charset=utf-8\r\n\r\n").Append(body.Replace("\n", "\r\n")).Append("\r\n");
            return Encoding.UTF8.GetBytes(sb.ToString());
        }
        sb.Append("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
          .Append(body.Replace("\n", "\r\n")).Append("\r\n");
        foreach (var (name, type, content) in attachments)
        {
            sb.Append("--b1\r\nContent-Type: ").Append(type).Append("; name=\"").Append(name).Append("\"\r\nContent-Disposition: attachment; filename=\"")
              .Append(name).Append("\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
              .Append(Convert.ToBase64String(content, Base64FormattingOptions.InsertLineBreaks)).Append("\r\n");
        }
        sb.Append("--b1--\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
