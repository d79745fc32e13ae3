// Intake's side of a canary: inside the transaction that created the report (after its clocks started and its
// acknowledgement was queued), a report carrying a valid token for a waiting run is marked a canary and closed, so
// nobody ever sees it in the queue, the metrics or escalation.
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

public sealed class CanaryIntake(CanaryToken tokens, ILogger<CanaryIntake> log)
{
    public async Task RecogniseAsync(WriteScope s, Report report, byte[] raw)
    {
        if (tokens.Find(raw) is not { } found) return;
        var (runId, valid) = found;
        if (!valid)
        {
            // Someone wrote something that looks like a token: it stays a real CPR, and we say so.
            log.LogWarning("Report {Ticket} carries a canary token for run {RunId} with a wrong MAC; it is treated as a real report", report.Ticket, runId);
            await s.AuditAsync("system", "canary.token-rejected", report.Ticket, new { runId, reason = "bad-mac" });
            return;
        }
        var run = await s.Db.CanaryRuns.FirstOrDefaultAsync(r => r.Id == runId);
        // A run already declared late (nothing by its limit) still takes its report: it is late, not lost.
        if (run is null || run.ReportId is not null || run.Outcome is not (CanaryOutcome.Pending or CanaryOutcome.Late))
        {
            // A replayed token (the run already has its report, or was decided): a real CPR quoting an old canary.
            var reason = run is null ? "no-such-run" : run.ReportId is not null ? "run-already-has-a-report" : $"run-{run.Outcome}";
            log.LogWarning("Report {Ticket} carries a token of canary run {RunId} ({Reason}); it is treated as a real report", report.Ticket, runId, reason);
            await s.AuditAsync("system", "canary.token-rejected", report.Ticket, new { runId, reason });
            return;
        }
        var clocks = await s.Db.Deadlines.Where(d => d.ReportId == report.Id).ToListAsync();
        run.ReportId = report.Id;
        run.Ticket = report.Ticket;
        run.ReceivedAt = report.ReceivedAt;
        run.ClockStarted = clocks.Count > 0 && clocks.All(c => c.DueAt > report.ReceivedAt);
        var from = report.State;
        report.IsCanary = true;
        report.State = ReportState.Closed;
        report.Resolution = Resolution.NotACpr;
        report.ClosedAt = s.Now;
        report.ResolvedAt = s.Now;
        // "Not a CPR" is how the clock model waives every clock (Deadlines/Clocks.cs), so later recomputations agree.
        report.NotACprAt = s.Now;
        report.UpdatedAt = s.Now;
        foreach (var c in clocks.Where(c => c.WaivedAt is null && c.MetAt is null))
        {
            c.WaivedAt = s.Now;
            await s.AuditAsync("system", "deadline.waived", report.Ticket, new { name = c.Name, recipient = c.Recipient, dueAt = c.DueAt, waivedAt = s.Now, resolution = "NotACpr", reason = "canary" });
        }
        await s.AuditAsync("system", "canary.received", report.Ticket, new
        {
            runId, run.ChannelId, run.Address, run.SentAt, receivedAt = report.ReceivedAt, clocks = clocks.Select(c => new { c.Name, c.DueAt }),
        });
        await s.AuditAsync("system", "report.state-changed", report.Ticket, new { from = from.ToString(), to = report.State.ToString(), resolution = report.Resolution?.ToString(), reason = "canary" });
    }
}
