// Recognises what a reporter pasted to identify certificates: serials, fingerprints, crt.sh links, PEM.
// Deeper evidence work (keys, CSRs, inventory matching) belongs to Evidence/.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace CprDesk.Reports;

public sealed record IdentifiedCertificate(string Kind, string Value);

public static partial class CertificateIdentifiers
{
    public const int MaxValueLength = 20_000;

    /// <summary>Splits free text (one identifier a line, PEM blocks kept whole) into identifiers.</summary>
    public static IReadOnlyList<string> SplitFreeText(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var items = new List<string>();
        var rest = PemBlock().Replace(text, m => { items.Add(m.Value); return "\n"; });
        foreach (var line in rest.Split('\n'))
        {
            var t = line.Trim();
            if (t.Length > 0) items.Add(t);
        }
        return items;
    }

    public static IReadOnlyList<IdentifiedCertificate> Identify(string raw)
    {
        var value = raw.Trim();
        if (value.Length == 0) return [];
        if (value.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            var found = new List<IdentifiedCertificate> { new("pem", value) };
            try
            {
                using var cert = X509Certificate2.CreateFromPem(value);
                found.Add(new("sha256", Convert.ToHexStringLower(SHA256.HashData(cert.RawData))));
                found.Add(new("serial", cert.SerialNumber.ToLowerInvariant()));
            }
            catch (CryptographicException)
            {
                // Kept as given; the PEM itself is evidence even when it does not parse.
            }
            return found;
        }
        if (value.Contains("crt.sh", StringComparison.OrdinalIgnoreCase)) return [new("crtsh", value)];
        var hex = value.Replace(":", "").Replace(" ", "");
        if (HexOnly().IsMatch(hex))
        {
            var lower = hex.ToLowerInvariant();
            return hex.Length switch
            {
                64 => [new("sha256", lower)],
                40 => [new("sha1-or-serial", lower)],
                _ => [new("serial", lower)],
            };
        }
        return [new("text", value)];
    }

    [GeneratedRegex(@"-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----")]
    private static partial Regex PemBlock();

    [GeneratedRegex("^[0-9a-fA-F]{2,}$")]
    private static partial Regex HexOnly();
}
