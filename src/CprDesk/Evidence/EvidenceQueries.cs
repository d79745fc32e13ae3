// The evidence of one report as the API and the staff page show it.
using System.Text.Json;
using System.Text.Json.Serialization;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Evidence;

public sealed record InventoryView(string SubscriberEmail, DateTime? NotAfter);

public sealed record CertificateView(string? Sha256, string? Serial, string? Issuer, string? SpkiSha256, string FoundIn, InventoryView? Inventory)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Subject { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? MatchedBy { get; init; }
}

/// <summary>A certificate of the inventory with a proven key; <see cref="Expired"/> at the time of the query.</summary>
public sealed record KeyCertificateView(string Sha256, string Serial, string? SubjectCn, string? SubscriberEmail, DateTime? NotAfter, bool Expired);

public sealed record KeyView(string? SpkiSha256, string Proof, bool Verified, string? Reason, string FoundIn, IReadOnlyList<KeyCertificateView> Certificates);

public sealed record CrlView(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? FileName,
    string? Issuer, bool SignatureValid, string? Error)
{
    public DateTime? ThisUpdate { get; init; }
    public DateTime? NextUpdate { get; init; }
    public int Entries { get; init; }
    public string? Warnings { get; init; }
}

public sealed record FindingView(string Kind, string Value, string Location, string? Reason);

public sealed record ProgressView(int Messages, int Pending, int Failed, int FindingsStored, int FindingsTotal);

public sealed record EvidenceView(IReadOnlyList<CertificateView> Certificates, IReadOnlyList<KeyView> Keys, IReadOnlyList<CrlView> Crls,
    string? SuggestedCategory, IReadOnlyList<string> SuggestionReasons)
{
    /// <summary>Extraction progress (bulk reports are processed in the background).</summary>
    public ProgressView? Progress { get; init; }
    /// <summary>Identifiers found (crt.sh links, fingerprints, serials, domains, CRL links, unreadable parts).</summary>
    public IReadOnlyList<FindingView> Identifiers { get; init; } = [];
    /// <summary>The text a reporter signs with a compromised key (shown on the report's status page).</summary>
    public string? Challenge { get; init; }
}

public sealed class EvidenceQueries(Database database, TimeProvider time)
{
    public const int MaxListed = 20_000;

