// The Appendix: one CSV row per certificate the incident's reports name, in the IRG's columns and order.
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CprDesk.Deadlines;
using CprDesk.Storage;

namespace CprDesk.Compliance.Incidents;

public sealed record AppendixCertificate(
    string? PrecertificateSha256, string? CertificateSha256, string? Subject, string? Issuer, DateTime? NotBefore, DateTime? NotAfter,
    string? SerialHex, IReadOnlyList<string> DnsNames, string IsRevoked, string RevocationDate, string RevocationReason);

public static class IncidentAppendix
{
    /// <summary>The IRG v3.2 columns, in the required order. Custom columns may only be appended to the right.</summary>
    public static readonly string[] Columns =
    [
        "Precertificate SHA-256 hash", "Certificate SHA-256 hash", "Subject", "Issuer", "Not before", "Not after", "Serial #", "dNSNames",
        "Is revoked?", "Revocation date", "Revocation reason",
    ];

    /// <summary>The certificates of the incident: the inventory certificates the evidence service matched to its
    /// reports (the DER, where imported, gives every column; a CSV row gives its own), then what the reports name
    /// that the inventory does not know (a pasted PEM gives every column; a bare SHA-256 or serial gives its own).</summary>
    public static IReadOnlyList<AppendixCertificate> Certificates(IncidentDetail d, DateTime now)
    {
        var rows = new List<AppendixCertificate>();
        foreach (var r in d.Reports)
        {
            var fromPem = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var revocation = Revocation(r, now);
            foreach (var inv in d.Inventory.GetValueOrDefault(r.Id) ?? [])
            {
                if (!fromPem.Add(inv.Sha256)) continue;
                fromPem.Add(inv.Serial);
                var rev = r.RevocationPublishedAt is null && inv.NotAfter < now ? ("N/A", "N/A") : revocation;
                if (inv.Der is { Length: > 0 } der)
                {
                    try
                    {
                        using var cert = X509CertificateLoader.LoadCertificate(der);
                        rows.Add(FromCertificate(cert, rev, r.CrlReason));
                        continue;
                    }
                    catch (CryptographicException) { /* fall back to the inventory's columns */ }
                }
                rows.Add(new AppendixCertificate(null, inv.Sha256, inv.SubjectCn is null ? null : "CN=" + inv.SubjectCn, inv.Issuer, inv.NotBefore, inv.NotAfter,
                    inv.Serial, (inv.Sans ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), rev.Item1, rev.Item2, r.CrlReason ?? "N/A"));
            }
            foreach (var id in r.Certificates.Where(c => c.Kind == "pem"))
            {
                try
                {
                    using var cert = X509Certificate2.CreateFromPem(id.Value);
                    var sha = Convert.ToHexStringLower(SHA256.HashData(cert.RawData));
                    if (!fromPem.Add(sha)) continue; // already listed from the inventory
                    fromPem.Add(cert.SerialNumber.ToLowerInvariant());
                    var rev = r.RevocationPublishedAt is null && cert.NotAfter.ToUniversalTime() < now ? ("N/A", "N/A") : revocation;
                    rows.Add(FromCertificate(cert, rev, r.CrlReason));
                }
                catch (CryptographicException) { /* not a certificate after all: the text identifier stays on the report */ }
            }
            foreach (var id in r.Certificates.Where(c => c.Kind is "sha256" or "serial" && !fromPem.Contains(c.Value)))
                rows.Add(new AppendixCertificate(null, id.Kind == "sha256" ? id.Value.ToLowerInvariant() : null, null, null, null, null,
                    id.Kind == "serial" ? id.Value.ToLowerInvariant() : null, [], revocation.Item1, revocation.Item2, r.CrlReason ?? "N/A"));
        }
        return rows;
    }

    private static AppendixCertificate FromCertificate(X509Certificate2 cert, (string, string) rev, string? crlReason)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(cert.RawData));
        var names = new List<string>();
        foreach (var ext in cert.Extensions.OfType<X509SubjectAlternativeNameExtension>()) names.AddRange(ext.EnumerateDnsNames());
        return new AppendixCertificate(IsPrecertificate(cert) ? sha : null, IsPrecertificate(cert) ? null : sha, cert.Subject, cert.Issuer,
            cert.NotBefore.ToUniversalTime(), cert.NotAfter.ToUniversalTime(), cert.SerialNumber.ToLowerInvariant(), names, rev.Item1, rev.Item2, crlReason ?? "N/A");
    }

    private static bool IsPrecertificate(X509Certificate2 cert) =>
        cert.Extensions.Any(e => e.Oid?.Value == "1.3.6.1.4.1.11129.2.4.3"); // CT poison (RFC 6962 §3.1)

    private static (string, string) Revocation(Report r, DateTime now)
    {
        if (r.RevocationPublishedAt is { } published) return ("Yes", Iso(published));
        var clock = r.Deadlines.FirstOrDefault(c => c.Name == ClockNames.Revocation);
        if (clock is null || clock.WaivedAt is not null) return ("N/A", "N/A");
        return clock.DueAt < now ? ("Delayed", "N/A") : ("Planned", Iso(clock.DueAt));
    }

    private static string Iso(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Csv(IReadOnlyList<AppendixCertificate> certs)
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(',', Columns.Select(Field))).Append("\r\n");
        foreach (var c in certs)
            sb.Append(string.Join(',', new[]
            {
                c.PrecertificateSha256 ?? "N/A", c.CertificateSha256 ?? "N/A", c.Subject ?? "", c.Issuer ?? "",
                c.NotBefore is { } nb ? Iso(nb) : "", c.NotAfter is { } na ? Iso(na) : "", c.SerialHex ?? "", string.Join(' ', c.DnsNames),
                c.IsRevoked, c.RevocationDate, c.RevocationReason,
            }.Select(Field))).Append("\r\n");
        return sb.ToString();
    }

    /// <summary>RFC 4180 quoting; a leading formula character is neutralised for spreadsheet users.</summary>
    private static string Field(string v)
    {
        if (v.Length > 0 && "=+-@".Contains(v[0])) v = "'" + v;
        return v.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
    }
}
