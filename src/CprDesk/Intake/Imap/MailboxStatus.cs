// What the dashboard, /healthz and /metrics say about the polled mailboxes.
using System.Globalization;
using System.Text;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake.Imap;

public sealed record MailboxFolderView(string Name, string? SpecialUse, bool IsJunk, long? UidValidity, int ServerCount, int StoredCount, int MissingCount,
    DateTime? LastPolledAt, string? LastError, DateTime? GoneAt);

public sealed record MailboxView(string Name, string Host, int Port, string Tls, string User, int IntervalSeconds, DateTime? LastAttemptAt, DateTime? LastSuccessAt,
    string? LastError, DateTime? FailingSince, DateTime? FailureAlarmAt, DateTime? LastMessageAt, int MissingCount, IReadOnlyList<MailboxFolderView> Folders)
{
    /// <summary>failing-alarm (failing for 10 minutes or more), failing, missing-messages, never-polled, ok.</summary>
    public string State(DateTime now) =>
        FailingSince is { } since && now - since >= MailboxPoller.FailureAlarmAfter ? "failing-alarm"
        : FailingSince is not null ? "failing"
        : MissingCount > 0 ? "missing-messages"
        : LastSuccessAt is null ? "never-polled"
        : "ok";
}

public sealed record MailboxHealth(string Name, string State, bool Ok, DateTime? LastSuccess, long? LastSuccessAgeSeconds, long? LastMessageAgeSeconds,
    DateTime? FailingSince, string? LastError, int MissingMessages);

public sealed class MailboxStatus(MailboxPollers pollers, Database database, TimeProvider time)
{
    public async Task<IReadOnlyList<MailboxView>> LoadAsync(CancellationToken ct = default)
    {
        if (pollers.All.Count == 0) return [];
        await using var db = database.Open();
        var rows = await db.Mailboxes.AsNoTracking().ToDictionaryAsync(m => m.Name, ct);
        var folders = await db.MailboxFolders.AsNoTracking().OrderBy(f => f.Name).ToListAsync(ct);
        // Stored messages per folder under its current UIDVALIDITY.
        var stored = await (from u in db.MailboxStoredUids
                            join f in db.MailboxFolders on u.FolderId equals f.Id
                            where u.UidValidity == f.UidValidity
                            group u by u.FolderId into g
                            select new { FolderId = g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.FolderId, x => x.Count, ct);
        return pollers.All.Select(p =>
        {
            var s = p.Settings;
            rows.TryGetValue(s.Name, out var row);
            var fs = folders.Where(f => f.Mailbox == s.Name).Select(f => new MailboxFolderView(f.Name, f.SpecialUse, f.IsJunk, f.UidValidity, f.ServerCount,
                stored.GetValueOrDefault(f.Id), f.MissingCount, f.LastPolledAt, f.LastError, f.GoneAt)).ToList();
            return new MailboxView(s.Name, s.Host, s.EffectivePort, s.Tls.ToString(), s.User, s.IntervalSeconds, row?.LastAttemptAt, row?.LastSuccessAt, row?.LastError,
                row?.FailingSince, row?.FailureAlarmAt, row?.LastMessageAt, fs.Where(f => f.GoneAt is null).Sum(f => f.MissingCount), fs);
        }).ToList();
    }

    /// <summary>For /healthz: one entry per mailbox; <c>Ok</c> is false when it has failed for ten minutes or messages are missing.</summary>
    public async Task<IReadOnlyList<MailboxHealth>> HealthAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return (await LoadAsync(ct)).Select(m => new MailboxHealth(m.Name, m.State(now), m.State(now) is "ok" or "failing" or "never-polled",
            m.LastSuccessAt, Age(m.LastSuccessAt, now), Age(m.LastMessageAt, now), m.FailingSince, m.LastError, m.MissingCount)).ToList();
    }

    public static bool Healthy(IReadOnlyList<MailboxHealth> health) => health.All(h => h.Ok);

    /// <summary>Prometheus text for the mailboxes (appended to /metrics).</summary>
    public async Task<string> MetricsAsync(CancellationToken ct = default)
    {
        var boxes = await LoadAsync(ct);
        if (boxes.Count == 0) return "";
        var now = time.GetUtcNow().UtcDateTime;
        var sb = new StringBuilder();
        void Help(string name, string help) => sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n");
        Help("cprdesk_imap_last_success_age_seconds", "Seconds since the mailbox was last polled successfully (absent before the first success).");
        foreach (var m in boxes.Where(m => m.LastSuccessAt is not null))
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_imap_last_success_age_seconds{{mailbox=\"{Label(m.Name)}\"}} {Age(m.LastSuccessAt, now)}\n");
        Help("cprdesk_imap_last_message_age_seconds", "Seconds since the newest stored message of the mailbox arrived there (its INTERNALDATE).");
        foreach (var m in boxes.Where(m => m.LastMessageAt is not null))
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_imap_last_message_age_seconds{{mailbox=\"{Label(m.Name)}\"}} {Age(m.LastMessageAt, now)}\n");
        Help("cprdesk_imap_failing_seconds", "Seconds the mailbox's poller has been failing (0 while it works).");
        foreach (var m in boxes)
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_imap_failing_seconds{{mailbox=\"{Label(m.Name)}\"}} {Age(m.FailingSince, now) ?? 0}\n");
        Help("cprdesk_imap_missing_messages", "Messages on the server that are not stored (reconciliation).");
        foreach (var m in boxes)
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_imap_missing_messages{{mailbox=\"{Label(m.Name)}\"}} {m.MissingCount}\n");
        Help("cprdesk_imap_folder_messages", "Messages in each folder on the server at the last poll.");
        foreach (var m in boxes)
            foreach (var f in m.Folders.Where(f => f.GoneAt is null))
                sb.Append(CultureInfo.InvariantCulture, $"cprdesk_imap_folder_messages{{mailbox=\"{Label(m.Name)}\",folder=\"{Label(f.Name)}\"}} {f.ServerCount}\n");
        return sb.ToString();
    }

    private static long? Age(DateTime? at, DateTime now) => at is { } a ? (long)Math.Round((now - a).TotalSeconds) : null;

    /// <summary>Prometheus label value escaping: backslash, double quote, newline.</summary>
    private static string Label(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
