// A self-signed certificate so STARTTLS can be offered in development and tests without a real one.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CprDesk.Mail.Smtp;

/// <summary>Self-signed server certificates for development and tests; never for production mail.</summary>
public static class DevelopmentCertificate
{
    /// <summary>
    /// An ECDSA P-256 certificate for <paramref name="hostName"/>, with subject alternative names
    /// hostName, localhost and 127.0.0.1, valid from yesterday for one year, usable by SslStream.
    /// </summary>
    public static X509Certificate2 CreateSelfSigned(string hostName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hostName);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={SafeCommonName(hostName)}"), key, HashAlgorithmName.SHA256);

        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(hostName, out var address))
        {
            names.AddIpAddress(address);
        }
        else
        {
            names.AddDnsName(hostName);
        }
        if (!string.Equals(hostName, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            names.AddDnsName("localhost");
        }
        if (!IPAddress.Loopback.Equals(address))
        {
            names.AddIpAddress(IPAddress.Loopback);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        // A certificate made in memory holds its key in a form not every platform's TLS can use;
        // a PKCS#12 round trip gives a certificate whose private key SslStream can use everywhere.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>Keeps the distinguished name parseable whatever the host name holds.</summary>
    private static string SafeCommonName(string hostName)
    {
        var name = string.Concat(hostName.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':'));
        return name.Length > 0 ? name : "localhost";
    }
}
