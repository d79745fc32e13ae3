// Turns one PEM block or one DER object into findings: certificates, PKCS#7 bundles, CSRs, CRLs, public and
// private keys. Never throws on hostile input: what does not parse becomes an "unreadable" finding with the reason.
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CprDesk.Evidence;

public static class CryptoObjects
{
    /// <summary>The CN of the KCA draft's proof CSR (draft-mcgee-kca / "kca=v1").</summary>
    public const string KcaSubject = "kca=v1 This Key Is Compromised";

    /// <summary>CN prefix of DigiCert-style proof CSRs ("Proof of Key Compromise for DigiCert").</summary>
    public const string ProofSubjectPrefix = "Proof of Key Compromise";

    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";
    private const string SignedDataOid = "1.2.840.113549.1.7.2";

    /// <summary>A PEM block by its label; <paramref name="headers"/> are RFC 1421 headers (Proc-Type, DEK-Info).</summary>
    public static IEnumerable<Finding> FromPem(string label, byte[] der, string headers, string location)
    {
        switch (label)
        {
            case "CERTIFICATE":
            case "X509 CERTIFICATE":
            case "TRUSTED CERTIFICATE":
                return [Certificate(der, location)];
            case "PKCS7":
            case "CMS":
                return Pkcs7(der, location);
            case "CERTIFICATE REQUEST":
            case "NEW CERTIFICATE REQUEST":
                return [Csr(der, location)];
            case "X509 CRL":
                return [Crl(der, location)];
            case "PUBLIC KEY":
                return [PublicKey(der, location)];
            case "RSA PUBLIC KEY":
                return [RsaPublicKey(der, location)];
            case "ENCRYPTED PRIVATE KEY":
                return [Encrypted(location, "PKCS#8 EncryptedPrivateKeyInfo")];
            case "RSA PRIVATE KEY":
            case "EC PRIVATE KEY":
            case "PRIVATE KEY":
                if (headers.Contains("ENCRYPTED", StringComparison.OrdinalIgnoreCase))
                    return [Encrypted(location, $"{label} with Proc-Type: 4,ENCRYPTED")];
                return [PrivateKey(label, der, location)];
            default:
                return [];
        }
    }

    /// <summary>Binary content of unknown type: tries each DER structure we know.</summary>
    public static IReadOnlyList<Finding> FromDer(byte[] der, string location)
    {
        if (der.Length < 16 || der[0] != 0x30) return [];
        var shape = Sniff(der);
        return shape switch
        {
            "certificate" => [Certificate(der, location)],
            "csr" => [Csr(der, location)],
            "crl" => [Crl(der, location)],
            "pkcs7" => Pkcs7(der, location).ToList(),
            "pkcs8" => [PrivateKey("PRIVATE KEY", der, location)],
            "pkcs1" => [PrivateKey("RSA PRIVATE KEY", der, location)],
            "sec1" => [PrivateKey("EC PRIVATE KEY", der, location)],
            "encrypted-pkcs8" => [Encrypted(location, "PKCS#8 EncryptedPrivateKeyInfo")],
            "spki" => [PublicKey(der, location)],
            _ => [],
        };
    }

