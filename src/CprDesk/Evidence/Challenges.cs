// A third key-compromise proof: a signature, made with the compromised key, over a challenge text published on
// the report's status page. The reporter sends it back in a reply as a PEM block:
//   printf '%s' "<challenge>" | openssl dgst -sha256 -sign key.pem | openssl base64
//   -----BEGIN CPRDESK CHALLENGE SIGNATURE----- … -----END CPRDESK CHALLENGE SIGNATURE-----
// It is checked against every public key the report carries (certificates, public keys, CSRs).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CprDesk.Evidence;

public static class Challenges
{
    /// <summary>The SPKI SHA-256 of the key that made the signature, or null and why not.</summary>
    public static (string? Spki, string Reason) Verify(string challenge, byte[] signature, IEnumerable<byte[]> publicMaterial)
    {
        var texts = new[] { System.Text.Encoding.UTF8.GetBytes(challenge), System.Text.Encoding.UTF8.GetBytes(challenge + "\n") };
        var tried = 0;
        foreach (var der in publicMaterial.DistinctBy(Convert.ToBase64String))
        {
            var spkiDer = SpkiDer(der);
            if (spkiDer is null) continue;
            tried++;
            try
            {
                var pk = PublicKey.CreateFromSubjectPublicKeyInfo(spkiDer, out _);
                using var rsa = pk.GetRSAPublicKey();
                using var ec = pk.GetECDsaPublicKey();
                foreach (var t in texts)
                {
                    var ok = rsa?.VerifyData(t, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1) == true
                        || ec?.VerifyData(t, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence) == true;
                    if (ok)
                    {
                        var spki = Convert.ToHexStringLower(SHA256.HashData(spkiDer));
                        return (spki, $"Signature over the challenge text verifies with the key of SPKI SHA-256 {spki}.");
                    }
                }
            }
            catch (CryptographicException) { }
        }
        return (null, tried == 0
            ? "No certificate or public key in the report to check the challenge signature against: send the certificate or public key with it."
            : $"The signature does not verify over this report's challenge text with any of the {tried} public key(s) in the report.");
    }

    private static byte[]? SpkiDer(byte[] der)
    {
        try
        {
            switch (CryptoObjects.Sniff(der))
            {
                case "certificate":
                    using (var c = X509CertificateLoader.LoadCertificate(der)) return c.PublicKey.ExportSubjectPublicKeyInfo();
                case "csr":
                    return CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.SkipSignatureValidation).PublicKey.ExportSubjectPublicKeyInfo();
                case "spki":
                    return der;
                default:
                    return null;
            }
        }
        catch (CryptographicException) { return null; }
    }
}
