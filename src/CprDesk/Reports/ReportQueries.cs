// Read models for the API and the dashboard: a report with its clocks evaluated at "now".
using CprDesk.Deadlines;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Reports;

public sealed record DeadlineView(string Name, string? Recipient, DateTime DueAt, string State, DateTime? MetAt, DateTime? WaivedAt, string Section);

public sealed record MessageView(long Id, string Channel, DateTime ReceivedAt, string? Subject, string? From, string Sha256, long Size,
    string[] Flags, string Status, string? StatusDetail, string? PeerAddress, IReadOnlyList<DefectView> Defects, string? MessageIdHeader,
    string? EnvelopeFrom, string? EnvelopeTo, bool Tls, DateTime? AcceptedAt)
{
    /// <summary>The spam scorer's result, when the message was scored (or failed to be).</summary>
    public Intake.Spam.SpamView? Spam { get; init; }
}

public sealed record DefectView(string Code, string Message);

/// <summary>A notification an escalation step sent about the report.</summary>
public sealed record NotificationView(DateTime At, string Step, string? Clock, string Channel, string Recipient, string Status, DateTime? SentAt);

public sealed record EventView(long Seq, DateTime At, string Actor, string Type, string Detail, string Hash);

public sealed record AttachmentView(long Id, long MessageId, string FileName, string ContentType, long Size, string Sha256);

public sealed record ReportSummary(string Ticket, string State, string? Resolution, string? Category, DateTime ReceivedAt,
    string ReporterEmail, string? Assignee, IReadOnlyList<DeadlineView> Deadlines)
{
    /// <summary>The nearest deadline that is still owed (open, at risk or missed without being met).</summary>
    public DeadlineView? Nearest => Deadlines.Where(d => d.MetAt is null && d.State != "not-required").OrderBy(d => d.DueAt).FirstOrDefault();
}

public sealed record ReportDetail(ReportSummary Summary, Report Report, IReadOnlyList<MessageView> Messages,
    IReadOnlyList<AttachmentView> Attachments, IReadOnlyList<CertificateIdentifier> Certificates,
    IReadOnlyList<PreliminaryReport> PreliminaryReports, IReadOnlyList<EventView> Events, IReadOnlyList<OutboxMessage> Outbox,
    IReadOnlyList<NotificationView> Notifications);

public sealed class ReportQueries(Database database, TimeProvider time, ClockRules rules)
{
    public static string StateName(ClockState s) => s switch
    {
        ClockState.Open => "open",
        ClockState.AtRisk => "at-risk",
        ClockState.Met => "met",
        ClockState.Missed => "missed",
        _ => "not-required",
    };

    public DeadlineView View(DeadlineRow d, DateTime now)
    {
        var clock = new Clock(d.Name, d.Recipient, d.SubscriberId, d.DueAt, d.MetAt, d.WaivedAt, d.Section);
        return new DeadlineView(d.Name, d.Recipient, d.DueAt, StateName(clock.StateAt(now, rules.AtRiskWithin)), d.MetAt, d.WaivedAt, d.Section);
    }

    public async Task<IReadOnlyList<ReportSummary>> ListAsync(ReportState? state, DateTime? dueBefore, bool includeClosed, int limit = 500)
    {
        await using var db = database.Open();
        var q = db.Reports.AsNoTracking().Include(r => r.Deadlines).Include(r => r.Assignee).AsSplitQuery().Where(r => !r.IsCanary); // canaries (Channels/) are not real reports
        if (state is { } st) q = q.Where(r => r.State == st);
        else if (!includeClosed) q = q.Where(r => r.State != ReportState.Closed);
        if (dueBefore is { } before) q = q.Where(r => r.Deadlines.Any(d => d.MetAt == null && d.WaivedAt == null && d.DueAt < before));
        var reports = await q.OrderByDescending(r => r.Id).Take(limit).ToListAsync();
        var now = time.GetUtcNow().UtcDateTime;
        return reports.Select(r => Summarise(r, now))
            .OrderBy(s => s.Nearest?.DueAt ?? DateTime.MaxValue).ThenBy(s => s.ReceivedAt).ToList();
    }

