// Tells the admins about coverage gaps: when a change creates one, and once a day while one lies within a week.
using CprDesk.Notifications;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.OnCall;

public static class GapWarnings
{
    public const string EventType = "oncall.gap-warning";
    public static readonly TimeSpan DailyHorizon = TimeSpan.FromDays(7);

    /// <summary>Queues one email per admin listing <paramref name="gaps"/>, and records the warning. Returns who was told.</summary>
    public static async Task<IReadOnlyList<string>> WarnAdminsAsync(WriteScope s, Outbox outbox, IReadOnlyList<ScheduleGap> gaps, string why)
    {
        if (gaps.Count == 0) return [];
        var lines = string.Join("\n", gaps.Select(g => $"- {g.Schedule}: {g.From:yyyy-MM-dd HH:mm} to {g.To:yyyy-MM-dd HH:mm} UTC"));
        var text = $"""
            Nobody is on call during these intervals ({why}):

            {lines}

            A Certificate Problem Report arriving then pages nobody until the deadline steps reach the admins.
            Arrange cover with an override (POST /api/v1/overrides) or change the schedule.
            """;
        var admins = await outbox.TellAdminsAsync(s, "On-call coverage gap", text);
        var told = admins.Select(a => a.Username).ToList();
        await s.AuditAsync("system", EventType, null, new { why, gaps = gaps.Select(g => new { schedule = g.Schedule, from = g.From, to = g.To }), told });
        return told;
    }

    /// <summary>The daily reminder: at most one warning per UTC day while any gap lies within the next week.</summary>
    public static async Task DailyAsync(Database database, TimeProvider time, OnCallStore onCall, Outbox outbox)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var today = now.Date;
        await using (var db = database.Open())
            if (await db.AuditEvents.AnyAsync(e => e.Type == EventType && e.At >= today && e.Detail.Contains("\"why\":\"daily\""))) return;
        var gaps = OnCallStore.Gaps(await onCall.LoadAsync(), now, now + DailyHorizon);
        if (gaps.Count == 0) return;
        await database.WriteAsync(time, s => WarnAdminsAsync(s, outbox, gaps, "daily"));
    }
}