    public async Task<EvidenceView?> GetAsync(string ticket, CancellationToken ct = default)
    {
        await using var db = database.Open();
        var reportId = await db.Reports.Where(r => r.Ticket == ticket).Select(r => (long?)r.Id).FirstOrDefaultAsync(ct);
        if (reportId is not { } id) return null;
        var now = time.GetUtcNow().UtcDateTime;
        var findings = await db.EvidenceFindings.AsNoTracking().Where(f => f.ReportId == id).OrderBy(f => f.Id).Take(MaxListed)
            .Select(f => new { f.Kind, f.Value, f.Location, f.Sha256, f.Serial, f.Issuer, f.Subject, f.SpkiSha256, f.Verified, f.Reason }).ToListAsync(ct);
        var matches = await db.EvidenceMatches.AsNoTracking().Where(m => m.ReportId == id)
            .Join(db.Inventory, m => m.InventoryId, i => i.Id, (m, i) => new { m.MatchedBy, m.FindingValue, i.Id, i.Sha256, i.Serial, i.SpkiSha256, i.SubjectCn, i.SubscriberEmail, i.NotAfter, i.Issuer })
            .Take(MaxListed).ToListAsync(ct);
        var bySha = matches.GroupBy(m => m.Sha256).ToDictionary(g => g.Key, g => g.First());

        var certs = new List<CertificateView>();
        var listed = new HashSet<string>();
        foreach (var f in findings.Where(f => f.Kind == FindingKinds.Certificate))
        {
            bySha.TryGetValue(f.Sha256!, out var inv);
            certs.Add(new CertificateView(f.Sha256, f.Serial, f.Issuer, f.SpkiSha256, f.Location,
                inv is null ? null : new InventoryView(inv.SubscriberEmail ?? "", inv.NotAfter)) { Subject = f.Subject, MatchedBy = inv is null ? null : "sha256" });
            listed.Add(f.Sha256!);
        }
        // Certificates found through the inventory (by serial, fingerprint, crt.sh link or key).
        foreach (var m in matches.Where(m => m.MatchedBy != "spki").OrderBy(m => m.Id))
        {
            if (!listed.Add(m.Sha256)) continue;
            var source = findings.FirstOrDefault(f => m.MatchedBy == "serial" ? f.Serial == m.FindingValue : f.Sha256 == m.FindingValue);
            certs.Add(new CertificateView(m.Sha256, m.Serial, m.Issuer, m.SpkiSha256, source?.Location ?? "inventory",
                new InventoryView(m.SubscriberEmail ?? "", m.NotAfter)) { Subject = m.SubjectCn, MatchedBy = m.MatchedBy });
        }

        var bySpki = matches.Where(m => m.SpkiSha256 != null).GroupBy(m => m.SpkiSha256!).ToDictionary(g => g.Key,
            g => (IReadOnlyList<KeyCertificateView>)g.DistinctBy(x => x.Id).Select(x => new KeyCertificateView(x.Sha256, x.Serial, x.SubjectCn, x.SubscriberEmail, x.NotAfter,
                x.NotAfter is { } na && na < now)).ToList());
        var keys = findings.Where(f => f.Kind is FindingKinds.PrivateKey or FindingKinds.EncryptedPrivateKey or FindingKinds.Csr or FindingKinds.ChallengeSignature or FindingKinds.PublicKey)
            .Select(f => new KeyView(f.SpkiSha256, f.Kind, f.Verified == true, f.Reason ?? (f.Kind == FindingKinds.PublicKey ? "A public key names the key; it proves nothing about who holds it." : null),
                f.Location, f.SpkiSha256 is { } s && bySpki.TryGetValue(s, out var list) ? list : []))
            .ToList();

        var crls = (await db.EvidenceCrls.AsNoTracking().Where(c => c.ReportId == id).OrderBy(c => c.Id).ToListAsync(ct))
            .Select(c => new CrlView(c.IsUrl ? c.Source : null, c.IsUrl ? null : c.Source, c.Issuer, c.SignatureValid, c.Error)
            {
                ThisUpdate = c.ThisUpdate, NextUpdate = c.NextUpdate, Entries = c.Entries, Warnings = c.Warnings,
            }).ToList();

        var re = await db.ReportEvidence.AsNoTracking().FirstOrDefaultAsync(r => r.ReportId == id, ct);
        var jobs = await db.EvidenceJobs.AsNoTracking().Where(j => j.ReportId == id).ToListAsync(ct);
        var identifiers = findings.Where(f => f.Kind is FindingKinds.CrtSh or FindingKinds.Sha256 or FindingKinds.Sha1 or FindingKinds.Serial
                or FindingKinds.Domain or FindingKinds.CrlUrl or FindingKinds.Unreadable or FindingKinds.Crl)
            .Select(f => new FindingView(f.Kind, f.Value, f.Location, f.Reason)).ToList();
        return new EvidenceView(certs, keys, crls, re?.SuggestedCategory,
            re?.SuggestionReasons is { } r ? JsonSerializer.Deserialize<List<string>>(r) ?? [] : [])
        {
            Progress = new ProgressView(jobs.Count, jobs.Count(j => j.Status == "pending"), jobs.Count(j => j.Status == "failed"), jobs.Sum(j => j.Done), jobs.Sum(j => j.Total)),
            Identifiers = identifiers,
            Challenge = re?.Challenge,
        };
    }

    public async Task<string?> ChallengeAsync(long reportId)
    {
        await using var db = database.Open();
        return await db.ReportEvidence.Where(r => r.ReportId == reportId).Select(r => r.Challenge).FirstOrDefaultAsync();
    }

    /// <summary>True when a message of the report carries private-key material (decides redaction of its raw bytes).</summary>
    public async Task<bool> MessageHasKeyMaterialAsync(long messageId)
    {
        await using var db = database.Open();
        return await db.EvidenceFindings.AnyAsync(f => f.MessageId == messageId && (f.Kind == FindingKinds.PrivateKey || f.Kind == FindingKinds.EncryptedPrivateKey));
    }
}
