// Intake health (DOMAIN.md F10: a queue silently broken for weeks): per channel the age of the last message,
// the oldest message stored but not processed, and the spam scorer's state, for /healthz and /metrics.
using System.Globalization;
using System.Text;
using CprDesk.Intake.Spam;
using CprDesk.Storage;
using CprDesk.Web;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake.Health;

/// <summary><c>CprDesk:Intake</c>.</summary>
public sealed class IntakeHealthSettings
{
    public const string Section = "CprDesk:Intake";

    /// <summary>Per channel (email, web-form, api, …): the longest silence that is normal. Longer, and the admins are told.</summary>
    public IReadOnlyDictionary<string, TimeSpan> ExpectedSilence { get; init; } = new Dictionary<string, TimeSpan>();

    /// <summary>Reads <c>CprDesk:Intake:ExpectedSilence:&lt;channel&gt;</c> (a TimeSpan such as <c>04:00:00</c> or <c>1.00:00:00</c>).</summary>
    public static IntakeHealthSettings From(IConfiguration configuration)
    {
        var expected = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var child in configuration.GetSection(Section + ":ExpectedSilence").GetChildren())
        {
            if (string.IsNullOrWhiteSpace(child.Value)) continue;
            if (!TimeSpan.TryParse(child.Value, CultureInfo.InvariantCulture, out var span) || span <= TimeSpan.Zero)
                throw new InvalidOperationException($"{Section}:ExpectedSilence:{child.Key} must be a positive TimeSpan such as 04:00:00 (4 hours) or 1.00:00:00 (1 day), not '{child.Value}'.");
            expected[child.Key] = span;
        }
        return new IntakeHealthSettings { ExpectedSilence = expected };
    }
}

public sealed record ChannelHealth(string Channel, DateTime? LastMessageAt, double? LastMessageAgeSeconds, double? ExpectedSilenceSeconds, bool Silent)
{
    /// <summary>Since when nothing arrived: the last message, or the desk's beginning if none ever did.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTime SilentSince { get; init; }
}

public sealed record UnprocessedHealth(int Count, long? OldestMessageId, DateTime? OldestAcceptedAt, double? OldestAgeSeconds);

public sealed record IntakeHealthSnapshot(IReadOnlyList<ChannelHealth> Channels, UnprocessedHealth Unprocessed, ScorerStatus Scorer);

public sealed class IntakeHealth(Database database, TimeProvider time, IntakeHealthSettings settings, ISpamScorer scorer)
{
    /// <summary>The channels every installation has; others (IMAP mailboxes…) appear once they have a message or a setting.</summary>
    public static readonly string[] BuiltInChannels = [IntakePipeline.EmailChannel, "web-form", "api"];

    public IntakeHealthSettings Settings => settings;

    /// <summary>Other sources of expected silences, read at every check (Channels: the registry's maximum silence per
    /// published channel). Registered at start-up. Their values win over <c>CprDesk:Intake:ExpectedSilence</c>, which
    /// stays the fallback for the intake channels they do not cover.</summary>
    public List<Func<CancellationToken, Task<IReadOnlyDictionary<string, TimeSpan>>>> ExpectedSilenceSources { get; } = [];

    /// <summary>Each intake channel's longest normal silence: the sources' values, else the configuration's.</summary>
    public async Task<IReadOnlyDictionary<string, TimeSpan>> ExpectedSilenceAsync(CancellationToken ct = default)
    {
        var merged = new Dictionary<string, TimeSpan>(settings.ExpectedSilence, StringComparer.Ordinal);
        foreach (var source in ExpectedSilenceSources)
            foreach (var (channel, limit) in await source(ct))
                merged[channel] = limit;
        return merged;
    }

    /// <summary>When a message last arrived on each channel, null if none ever did. accepted_at is when we stored it
    /// (received_at may be a relay's or an IMAP server's earlier time).</summary>
    public async Task<Dictionary<string, DateTime?>> LastMessagesAsync(CancellationToken ct = default) =>
        await LastMessagesAsync(await ExpectedSilenceAsync(ct), ct);

    private async Task<Dictionary<string, DateTime?>> LastMessagesAsync(IReadOnlyDictionary<string, TimeSpan> expected, CancellationToken ct)
    {
        await using var db = database.Open();
        var seen = await db.Messages.Select(m => m.Channel).Distinct().ToListAsync(ct);
        var result = new Dictionary<string, DateTime?>(StringComparer.Ordinal);
        foreach (var channel in BuiltInChannels.Concat(expected.Keys).Concat(seen).Distinct().Order(StringComparer.Ordinal))
        {
            result[channel] = await LastMessageAtAsync(db, channel, ct);
        }
        return result;
    }

