// The suspected-spam review queue: reports whose first message scored at or above the threshold, nearest
// deadline first, and a person's verdict on each. "spam" closes the report as NotACpr (nothing is deleted);
// "not spam" takes it out of the queue and sends the acknowledgement that was held back.
using System.Security.Cryptography;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake.Spam;

public sealed record SpamReviewItem(string Ticket, string State, DateTime ReceivedAt, string Reporter, string? Subject, long MessageId,
    double Score, double Threshold, IReadOnlyList<string> Rules, DateTime FlaggedAt, DeadlineView? Nearest, IReadOnlyList<DeadlineView> Deadlines);

public sealed record SpamDecision(string Ticket, string Verdict, string DecidedBy, DateTime DecidedAt, string? Note, string State, string? Resolution,
    string Acknowledgement);

public sealed class SpamReviewDesk(Database database, TimeProvider time, ReportDesk desk, ReportQueries queries, Acknowledgements acks)
{
    public const int MaxNoteChars = 2000;

    /// <summary>Undecided suspected-spam reports that are not closed, nearest deadline first (like the main queue).</summary>
    public async Task<IReadOnlyList<SpamReviewItem>> QueueAsync(int limit = 500)
    {
        await using var db = database.Open();
        var rows = await (from v in db.SpamReviews.AsNoTracking()
                          join r in db.Reports.AsNoTracking() on v.ReportId equals r.Id
                          where v.Verdict == null && r.State != ReportState.Closed
                          orderby v.ReportId
                          select new { v, r }).Take(limit).ToListAsync();
        var reportIds = rows.Select(x => x.r.Id).ToList();
        var messageIds = rows.Select(x => x.v.MessageId).ToList();
        var deadlines = (await db.Deadlines.AsNoTracking().Where(d => reportIds.Contains(d.ReportId)).ToListAsync()).ToLookup(d => d.ReportId);
        var subjects = await db.Messages.AsNoTracking().Where(m => messageIds.Contains(m.Id)).ToDictionaryAsync(m => m.Id, m => m.Subject);
        var rules = await db.SpamScores.AsNoTracking().Where(x => messageIds.Contains(x.MessageId)).ToDictionaryAsync(x => x.MessageId, x => x.Rules);
        var now = time.GetUtcNow().UtcDateTime;
        return rows.Select(x =>
        {
            var views = deadlines[x.r.Id].OrderBy(d => d.DueAt).ThenBy(d => d.Id).Select(d => queries.View(d, now)).ToList();
            var summary = new ReportSummary(x.r.Ticket, x.r.State.ToString(), x.r.Resolution?.ToString(), x.r.Category, x.r.ReceivedAt, x.r.ReporterEmail, null, views);
            return new SpamReviewItem(x.r.Ticket, x.r.State.ToString(), x.r.ReceivedAt, x.r.ReporterEmail, subjects.GetValueOrDefault(x.v.MessageId), x.v.MessageId,
                x.v.Score, x.v.Threshold, SplitRules(rules.GetValueOrDefault(x.v.MessageId)), x.v.FlaggedAt, summary.Nearest, views);
        }).OrderBy(i => i.Nearest?.DueAt ?? DateTime.MaxValue).ThenBy(i => i.ReceivedAt).ToList();
    }

    /// <summary>The review row of a report, if it was ever flagged.</summary>
    public async Task<SpamReview?> FindAsync(string ticket)
    {
        await using var db = database.Open();
        return await (from v in db.SpamReviews.AsNoTracking() join r in db.Reports on v.ReportId equals r.Id where r.Ticket == ticket select v).FirstOrDefaultAsync();
    }

    /// <summary>Records a person's verdict (audited with who and when). Throws <see cref="DeskException"/> for bad input.</summary>
    public async Task<SpamDecision> DecideAsync(string ticket, string actor, string? verdict, string? note)
    {
        var v = verdict?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(v)) throw DeskException.Invalid("verdict", "verdict is required: \"spam\" or \"not-spam\".");
        if (v is not (SpamReview.Spam or SpamReview.NotSpam)) throw DeskException.Invalid("verdict", $"verdict must be \"spam\" or \"not-spam\", not \"{Shorten(verdict!, 40)}\".");
        var text = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        if (text is { Length: > MaxNoteChars }) throw DeskException.Invalid("note", $"note is longer than {MaxNoteChars} characters.");

        return await database.WriteAsync(time, async s =>
        {
            var report = await s.Db.Reports.FirstOrDefaultAsync(r => r.Ticket == ticket) ?? throw DeskException.NotFound($"No report {ticket}.");
            var review = await s.Db.SpamReviews.FirstOrDefaultAsync(x => x.ReportId == report.Id)
                ?? throw DeskException.NotFound($"{ticket} was not flagged suspected-spam; it is not in the review queue.");
            if (review.Verdict is not null)
                throw DeskException.Conflict($"{ticket} was already reviewed: {review.Verdict} by {review.DecidedBy} at {review.DecidedAt:yyyy-MM-dd HH:mm} UTC.");
            review.Verdict = v;
            review.DecidedBy = actor;
            review.DecidedAt = s.Now;
            review.Note = text;
            string acknowledgement;
            if (v == SpamReview.Spam)
            {
                acknowledgement = "not sent";
                if (report.State != ReportState.Closed)
                {
                    var reason = $"Suspected spam confirmed in review (score {review.Score:0.#} against threshold {review.Threshold:0.#})" + (text is null ? "." : $": {text}");
                    await desk.CloseInScopeAsync(s, ticket, actor, nameof(Resolution.NotACpr), reason);
                }
            }
            else
            {
                acknowledgement = await SendHeldAcknowledgementAsync(s, report, review);
            }
            await s.AuditAsync(actor, "spam.reviewed", ticket, new
            {
                verdict = v, note = text, messageId = review.MessageId, score = review.Score, threshold = review.Threshold, acknowledgement,
            });
            await s.Db.SaveChangesAsync();
            return new SpamDecision(ticket, v, actor, s.Now, text, report.State.ToString(), report.Resolution?.ToString(), acknowledgement);
        });
    }

    /// <summary>The acknowledgement a suspected-spam report did not get. The reporter never saw a status link (it is
    /// only in the acknowledgement), so a new one is issued with it.</summary>
    private async Task<string> SendHeldAcknowledgementAsync(WriteScope s, Report report, SpamReview review)
    {
        if (!review.AcknowledgementHeld) return "not held (another rule suppressed it)";
        if (report.State == ReportState.Closed) return "not sent (the report is closed)";
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        report.StatusTokenHash = ReportDesk.HashToken(token);
        var message = await s.Db.Messages.AsNoTracking().FirstAsync(m => m.Id == review.MessageId);
        await acks.SendOrSuppressAsync(s, report, token, null, message.MessageId, message.MessageId is null ? [] : [message.MessageId], message.Subject);
        await s.Db.SaveChangesAsync();
        var queued = await s.Db.Outbox.AnyAsync(o => o.ReportId == report.Id && o.Kind == Outbox.Acknowledgement);
        return queued ? "queued" : "suppressed (see acknowledgement.suppressed)";
    }

    public static IReadOnlyList<string> SplitRules(string? rules) => rules?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