    /// <summary>Recognises a DER object's type from its outer structure alone.</summary>
    internal static string? Sniff(byte[] der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.BER).ReadSequence();
            var first = outer.PeekTag();
            if (first == Asn1Tag.Sequence)
            {
                var firstSeq = outer.ReadSequence();
                var next = outer.HasData ? outer.PeekTag() : default;
                if (next == Asn1Tag.Sequence)
                {
                    // signed structure { tbs, algorithm, signature } — cert, CRL or CSR by the shape of tbs.
                    var t0 = firstSeq.PeekTag();
                    if (t0.HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, true))) return "certificate";
                    if (t0 == Asn1Tag.Integer)
                    {
                        firstSeq.ReadEncodedValue();
                        var t1 = firstSeq.PeekTag();
                        if (t1 == Asn1Tag.Integer) return "certificate"; // v1 certificate: serial after no version
                        if (t1 == Asn1Tag.Sequence)
                        {
                            // CRL: version, algorithm { OID … }, issuer, thisUpdate. CSR: version, subject { SET … }, spki.
                            var second = firstSeq.ReadSequence();
                            return second.HasData && second.PeekTag() == Asn1Tag.ObjectIdentifier ? "crl" : "csr";
                        }
                    }
                    if (t0 == Asn1Tag.Sequence) return "crl"; // v1 CRL: algorithm first
                    return null;
                }
                if (next == Asn1Tag.PrimitiveBitString) return "spki";
                if (next == Asn1Tag.PrimitiveOctetString) return "encrypted-pkcs8";
                return null;
            }
            if (first == Asn1Tag.ObjectIdentifier)
                return outer.ReadObjectIdentifier() == SignedDataOid ? "pkcs7" : null;
            if (first == Asn1Tag.Integer)
            {
                var version = outer.ReadInteger();
                var t = outer.PeekTag();
                if (t == Asn1Tag.Sequence) return "pkcs8";
                if (t == Asn1Tag.Integer) return version == 0 ? "pkcs1" : null;
                if (t == Asn1Tag.PrimitiveOctetString) return version == 1 ? "sec1" : null;
            }
            return null;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    public static Finding Certificate(byte[] der, string location)
    {
        try
        {
            using var cert = X509CertificateLoader.LoadCertificate(der);
            return CertificateFinding(cert, location);
        }
        catch (CryptographicException ex)
        {
            return Unreadable(location, "certificate", ex);
        }
    }

    internal static Finding CertificateFinding(X509Certificate2 cert, string location)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(cert.RawData));
        return new Finding(FindingKinds.Certificate, sha, location)
        {
            Sha256 = sha,
            Serial = Hex.NormalizeSerial(cert.SerialNumber),
            Issuer = cert.Issuer,
            Subject = cert.Subject,
            NotAfter = cert.NotAfter.ToUniversalTime(),
            SpkiSha256 = SpkiOf(cert),
            Der = cert.RawData,
        };
    }

    public static string SpkiOf(X509Certificate2 cert) => Convert.ToHexStringLower(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()));

    /// <summary>A PKCS#7 / CMS SignedData bundle (RFC 5652 §5.1): the certificates in its [0] certificates set.
    /// Read with System.Formats.Asn1 because SignedCms is not part of the shared framework.</summary>
    public static IEnumerable<Finding> Pkcs7(byte[] der, string location)
    {
        var list = new List<Finding>();
        try
        {
            var contentInfo = new AsnReader(der, AsnEncodingRules.BER).ReadSequence();
            if (contentInfo.ReadObjectIdentifier() != SignedDataOid) return [Unreadable(location, "PKCS#7 bundle", new CryptographicException("not SignedData"))];
            var signedData = contentInfo.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).ReadSequence();
            signedData.ReadInteger();
            signedData.ReadSetOf(true);
            signedData.ReadSequence();
            var certTag = new Asn1Tag(TagClass.ContextSpecific, 0, true);
            if (!signedData.HasData || !signedData.PeekTag().HasSameClassAndValue(certTag)) return list;
            var certs = signedData.ReadSetOf(true, certTag);
            var i = 0;
            while (certs.HasData)
            {
                var encoded = certs.ReadEncodedValue().ToArray();
                i++;
                if (encoded[0] == 0x30) list.Add(Certificate(encoded, $"{location} › PKCS#7 certificate {i}"));
            }
            return list;
        }
        catch (AsnContentException ex)
        {
            list.Add(Unreadable(location, "PKCS#7 bundle", ex));
            return list;
        }
    }

    public static Finding Csr(byte[] der, string location)
    {
        CertificateRequest request;
        string? signatureError = null;
        try
        {
            request = CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException ex)
        {
            signatureError = ex.Message;
            try
            {
                request = CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.SkipSignatureValidation);
            }
            catch (CryptographicException inner)
            {
                return Unreadable(location, "certificate signing request", inner);
            }
        }
        var spki = Convert.ToHexStringLower(SHA256.HashData(request.PublicKey.ExportSubjectPublicKeyInfo()));
        var cn = CommonName(request.SubjectName);
        var subject = request.SubjectName.Name;
        bool verified;
        string reason;
        if (signatureError is not null)
        {
            verified = false;
            reason = $"The CSR's signature does not verify with the public key it carries ({signatureError.TrimEnd('.')}): it proves nothing about the key.";
        }
        else if (string.Equals(cn, KcaSubject, StringComparison.Ordinal))
        {
            verified = true;
            reason = "CSR signed by the key, with the KCA draft subject 'kca=v1 This Key Is Compromised'.";
        }
        else if (cn is not null && cn.StartsWith(ProofSubjectPrefix, StringComparison.OrdinalIgnoreCase))
        {
            verified = true;
            reason = $"CSR signed by the key, with the fixed proof subject '{cn}'.";
        }
        else
        {
            verified = false;
            reason = $"The CSR's signature verifies, but its subject ({(subject.Length == 0 ? "empty" : subject)}) is not a key-compromise statement: an ordinary CSR may have been published by its owner, so it does not prove compromise.";
        }
        return new Finding(FindingKinds.Csr, spki, location)
        {
            SpkiSha256 = spki, Subject = subject, Der = der, Verified = verified, Reason = reason,
        };
    }

    public static Finding Crl(byte[] der, string location)
    {
        try
        {
            var crl = CrlParser.Parse(der);
            return new Finding(FindingKinds.Crl, Convert.ToHexStringLower(SHA256.HashData(der)), location)
            {
                Issuer = crl.Issuer.Name, Der = der,
            };
        }
        catch (CrlFormatException ex)
        {
            return Unreadable(location, "CRL", ex);
        }
    }

    public static Finding PublicKey(byte[] spkiDer, string location)
    {
        try
        {
            // Validates the structure; the hash is over the exact DER given.
            _ = new AsnReader(spkiDer, AsnEncodingRules.DER).ReadSequence();
            var spki = Convert.ToHexStringLower(SHA256.HashData(spkiDer));
            return new Finding(FindingKinds.PublicKey, spki, location) { SpkiSha256 = spki, Der = spkiDer };
        }
        catch (AsnContentException ex)
        {
            return Unreadable(location, "public key", ex);
        }
    }

    private static Finding RsaPublicKey(byte[] der, string location)
    {
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportRSAPublicKey(der, out _);
            return PublicKey(rsa.ExportSubjectPublicKeyInfo(), location);
        }
        catch (CryptographicException ex)
        {
            return Unreadable(location, "RSA public key", ex);
        }
    }

    /// <summary>A private key: the SPKI is derived from it (that derivation is the proof of possession), and the
    /// key is kept as PKCS#8 DER in <see cref="Finding.Der"/> for encryption at rest.</summary>
    public static Finding PrivateKey(string label, byte[] der, string location)
    {
        try
        {
            AsymmetricAlgorithm key;
            string form;
            switch (label)
            {
                case "RSA PRIVATE KEY":
                    var rsa = RSA.Create();
                    rsa.ImportRSAPrivateKey(der, out _);
                    key = rsa;
                    form = "PKCS#1 RSA";
                    break;
                case "EC PRIVATE KEY":
                    var ec = ECDsa.Create();
                    ec.ImportECPrivateKey(der, out _);
                    key = ec;
                    form = "SEC1 EC";
                    break;
                default:
                    var oid = Pkcs8Algorithm(der);
                    if (oid == RsaOid)
                    {
                        var r = RSA.Create();
                        r.ImportPkcs8PrivateKey(der, out _);
                        key = r;
                        form = "PKCS#8 RSA";
                    }
                    else if (oid == EcOid)
                    {
                        var e = ECDsa.Create();
                        e.ImportPkcs8PrivateKey(der, out _);
                        key = e;
                        form = "PKCS#8 EC";
                    }
                    else
                    {
                        return new Finding(FindingKinds.PrivateKey, "unsupported:" + oid, location)
                        {
                            Verified = false, Reason = $"A PKCS#8 private key of algorithm {oid}, which CprDesk cannot read yet; check it by hand.",
                        };
                    }
                    break;
            }
            using (key)
            {
                var spki = Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
                return new Finding(FindingKinds.PrivateKey, spki, location)
                {
                    SpkiSha256 = spki, Der = key.ExportPkcs8PrivateKey(), Verified = true,
                    Reason = $"{form} private key; its public key (SPKI SHA-256 {spki}) was derived from it.",
                };
            }
        }
        catch (Exception ex) when (ex is CryptographicException or AsnContentException)
        {
            return Unreadable(location, "private key", ex) with { Kind = FindingKinds.PrivateKey, Verified = false, Reason = $"The private key could not be read: {ex.Message}" };
        }
    }

    private static string? Pkcs8Algorithm(byte[] der)
    {
        var seq = new AsnReader(der, AsnEncodingRules.BER).ReadSequence();
        seq.ReadInteger();
        return seq.ReadSequence().ReadObjectIdentifier();
    }

    private static Finding Encrypted(string location, string form) =>
        new(FindingKinds.EncryptedPrivateKey, "encrypted", location)
        {
            Verified = false,
            Reason = $"An encrypted private key ({form}). CprDesk does not decrypt keys: ask the reporter for the key in clear or a CSR proof.",
        };

    private static Finding Unreadable(string location, string what, Exception ex) =>
        new(FindingKinds.Unreadable, what, location) { Reason = $"Looks like a {what} but could not be read: {ex.Message}" };

    public static string? CommonName(X500DistinguishedName name)
    {
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
            if (rdn.GetSingleElementType().Value == "2.5.4.3") return rdn.GetSingleElementValue();
        return null;
    }
}
