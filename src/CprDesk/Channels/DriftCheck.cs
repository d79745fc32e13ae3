// Drift: what the registry says against what the CPS (section 1.5.2) and the CCADB publish. Each difference is a
// finding; a finding not seen before is audited and told to the admins, one no longer found is marked resolved.
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

/// <param name="Kind">unregistered (published, not in the registry), unpublished (in the registry, published nowhere
/// checked), inconsistent (published in one place and not another, or not where the registry says).</param>
public sealed record DriftFinding(string Kind, string Value, string Detail)
{
    public string Key => $"{Kind}|{Value}|{Detail}";
}

/// <summary>The published sources as read: null when that source was not checked.</summary>
public sealed record PublishedSet(IReadOnlyList<string>? Cps, CcadbListing? Ccadb);

public static class DriftCheck
{
    public const string CheckedEvent = "channels.drift-checked";

    public static PublishedSet Read(string? ccadbFile, string? cpsFile, string? caOwnerName)
    {
        CcadbListing? ccadb = null;
        IReadOnlyList<string>? cps = null;
        if (ccadbFile is not null)
        {
            if (string.IsNullOrWhiteSpace(caOwnerName)) throw DeskException.Invalid("caOwner", "Reading the CCADB file needs our CA owner name (CprDesk:Channels:CaOwnerName or --ca-owner).");
            ccadb = CcadbCsv.Read(ReadFile(ccadbFile, "ccadb"), caOwnerName);
        }
        if (cpsFile is not null) cps = CpsText.Addresses(ReadFile(cpsFile, "cps"));
        if (ccadb is null && cps is null) throw DeskException.Invalid("sources", "Give a CCADB CSV file, a CPS file, or both.");
        return new PublishedSet(cps, ccadb);
    }

    private static string ReadFile(string path, string field)
    {
        try { return File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw DeskException.Invalid(field, $"Cannot read {path}: {ex.Message}");
        }
    }

