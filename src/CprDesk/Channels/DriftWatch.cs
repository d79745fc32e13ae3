// The daily drift check over the configured CCADB report and CPS files.
using CprDesk.Notifications;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

public sealed class DriftWatch(Database database, TimeProvider time, ChannelSettings settings, ChannelRegistry registry, Outbox outbox, ILogger<DriftWatch> log)
{
    public static readonly TimeSpan Every = TimeSpan.FromDays(1);

    public bool Configured => settings.CcadbCsv is not null || settings.CpsFile is not null;

    /// <summary>Checks when the last recorded check is a day old (or there is none). Restart-safe: the last check is an audit event.</summary>
    public async Task DailyAsync(CancellationToken ct)
    {
        if (!Configured) return;
        var since = time.GetUtcNow().UtcDateTime - Every;
        await using (var db = database.Open())
            if (await db.AuditEvents.AnyAsync(e => e.Type == DriftCheck.CheckedEvent && e.At > since, ct)) return;
        await CheckAsync("system");
    }

    /// <summary>Reads the configured sources, compares, records. Returns every current finding and the new ones.</summary>
    public async Task<(IReadOnlyList<DriftFinding> All, IReadOnlyList<DriftFinding> Fresh)> CheckAsync(string actor)
    {
        var published = DriftCheck.Read(settings.CcadbCsv, settings.CpsFile, settings.CaOwnerName);
        var findings = DriftCheck.Compare(await registry.ListAsync(), published);
        var fresh = await DriftCheck.RecordAsync(database, time, outbox, findings, actor);
        if (fresh.Count > 0) log.LogWarning("Channel drift: {Count} new difference(s) between the registry and the published channels", fresh.Count);
        return (findings, fresh);
    }

    public async Task<IReadOnlyList<DriftFindingRow>> OpenFindingsAsync()
    {
        await using var db = database.Open();
        return await db.DriftFindings.AsNoTracking().Where(f => f.ResolvedAt == null).OrderBy(f => f.Value).ThenBy(f => f.Kind).ToListAsync();
    }
}
