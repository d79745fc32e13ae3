// Every minute: asks the spam scorer whether it is up, and tells the admins (once per silence) about any channel
// silent longer than its expected interval. The alarm state is a table row, so a restart neither repeats nor loses it.
using CprDesk.Intake.Spam;
using CprDesk.Notifications;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake.Health;

public sealed class IntakeHealthService(Database database, TimeProvider time, IntakeHealth health, ISpamScorer scorer, Outbox outbox,
    ILogger<IntakeHealthService> log) : BackgroundService
{
    public const string SilentEvent = "intake.channel-silent";
    public const string ResumedEvent = "intake.channel-resumed";
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                try { await RunOnceAsync(stoppingToken); }
                catch (Exception ex) when (ex is not OperationCanceledException) { log.LogError(ex, "Intake health check failed; it runs again in {Interval}", Interval); }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One check: the scorer's state, then each channel with an expected interval. Returns the channels newly alarmed.</summary>
    public async Task<IReadOnlyList<string>> RunOnceAsync(CancellationToken ct = default)
    {
        if (scorer.Enabled)
        {
            var before = scorer.Status.State;
            var status = await scorer.CheckAsync(ct);
            if (status.State != before && before != ScorerStatus.Unknown)
                log.Log(status.State == ScorerStatus.Up ? LogLevel.Information : LogLevel.Warning, "Spam scorer {Scorer} is {State}: {Error}", status.Scorer, status.State, status.LastError);
        }
        var expected = await health.ExpectedSilenceAsync(ct);
        if (expected.Count == 0) return [];
        var channels = await health.ChannelsAsync(ct);
        var raised = new List<string>();
        foreach (var (channel, limit) in expected)
        {
            var began = channels.First(c => c.Channel == channel).SilentSince;
            var silentSince = began;
            var fired = await database.WriteAsync(time, async s =>
            {
                // Read again inside the single writer: a message (or another check) may have come in meanwhile.
                var lastAt = await IntakeHealth.LastMessageAtAsync(s.Db, channel, ct);
                silentSince = lastAt ?? began;
                var silent = s.Now - silentSince > limit;
                var alarm = await s.Db.SilenceAlarms.FirstOrDefaultAsync(a => a.Channel == channel, ct);
                if (alarm is not null && alarm.LastMessageAt != lastAt)
                {
                    // Mail arrived since the alarm: that silence is over (a new one may start below).
                    await s.AuditAsync("system", ResumedEvent, null, new { channel, silentSince = alarm.LastMessageAt, resumedAt = lastAt, alarmedAt = alarm.RaisedAt });
                    s.Db.SilenceAlarms.Remove(alarm);
                    await s.Db.SaveChangesAsync(ct);
                    alarm = null;
                }
                if (!silent || alarm is not null) return false;
                s.Db.SilenceAlarms.Add(new IntakeSilenceAlarm { Channel = channel, LastMessageAt = lastAt, ExpectedSeconds = (long)limit.TotalSeconds, RaisedAt = s.Now });
                var told = await TellAdminsAsync(s, channel, lastAt, silentSince, limit);
                await s.AuditAsync("system", SilentEvent, null, new { channel, lastMessageAt = lastAt, silentFor = (s.Now - silentSince).ToString(), expected = limit.ToString(), told });
                return true;
            }, ct);
            if (fired)
            {
                log.LogWarning("Intake channel {Channel} has been silent since {Since:u} (expected a message at least every {Limit}); admins notified", channel, silentSince, limit);
                raised.Add(channel);
            }
        }
        return raised;
    }

    private async Task<IReadOnlyList<string>> TellAdminsAsync(WriteScope s, string channel, DateTime? lastAt, DateTime silentSince, TimeSpan limit)
    {
        var last = lastAt is { } at ? $"{at:yyyy-MM-dd HH:mm} UTC" : "never";
        var text = $"""
            No message has arrived on the intake channel "{channel}" for {Describe(s.Now - silentSince)}; it is expected to receive one at least every {Describe(limit)}.

            Last message on this channel: {last}

            A silent channel may be a broken one: Certificate Problem Reports sent to it may be lost or stuck elsewhere.
            Check the published address or form, MX records and forwarding, the mail relay or mailbox, and the CprDesk
            listener (/healthz), then send a test report through the channel. You are told once per silence.
            """;
        var admins = await outbox.TellAdminsAsync(s, $"Intake channel \"{channel}\" is silent", text);
        return admins.Select(a => a.Username).ToList();
    }

    private static string Describe(TimeSpan t) =>
        t.TotalDays >= 1 ? $"{t.TotalDays:0.#} days" : t.TotalHours >= 1 ? $"{t.TotalHours:0.#} hours" : $"{Math.Max(1, t.TotalMinutes):0} minutes";
}
