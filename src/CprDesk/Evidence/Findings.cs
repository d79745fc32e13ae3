// What the extractor finds in a report and where: certificates, keys, CSRs, CRLs, identifiers.
namespace CprDesk.Evidence;

public static class FindingKinds
{
    public const string Certificate = "certificate";
    public const string Csr = "csr";
    public const string PrivateKey = "private-key";
    public const string EncryptedPrivateKey = "encrypted-private-key";
    public const string PublicKey = "public-key";
    public const string Crl = "crl";
    public const string CrlUrl = "crl-url";
    public const string CrtSh = "crtsh";
    public const string Sha256 = "sha256";
    public const string Sha1 = "sha1";
    public const string Serial = "serial";
    public const string Domain = "domain";
    public const string ChallengeSignature = "challenge-signature";
    public const string Unreadable = "unreadable";
}

/// <summary>One piece of evidence. <see cref="Value"/> is the normalised identifier (a certificate's SHA-256, a key's
/// SPKI SHA-256, a serial without leading zeros, a domain in lower case, the URL as given).</summary>
public sealed record Finding(string Kind, string Value, string Location)
{
    public string? SpkiSha256 { get; init; }
    public string? Serial { get; init; }
    public string? Sha256 { get; init; }
    public string? Issuer { get; init; }
    public string? Subject { get; init; }
    public DateTime? NotAfter { get; init; }
    /// <summary>DER of a certificate, CSR, CRL or public key; PKCS#8 DER of a private key (never stored in clear).</summary>
    public byte[]? Der { get; init; }
    /// <summary>For a proof (private key, CSR, challenge signature): whether it holds.</summary>
    public bool? Verified { get; init; }
    public string? Reason { get; init; }
}

/// <summary>Bounds for hostile input: archives and nested messages are expanded only this far.</summary>
public sealed record ExtractionLimits
{
    public int MaxDepth { get; init; } = 4;
    public int MaxArchiveEntries { get; init; } = 20_000;
    public long MaxExpandedBytes { get; init; } = 256L * 1024 * 1024;
    public long MaxEntryBytes { get; init; } = 32L * 1024 * 1024;
    public int MaxFindings { get; init; } = 100_000;
    /// <summary>Text larger than this is scanned for PEM blocks only, not for loose identifiers.</summary>
    public int MaxTextScanChars { get; init; } = 4 * 1024 * 1024;
}
