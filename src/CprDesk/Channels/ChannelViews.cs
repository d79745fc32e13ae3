// Read models: each channel with where it is published, its last canary and its drift findings; its health.
using System.Globalization;
using System.Text;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

public sealed record CanaryView(long Id, DateTime SentAt, string Outcome, DateTime? ReceivedAt, DateTime? AckAt, string? Ticket, bool ReportCreated, bool ClockStarted, string? SendResult);

public sealed record FindingView(string Kind, string Detail, DateTime FirstSeenAt);

public sealed record ChannelView(long Id, string Kind, string? Address, string? Url, string? Owner, string? Purpose, IReadOnlyList<string> PublishedIn,
    string Route, int? MaxSilenceHours, bool GroupAlias, IReadOnlyList<string> AliasMembers, bool CanaryEnabled, int CanaryEveryMinutes,
    int LateAfterMinutes, DateTime? NextCanaryAt, CanaryView? LastCanary, IReadOnlyList<FindingView> DriftFindings)
{
    /// <summary>From the last decided canary, as Checkmk's check_mail_loop grades it: ok (passed), degraded (late: not
    /// acknowledged within its limit, whether or not the acknowledgement came since), failing (lost or not sent),
    /// unknown (no canary decided yet).</summary>
    public string Health => LastDecided switch
    {
        null => "unknown",
        CanaryOutcome.Passed => "ok",
        CanaryOutcome.Late => "degraded",
        _ => "failing",
    };
    internal string? LastDecided { get; init; }
}

public sealed class ChannelViews(Database database)
{
    public async Task<IReadOnlyList<ChannelView>> ListAsync()
    {
        await using var db = database.Open();
        var channels = await db.Channels.AsNoTracking().OrderBy(c => c.Kind).ThenBy(c => c.Address).ToListAsync();
        var lastIds = await db.CanaryRuns.AsNoTracking().Where(r => r.ChannelId != null).GroupBy(r => r.ChannelId)
            .Select(g => g.Max(r => r.Id)).ToListAsync();
        var lastDecidedIds = await db.CanaryRuns.AsNoTracking().Where(r => r.ChannelId != null && r.Outcome != CanaryOutcome.Pending).GroupBy(r => r.ChannelId)
            .Select(g => g.Max(r => r.Id)).ToListAsync();
        var runs = await db.CanaryRuns.AsNoTracking().Where(r => lastIds.Contains(r.Id) || lastDecidedIds.Contains(r.Id)).ToListAsync();
        var findings = await db.DriftFindings.AsNoTracking().Where(f => f.ResolvedAt == null).ToListAsync();
        return channels.Select(c =>
        {
            var last = runs.Where(r => r.ChannelId == c.Id).MaxBy(r => r.Id);
            var decided = runs.Where(r => r.ChannelId == c.Id && r.Outcome != CanaryOutcome.Pending).MaxBy(r => r.Id);
            return new ChannelView(c.Id, c.Kind, c.Kind == "email" ? c.Address : null, c.Kind == "email" ? null : c.Address, c.Owner, c.Purpose,
                Split(c.PublishedIn), c.Route, c.MaxSilenceHours, c.GroupAlias, Split(c.AliasMembers), c.CanaryEnabled, c.CanaryEveryMinutes,
                c.LateAfterMinutes, c.NextCanaryAt, last is null ? null : View(last),
                findings.Where(f => f.Value == c.Address).Select(f => new FindingView(f.Kind, f.Detail, f.FirstSeenAt)).ToList())
            { LastDecided = decided?.Outcome };
        }).ToList();
    }

    public async Task<IReadOnlyList<CanaryView>> RunsAsync(long channelId, int limit)
    {
        await using var db = database.Open();
        return (await db.CanaryRuns.AsNoTracking().Where(r => r.ChannelId == channelId).OrderByDescending(r => r.Id).Take(limit).ToListAsync()).Select(View).ToList();
    }

    public static CanaryView View(CanaryRunRow r) => new(r.Id, r.SentAt, r.Outcome, r.ReceivedAt, r.AckAt, r.Ticket, r.ReportId is not null, r.ClockStarted, r.SendResult);

    /// <summary>For /healthz: "failing" when a channel's last decided canary was lost or not sent, else "degraded" when
    /// one was late, else "ok".</summary>
    public async Task<object> HealthAsync()
    {
        var list = await ListAsync();
        var failing = list.Where(c => c.Health == "failing").Select(c => c.Address ?? c.Url).ToList();
        var degraded = list.Where(c => c.Health == "degraded").Select(c => c.Address ?? c.Url).ToList();
        return new { status = failing.Count > 0 ? "failing" : degraded.Count > 0 ? "degraded" : "ok", failing, degraded };
    }

    /// <summary>Prometheus lines: each channel's canary health and the open drift findings.</summary>
    public async Task AppendMetricsAsync(StringBuilder sb)
    {
        var list = await ListAsync();
        sb.Append("# HELP cprdesk_channel_canary_ok 1 if the channel's last decided canary passed, 0 if it was late, lost or not sent (absent before the first).\n# TYPE cprdesk_channel_canary_ok gauge\n");
        foreach (var c in list.Where(c => c.Health != "unknown"))
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_channel_canary_ok{{channel=\"{Escape(c.Address ?? c.Url!)}\",outcome=\"{c.LastDecided}\"}} {(c.Health == "ok" ? 1 : 0)}\n");
        sb.Append("# HELP cprdesk_channel_canary_state The channel's last decided canary as Checkmk grades it: 0 passed, 1 late (warning), 2 lost or not sent (critical).\n# TYPE cprdesk_channel_canary_state gauge\n");
        foreach (var c in list.Where(c => c.Health != "unknown"))
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_channel_canary_state{{channel=\"{Escape(c.Address ?? c.Url!)}\"}} {(c.Health == "ok" ? 0 : c.Health == "degraded" ? 1 : 2)}\n");
        sb.Append("# HELP cprdesk_channel_drift_findings Open differences between the channel registry and the CPS/CCADB.\n# TYPE cprdesk_channel_drift_findings gauge\n");
        await using var db = database.Open();
        sb.Append(CultureInfo.InvariantCulture, $"cprdesk_channel_drift_findings {await db.DriftFindings.CountAsync(f => f.ResolvedAt == null)}\n");
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static IReadOnlyList<string> Split(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
