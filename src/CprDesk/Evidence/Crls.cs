// CRLs (RFC 5280 §5): parsed with System.Formats.Asn1 and their signature checked against the issuing CA's key.
// The seed case was a CRL signed with the wrong ECDSA key: "revoked" means published in a CRL that verifies.
using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CprDesk.Evidence;

public sealed class CrlFormatException(string message) : Exception(message);

public sealed record CrlEntry(string Serial, DateTime RevokedAt, int? ReasonCode)
{
    public string? ReasonName => ReasonCode is { } c ? CrlParser.ReasonName(c) : null;
}

public sealed record ParsedCrl(byte[] Der, byte[] TbsDer, string SignatureAlgorithm, byte[] Signature, X500DistinguishedName Issuer,
    DateTime ThisUpdate, DateTime? NextUpdate, string? CrlNumber, IReadOnlyList<CrlEntry> Entries);

public static class CrlParser
{
    public static ParsedCrl Parse(byte[] der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            var tbsDer = outer.PeekEncodedValue().ToArray();
            var tbs = outer.ReadSequence();
            var sigAlg = outer.ReadSequence().ReadObjectIdentifier();
            var signature = outer.ReadBitString(out _);
            if (tbs.PeekTag() == Asn1Tag.Integer) tbs.ReadInteger();
            var innerAlg = tbs.ReadSequence().ReadObjectIdentifier();
            if (innerAlg != sigAlg) throw new CrlFormatException($"the signature algorithm inside the CRL ({innerAlg}) differs from the outer one ({sigAlg})");
            var issuer = new X500DistinguishedName(tbs.ReadEncodedValue().Span);
            var thisUpdate = ReadTime(tbs);
            DateTime? nextUpdate = null;
            if (tbs.HasData && (tbs.PeekTag() == Asn1Tag.UtcTime || tbs.PeekTag() == Asn1Tag.GeneralizedTime)) nextUpdate = ReadTime(tbs);
            var entries = new List<CrlEntry>();
            if (tbs.HasData && tbs.PeekTag() == Asn1Tag.Sequence)
            {
                var list = tbs.ReadSequence();
                while (list.HasData)
                {
                    var e = list.ReadSequence();
                    var serial = Hex.SerialOf(e.ReadIntegerBytes().Span);
                    var at = ReadTime(e);
                    int? reason = null;
                    if (e.HasData)
                    {
                        var exts = e.ReadSequence();
                        while (exts.HasData)
                        {
                            var ext = exts.ReadSequence();
                            var oid = ext.ReadObjectIdentifier();
                            if (ext.PeekTag() == Asn1Tag.Boolean) ext.ReadBoolean();
                            var value = ext.ReadOctetString();
                            if (oid == "2.5.29.21")
                                reason = (int)new BigInteger(new AsnReader(value, AsnEncodingRules.DER).ReadEnumeratedBytes().Span, isUnsigned: false, isBigEndian: true);
                        }
                    }
                    entries.Add(new CrlEntry(serial, at, reason));
                }
            }
            string? number = null;
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, true)))
            {
                var exts = tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).ReadSequence();
                while (exts.HasData)
                {
                    var ext = exts.ReadSequence();
                    var oid = ext.ReadObjectIdentifier();
                    if (ext.PeekTag() == Asn1Tag.Boolean) ext.ReadBoolean();
                    var value = ext.ReadOctetString();
                    if (oid == "2.5.29.20") number = new AsnReader(value, AsnEncodingRules.DER).ReadInteger().ToString();
                }
            }
            return new ParsedCrl(der, tbsDer, sigAlg, signature, issuer, thisUpdate, nextUpdate, number, entries);
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException or ArgumentException or InvalidOperationException)
        {
            throw new CrlFormatException($"not a well-formed CRL: {ex.Message}");
        }
    }

    public static string ReasonName(int code) => code switch
    {
        0 => "unspecified", 1 => "keyCompromise", 2 => "cACompromise", 3 => "affiliationChanged", 4 => "superseded",
        5 => "cessationOfOperation", 6 => "certificateHold", 8 => "removeFromCRL", 9 => "privilegeWithdrawn", 10 => "aACompromise",
        _ => $"reason {code}",
    };

    private static DateTime ReadTime(AsnReader r) => r.PeekTag() == Asn1Tag.UtcTime
        ? r.ReadUtcTime().UtcDateTime
        : r.ReadGeneralizedTime().UtcDateTime;

    /// <summary>Checks the CRL's signature with <paramref name="issuer"/>'s public key. Null when it verifies; else why not.</summary>
    public static string? VerifySignature(ParsedCrl crl, X509Certificate2 issuer)
    {
        HashAlgorithmName hash;
        switch (crl.SignatureAlgorithm)
        {
            case "1.2.840.113549.1.1.11": case "1.2.840.10045.4.3.2": hash = HashAlgorithmName.SHA256; break;
            case "1.2.840.113549.1.1.12": case "1.2.840.10045.4.3.3": hash = HashAlgorithmName.SHA384; break;
            case "1.2.840.113549.1.1.13": case "1.2.840.10045.4.3.4": hash = HashAlgorithmName.SHA512; break;
            case "1.2.840.113549.1.1.5": case "1.2.840.10045.4.1": hash = HashAlgorithmName.SHA1; break;
            default: return $"the signature algorithm {crl.SignatureAlgorithm} is not supported";
        }
        var ecdsaAlg = crl.SignatureAlgorithm.StartsWith("1.2.840.10045", StringComparison.Ordinal);
        try
        {
            if (ecdsaAlg)
            {
                using var ec = issuer.GetECDsaPublicKey();
                if (ec is null) return "the CRL is signed with ECDSA but the issuer's key is not an EC key";
                return ec.VerifyData(crl.TbsDer, crl.Signature, hash, DSASignatureFormat.Rfc3279DerSequence) ? null : "ECDSA verification failure: the signature was not made by the issuer's key";
            }
            using var rsa = issuer.GetRSAPublicKey();
            if (rsa is null) return "the CRL is signed with RSA but the issuer's key is not an RSA key";
            return rsa.VerifyData(crl.TbsDer, crl.Signature, hash, RSASignaturePadding.Pkcs1) ? null : "RSA verification failure: the signature was not made by the issuer's key";
        }
        catch (CryptographicException ex)
        {
            return $"the signature could not be checked: {ex.Message}";
        }
    }
}