    /// <summary>Every difference between the registry and the published sources, in a stable order.</summary>
    public static IReadOnlyList<DriftFinding> Compare(IReadOnlyList<ChannelRow> registry, PublishedSet published)
    {
        var places = new Dictionary<string, IReadOnlyList<string>>();
        if (published.Cps is { } cps) places["cps"] = cps;
        if (published.Ccadb is { } c)
        {
            places["ccadb-prm"] = c.ProblemReporting;
            // The alias columns are only in some CCADB reports; an absent column is not an empty one.
            if (c.Alias1.Count > 0) places["ccadb-alias1"] = c.Alias1;
            if (c.Alias2.Count > 0) places["ccadb-alias2"] = c.Alias2;
        }
        var where = places.SelectMany(p => p.Value.Select(v => (Value: v, Place: p.Key)))
            .GroupBy(x => x.Value).ToDictionary(g => g.Key, g => g.Select(x => x.Place).ToHashSet());
        var registered = registry.ToDictionary(r => r.Address, StringComparer.Ordinal);
        var findings = new List<DriftFinding>();

        foreach (var (value, at) in where.OrderBy(x => x.Key, StringComparer.Ordinal))
        {
            if (!registered.ContainsKey(value))
                findings.Add(new DriftFinding("unregistered", value, $"published in {string.Join(", ", at.Order())} but not in the registry"));
            // CPS §1.5.2 and the CCADB's Problem Reporting Mechanism should name the same channels.
            if (places.ContainsKey("cps") && places.ContainsKey("ccadb-prm") && at.Contains("cps") != at.Contains("ccadb-prm"))
                findings.Add(new DriftFinding("inconsistent", value, at.Contains("cps")
                    ? "in CPS section 1.5.2 but not in the CCADB Problem Reporting Mechanism"
                    : "in the CCADB Problem Reporting Mechanism but not in CPS section 1.5.2"));
        }
        foreach (var r in registry.OrderBy(r => r.Address, StringComparer.Ordinal))
        {
            var at = where.GetValueOrDefault(r.Address) ?? [];
            var claimed = r.PublishedIn.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var place in claimed.Where(places.ContainsKey).Where(p => !at.Contains(p)))
                findings.Add(new DriftFinding("inconsistent", r.Address, $"the registry says it is published in {place}, but {place} does not list it"));
            // Published where we checked, but the registry does not say so.
            foreach (var place in at.Where(p => !claimed.Contains(p)).Order())
                findings.Add(new DriftFinding("inconsistent", r.Address, $"published in {place}, but the registry does not say so"));
            // Only the website is not read here; a channel claimed only there is not "published nowhere".
            if (at.Count == 0 && !claimed.Any(p => !places.ContainsKey(p)))
                findings.Add(new DriftFinding("unpublished", r.Address, $"in the registry but not published in {string.Join(", ", places.Keys.Order())}"));
        }
        return findings;
    }

    /// <summary>Records a check: new findings are audited and told to the admins, vanished ones resolved. Returns the new ones.</summary>
    public static Task<IReadOnlyList<DriftFinding>> RecordAsync(Database database, TimeProvider time, Outbox outbox, IReadOnlyList<DriftFinding> findings, string actor) =>
        database.WriteAsync(time, async s =>
        {
            var open = await s.Db.DriftFindings.Where(f => f.ResolvedAt == null).ToListAsync();
            var openKeys = open.ToDictionary(f => f.FindingKey);
            var fresh = new List<DriftFinding>();
            foreach (var f in findings.DistinctBy(f => f.Key))
            {
                if (openKeys.TryGetValue(f.Key, out var row)) { row.LastSeenAt = s.Now; continue; }
                s.Db.DriftFindings.Add(new DriftFindingRow { FindingKey = f.Key, Kind = f.Kind, Value = f.Value, Detail = f.Detail, FirstSeenAt = s.Now, LastSeenAt = s.Now });
                fresh.Add(f);
            }
            foreach (var gone in open.Where(o => !findings.Any(f => f.Key == o.FindingKey)))
            {
                gone.ResolvedAt = s.Now;
                await s.AuditAsync(actor, "channels.drift-resolved", null, new { gone.Kind, gone.Value, gone.Detail });
            }
            foreach (var f in fresh) await s.AuditAsync(actor, "channels.drift-found", null, new { f.Kind, f.Value, f.Detail });
            if (fresh.Count > 0)
                await AdminNotice.SendAsync(s, outbox, "Published CPR channels have drifted",
                    $"""
                    A check of the published CPR channels against the registry found new differences:

                    {string.Join("\n", fresh.Select(f => $"- {f.Kind}: {f.Value}: {f.Detail}"))}

                    Reporters use what is published (CPS section 1.5.2, the website, the CCADB). Correct the publication or the
                    registry (/staff/channels or `cprdesk channels`).
                    """, "channels.drift-notified");
            await s.AuditAsync(actor, CheckedEvent, null, new { findings = findings.Count, fresh = fresh.Count });
            return (IReadOnlyList<DriftFinding>)fresh;
        });
}

/// <summary>Mail to every active admin with an address, the way coverage-gap warnings go (OnCall/GapWarnings).</summary>
public static class AdminNotice
{
    public static async Task<IReadOnlyList<string>> SendAsync(WriteScope s, Outbox outbox, string subject, string text, string eventType)
    {
        var admins = await outbox.TellAdminsAsync(s, subject, text);
        foreach (var a in admins.Where(a => !string.IsNullOrWhiteSpace(a.WebhookUrl)))
            await outbox.QueueWebhookAsync(s, null, null, a.WebhookUrl!, subject, new { text = subject, detail = text }, "system", null);
        var told = admins.Select(a => a.Username).ToList();
        await s.AuditAsync("system", eventType, null, new { subject, told });
        return told;
    }
}