    public async Task<ReportDetail?> GetAsync(string ticket)
    {
        await using var db = database.Open();
        var r = await db.Reports.AsNoTracking().Include(x => x.Deadlines).Include(x => x.Assignee).Include(x => x.Messages)
            .Include(x => x.Attachments).Include(x => x.Certificates).Include(x => x.PreliminaryReports).Include(x => x.Subscribers)
            .AsSplitQuery().FirstOrDefaultAsync(x => x.Ticket == ticket);
        if (r is null) return null;
        var events = await db.AuditEvents.AsNoTracking().Where(e => e.Ticket == ticket).OrderBy(e => e.Seq)
            .Select(e => new EventView(e.Seq, e.At, e.Actor, e.Type, e.Detail, e.Hash)).ToListAsync();
        var messageIds = r.Messages.Select(m => m.Id).ToList();
        var spam = await db.SpamScores.AsNoTracking().Where(x => messageIds.Contains(x.MessageId)).ToDictionaryAsync(x => x.MessageId);
        var now = time.GetUtcNow().UtcDateTime;
        return new ReportDetail(Summarise(r, now), r,
            r.Messages.OrderBy(m => m.ReceivedAt).Select(m => new MessageView(m.Id, m.Channel, m.ReceivedAt, m.Subject, m.FromAddress, m.RawSha256,
                m.RawSize, m.Flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), m.Status, m.StatusDetail, m.PeerAddress,
                m.Defects is null ? [] : System.Text.Json.JsonSerializer.Deserialize<List<DefectView>>(m.Defects, Compliance.AuditJson.Options) ?? [],
                m.MessageId, m.EnvelopeFrom, m.EnvelopeTo, m.Tls, m.AcceptedAt) { Spam = Intake.Spam.SpamView.Of(spam.GetValueOrDefault(m.Id)) }).ToList(),
            r.Attachments.OrderBy(a => a.Id).Select(a => new AttachmentView(a.Id, a.MessageId, a.FileName, a.ContentType, a.Size, a.Sha256)).ToList(),
            r.Certificates.OrderBy(c => c.Id).ToList(),
            r.PreliminaryReports.OrderBy(p => p.RecordedAt).ToList(),
            events,
            await db.Outbox.AsNoTracking().Where(o => o.ReportId == r.Id).OrderBy(o => o.Id).ToListAsync(),
            await (from o in db.Outbox.AsNoTracking()
                   join st in db.EscalationSteps.AsNoTracking() on o.EscalationStepId equals st.Id
                   join d in db.Deadlines.AsNoTracking() on st.DeadlineId equals d.Id into ds
                   from d in ds.DefaultIfEmpty()
                   where o.ReportId == r.Id
                   orderby o.Id
                   select new NotificationView(o.CreatedAt, st.Kind + " step " + st.StepIndex, d == null ? null : d.Name, o.Channel, o.Recipient, o.Status, o.SentAt))
                .ToListAsync());
    }

    /// <summary>Messages that could not become a report, newest first.</summary>
    public async Task<IReadOnlyList<InboundMessage>> RejectedAsync(int limit)
    {
        await using var db = database.Open();
        return await db.Messages.AsNoTracking().Where(m => m.Status == "rejected").OrderByDescending(m => m.Id).Take(limit).ToListAsync();
    }

    public async Task<Report?> FindByStatusTokenAsync(string token)
    {
        var hash = ReportDesk.HashToken(token);
        await using var db = database.Open();
        return await db.Reports.AsNoTracking().Include(r => r.PreliminaryReports).FirstOrDefaultAsync(r => r.StatusTokenHash == hash);
    }

    /// <summary>What a reporter may see: state changes and the preliminary reports sent to the reporter.</summary>
    public async Task<IReadOnlyList<(DateTime At, string Text)>> PublicUpdatesAsync(Report r)
    {
        await using var db = database.Open();
        var changes = await db.AuditEvents.AsNoTracking().Where(e => e.Ticket == r.Ticket && e.Type == "report.state-changed")
            .OrderBy(e => e.Seq).Select(e => new { e.At, e.Detail }).ToListAsync();
        var updates = changes.Select(c =>
        {
            var to = System.Text.Json.JsonDocument.Parse(c.Detail).RootElement.GetProperty("to").GetString();
            return (c.At, $"Status changed to {PublicStateName(to)}.");
        }).ToList();
        updates.AddRange(r.PreliminaryReports.Where(p => p.RecipientKind == "reporter" && p.SentAt != null)
            .Select(p => (p.SentAt!.Value, $"Preliminary report sent to you:\n{p.Text}")));
        return updates.OrderBy(u => u.Item1).ToList();
    }

    public static string PublicStateName(string? state) => state switch
    {
        "New" => "received",
        "Acknowledged" => "acknowledged",
        "Investigating" => "under investigation",
        "PreliminaryReported" => "preliminary report sent",
        "Resolved" => "resolved",
        "Closed" => "closed",
        _ => state ?? "unknown",
    };

    public async Task<(Dictionary<string, int> ByState, DateTime? NearestDue, int Missed)> MetricsAsync()
    {
        await using var db = database.Open();
        var now = time.GetUtcNow().UtcDateTime;
        // Canary reports (Channels/) are synthetic: they never count.
        var deadlines = db.Deadlines.Where(d => !db.Reports.Any(r => r.Id == d.ReportId && r.IsCanary));
        var byState = await db.Reports.Where(r => !r.IsCanary).GroupBy(r => r.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync();
        var nearest = await deadlines.Where(d => d.MetAt == null && d.WaivedAt == null).OrderBy(d => d.DueAt).Select(d => (DateTime?)d.DueAt).FirstOrDefaultAsync();
        var missed = await deadlines.CountAsync(d =>
            (d.MetAt != null && d.MetAt > d.DueAt) || (d.WaivedAt != null && d.WaivedAt > d.DueAt) || (d.MetAt == null && d.WaivedAt == null && d.DueAt < now));
        var all = Enum.GetValues<ReportState>().ToDictionary(s => s.ToString(), _ => 0);
        foreach (var s in byState) all[s.Key.ToString()] = s.Count;
        return (all, nearest, missed);
    }

    private ReportSummary Summarise(Report r, DateTime now) => new(
        r.Ticket, r.State.ToString(), r.Resolution?.ToString(), r.Category, r.ReceivedAt, r.ReporterEmail, r.Assignee?.Username,
        r.Deadlines.OrderBy(d => d.DueAt).ThenBy(d => d.Id).Select(d => View(d, now)).ToList());
}
