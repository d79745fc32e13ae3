// A self-signed certificate for localhost, made in-process and written as PEM files for the Python sink.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Mail.Tests.Outgoing;

namespace CprDesk.Mail.Tests.Smtp.Client;

internal static class TestCertificate
{
    private static readonly Lazy<(string Cert, string Key)> Files = new(Create);

    public static string CertPath => Files.Value.Cert;
    public static string KeyPath => Files.Value.Key;

    /// <summary>The sink's TLS arguments.</summary>
    public static string[] SinkArgs => ["--cert", CertPath, "--key", KeyPath];

    private static (string, string) Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var dir = PythonTool.TempDirectory();
        var certPath = Path.Combine(dir, "cert.pem");
        var keyPath = Path.Combine(dir, "key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }
}
