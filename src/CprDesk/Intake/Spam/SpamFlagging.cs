// Where scoring meets intake: score after the raw commit and outside any transaction (bounded by the scorer's
// timeout), then, in the report's transaction, record the score, set the flag, hold the acknowledgement and
// put the report in the review queue. The report itself is created exactly as any other; its clocks run.
using CprDesk.Storage;

namespace CprDesk.Intake.Spam;

public static class SpamFlagging
{
    public const string SuspectedFlag = "suspected-spam";
    public const string UnscoredFlag = "unscored";
    /// <summary>The acknowledgement suppression reason (audited as <c>acknowledgement.suppressed</c>).</summary>
    public const string Suppression = "suspected-spam";

    /// <summary>Null when no scorer is configured. Never throws: any fault is an unscored result.</summary>
    public static async Task<SpamScore?> ScoreAsync(ISpamScorer? scorer, byte[] message, ILogger log, long messageId)
    {
        if (scorer is not { Enabled: true }) return null;
        try
        {
            return await scorer.ScoreAsync(message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError(ex, "The spam scorer failed on message {MessageId}; it is flagged unscored", messageId);
            return new SpamScore(false, 0, 0, [], $"{ex.GetType().Name}: {ex.Message}", TimeSpan.Zero);
        }
    }

    /// <summary>Stores the score on the message and adds its flag to <paramref name="flags"/>.</summary>
    public static async Task RecordAsync(WriteScope s, ISpamScorer? scorer, long messageId, SpamScore? score, List<string> flags)
    {
        if (score is null) return;
        if (!score.Scored) flags.Add(UnscoredFlag);
        else if (score.Suspected) flags.Add(SuspectedFlag);
        var row = await s.Db.SpamScores.FindAsync(messageId);
        if (row is null) s.Db.SpamScores.Add(row = new MessageSpamScore { MessageId = messageId });
        row.Scorer = scorer?.Name ?? "unknown";
        row.State = score.Scored ? MessageSpamScore.Scored : MessageSpamScore.Unscored;
        row.Score = score.Scored ? score.Score : null;
        row.Threshold = score.Scored ? score.Threshold : null;
        row.Rules = score.Rules.Count == 0 ? null : string.Join(' ', score.Rules);
        row.Error = score.Error is null ? null : score.Error.Length > 1000 ? score.Error[..1000] : score.Error;
        row.ElapsedMs = (long)score.Elapsed.TotalMilliseconds;
        row.ScoredAt = s.Now;
        await s.AuditAsync("system", "message.spam-scored", null, new
        {
            messageId, scorer = row.Scorer, state = row.State, score = row.Score, threshold = row.Threshold, rules = score.Rules,
            suspected = score.Suspected, error = row.Error, elapsedMs = row.ElapsedMs,
        });
    }

    /// <summary>The acknowledgement suppression a suspected-spam score asks for, if no other reason already applies.</summary>
    public static string? SuppressionFor(SpamScore? score, string? existing) => existing ?? (score?.Suspected == true ? Suppression : null);

    /// <summary>Puts a new report created from a suspected-spam message in the review queue.</summary>
    public static async Task HoldForReviewAsync(WriteScope s, Report report, long messageId, SpamScore? score, bool acknowledgementHeld)
    {
        if (score?.Suspected != true) return;
        s.Db.SpamReviews.Add(new SpamReview
        {
            ReportId = report.Id, MessageId = messageId, Score = score.Score, Threshold = score.Threshold, FlaggedAt = s.Now,
            AcknowledgementHeld = acknowledgementHeld,
        });
        await s.AuditAsync("system", "spam.suspected", report.Ticket, new
        {
            messageId, score = score.Score, threshold = score.Threshold, rules = score.Rules, acknowledgementHeld,
        });
    }
}