    /// <summary>Each channel's last message and, where an expected interval is set, whether it is silent now. A channel that
    /// never received anything counts as silent since the desk began (its first audit event).</summary>
    public async Task<IReadOnlyList<ChannelHealth>> ChannelsAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var expectedSilence = await ExpectedSilenceAsync(ct);
        var last = await LastMessagesAsync(expectedSilence, ct);
        DateTime? began;
        await using (var db = database.Open())
            began = await db.AuditEvents.OrderBy(e => e.Seq).Select(e => (DateTime?)e.At).FirstOrDefaultAsync(ct);
        return last.Select(kv =>
        {
            double? age = kv.Value is { } at ? Math.Round((now - at).TotalSeconds) : null;
            var expected = expectedSilence.TryGetValue(kv.Key, out var e) ? e : (TimeSpan?)null;
            var silentSince = kv.Value ?? began ?? now;
            return new ChannelHealth(kv.Key, kv.Value, age, expected?.TotalSeconds, expected is { } limit && now - silentSince > limit) { SilentSince = silentSince };
        }).ToList();
    }

    public static Task<DateTime?> LastMessageAtAsync(CprDeskDb db, string channel, CancellationToken ct) =>
        db.Messages.Where(m => m.Channel == channel).OrderByDescending(m => m.AcceptedAt).ThenByDescending(m => m.Id)
            .Select(m => (DateTime?)(m.AcceptedAt ?? m.ReceivedAt)).FirstOrDefaultAsync(ct);

    public async Task<IntakeHealthSnapshot> SnapshotAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var channels = await ChannelsAsync(ct);
        await using var db = database.Open();
        var pending = db.Messages.Where(m => m.Status == "received");
        var count = await pending.CountAsync(ct);
        var oldest = await pending.OrderBy(m => m.AcceptedAt).ThenBy(m => m.Id).Select(m => new { m.Id, At = m.AcceptedAt ?? m.ReceivedAt }).FirstOrDefaultAsync(ct);
        var unprocessed = new UnprocessedHealth(count, oldest?.Id, oldest?.At, oldest is null ? null : Math.Round((now - oldest.At).TotalSeconds));
        return new IntakeHealthSnapshot(channels, unprocessed, scorer.Status);
    }

    /// <summary>Appends the intake gauges in Prometheus text format.</summary>
    public async Task AppendMetricsAsync(StringBuilder sb, CancellationToken ct = default)
    {
        var h = await SnapshotAsync(ct);
        const string age = "cprdesk_intake_last_message_age_seconds", silent = "cprdesk_intake_channel_silent",
            unprocessed = "cprdesk_intake_unprocessed_messages", oldest = "cprdesk_intake_oldest_unprocessed_age_seconds", scorerUp = "cprdesk_spam_scorer_up";
        PrometheusText.Family(sb, age, "gauge", "Seconds since the last message arrived on a channel (absent when none ever did).");
        foreach (var c in h.Channels.Where(c => c.LastMessageAgeSeconds is not null))
            PrometheusText.Sample(sb, age, c.LastMessageAgeSeconds!.Value, $"channel=\"{PrometheusText.Escape(c.Channel)}\"");
        PrometheusText.Family(sb, silent, "gauge", "1 when a channel has been silent longer than its configured expected interval.");
        foreach (var c in h.Channels.Where(c => c.ExpectedSilenceSeconds is not null))
            PrometheusText.Sample(sb, silent, c.Silent ? 1 : 0, $"channel=\"{PrometheusText.Escape(c.Channel)}\"");
        PrometheusText.Family(sb, unprocessed, "gauge", "Messages stored but not yet processed into a report.");
        PrometheusText.Sample(sb, unprocessed, h.Unprocessed.Count);
        PrometheusText.Family(sb, oldest, "gauge", "Age of the oldest message stored but not processed (0 when none).");
        PrometheusText.Sample(sb, oldest, h.Unprocessed.OldestAgeSeconds ?? 0);
        PrometheusText.Family(sb, scorerUp, "gauge", "The spam scorer's state: 1 up, 0 down or not yet checked; absent when disabled.");
        if (h.Scorer.State != ScorerStatus.Disabled)
            PrometheusText.Sample(sb, scorerUp, h.Scorer.State == ScorerStatus.Up ? 1 : 0, $"scorer=\"{PrometheusText.Escape(h.Scorer.Scorer)}\"");
    }
}