/// <summary>The result of checking one CRL. <see cref="Error"/> is a sentence naming the CRL and the expected issuer.</summary>
public sealed record CrlCheckResult(string Source, string? Issuer, string? ExpectedIssuer, bool SignatureValid, string? Error,
    DateTime? ThisUpdate, DateTime? NextUpdate, string? CrlNumber, IReadOnlyList<CrlEntry> Entries, IReadOnlyList<string> Warnings)
{
    public CrlEntry? Find(string serial)
    {
        var s = Hex.NormalizeSerial(serial);
        return Entries.FirstOrDefault(e => e.Serial == s);
    }
}

public static class CrlChecker
{
    /// <param name="candidates">Issuing CA certificates to try (from the inventory's --ca imports, or --issuer).</param>
    public static CrlCheckResult Check(string source, byte[] der, IReadOnlyList<X509Certificate2> candidates, DateTime now)
    {
        ParsedCrl crl;
        try
        {
            crl = CrlParser.Parse(der);
        }
        catch (CrlFormatException ex)
        {
            return new CrlCheckResult(source, null, null, false, $"CRL {source}: {ex.Message}.", null, null, null, [], []);
        }
        var warnings = new List<string>();
        if (crl.ThisUpdate > now.AddMinutes(5)) warnings.Add($"thisUpdate {crl.ThisUpdate:yyyy-MM-ddTHH:mm:ssZ} is in the future");
        if (crl.NextUpdate is { } next && next < now) warnings.Add($"nextUpdate {next:yyyy-MM-ddTHH:mm:ssZ} has passed: the CRL is stale");
        if (crl.NextUpdate is null) warnings.Add("no nextUpdate (required by RFC 5280 §5.1.2.5 for CAs under the BRs)");
        var issuerName = crl.Issuer.Name;
        var named = candidates.Where(c => c.SubjectName.RawData.AsSpan().SequenceEqual(crl.Issuer.RawData)).ToList();
        if (named.Count == 0)
        {
            var known = candidates.Count == 0 ? "no CA certificate is known (import them with 'inventory import --ca' or give --issuer)"
                : $"the known CA certificates are {string.Join("; ", candidates.Select(c => $"'{c.Subject}'").Distinct().Take(5))}";
            return new CrlCheckResult(source, issuerName, candidates.FirstOrDefault()?.Subject, false,
                $"CRL {source} names issuer '{issuerName}', but {known}: its signature cannot be checked.",
                crl.ThisUpdate, crl.NextUpdate, crl.CrlNumber, crl.Entries, warnings);
        }
        string? lastError = null;
        foreach (var ca in named)
        {
            var error = CrlParser.VerifySignature(crl, ca);
            if (error is null)
                return new CrlCheckResult(source, issuerName, ca.Subject, true, null, crl.ThisUpdate, crl.NextUpdate, crl.CrlNumber, crl.Entries, warnings);
            lastError = error;
        }
        var expected = named[0];
        var spki = CryptoObjects.SpkiOf(expected);
        return new CrlCheckResult(source, issuerName, expected.Subject, false,
            $"CRL {source} does not verify against its expected issuer '{expected.Subject}' (SPKI SHA-256 {spki}{(named.Count > 1 ? $", and {named.Count - 1} other certificate(s) of that name" : "")}): {lastError}.",
            crl.ThisUpdate, crl.NextUpdate, crl.CrlNumber, crl.Entries, warnings);
    }
}
