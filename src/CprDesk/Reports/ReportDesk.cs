// The CPR's life: creation from any channel, the staff actions, and keeping the stored clocks in step with
// the facts. Every change here is written together with its audit events, in one transaction.
using System.Security.Cryptography;
using MailAddress = System.Net.Mail.MailAddress;
using CprDesk.Deadlines;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Reports;

public sealed record NewAttachment(string FileName, string ContentType, byte[] Content);

public sealed record NewReport(
    string Channel,
    long MessageId,
    DateTime ReceivedAt,
    string ReporterEmail,
    string? ReporterName,
    string? ProblemType,
    string? Description,
    IReadOnlyList<string> Certificates,
    IReadOnlyList<NewAttachment> Attachments);

public sealed record CreatedReport(Report Report, string StatusToken);

public sealed class ReportDesk(Database database, TimeProvider time, ClockRules rules, Notifications.Outbox outbox)
{
    public ClockRules Rules => rules;

    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));

    public async Task<CreatedReport> CreateAsync(WriteScope s, NewReport n, string actor)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var report = new Report
        {
            Ticket = await Tickets.NextAsync(s.Db, n.ReceivedAt),
            ReceivedAt = n.ReceivedAt,
            State = ReportState.New,
            ProblemType = n.ProblemType,
            ReporterEmail = n.ReporterEmail,
            ReporterName = n.ReporterName,
            Description = n.Description,
            StatusTokenHash = HashToken(token),
            CreatedAt = s.Now,
            UpdatedAt = s.Now,
        };
        s.Db.Reports.Add(report);
        await s.Db.SaveChangesAsync();

        var message = await s.Db.Messages.FirstAsync(m => m.Id == n.MessageId);
        message.ReportId = report.Id;
        message.Status = "processed";
        message.FromAddress ??= n.ReporterEmail;

        foreach (var given in n.Certificates)
            foreach (var id in CertificateIdentifiers.Identify(given))
                s.Db.Certificates.Add(new CertificateIdentifier { ReportId = report.Id, MessageId = n.MessageId, Kind = id.Kind, Value = id.Value });

        foreach (var a in n.Attachments)
        {
            var sha = await BlobStore.PutAsync(s.Db, a.Content);
            s.Db.Attachments.Add(new Attachment
            {
                ReportId = report.Id, MessageId = n.MessageId, FileName = a.FileName, ContentType = a.ContentType,
                Size = a.Content.LongLength, Sha256 = sha,
            });
        }

        await s.AuditAsync(actor, "report.created", report.Ticket, new
        {
            channel = n.Channel, messageId = n.MessageId, receivedAt = n.ReceivedAt, reporter = n.ReporterEmail,
            problemType = n.ProblemType, certificates = n.Certificates.Count, attachments = n.Attachments.Count,
        });
        await SyncDeadlinesAsync(s, report, actor);
        return new CreatedReport(report, token);
    }

    public Task AssignAsync(string ticket, string actor, string? username) => ActAsync(ticket, actor, async (s, r) =>
    {
        if (r.State == ReportState.Closed) throw DeskException.Conflict($"{r.Ticket} is closed; reopen it first.");
        StaffUser? assignee = null;
        if (!string.IsNullOrWhiteSpace(username))
        {
            assignee = await s.Db.Users.FirstOrDefaultAsync(u => u.Username == username)
                ?? throw DeskException.Invalid("assignee", $"No staff account named '{username}'.");
            if (assignee.Disabled) throw DeskException.Invalid("assignee", $"The account '{username}' is disabled.");
            if (assignee.Role == StaffRole.Auditor) throw DeskException.Invalid("assignee", "Auditors are read-only and cannot own a report.");
        }
        var before = r.AssigneeId;
        r.AssigneeId = assignee?.Id;
        await s.AuditAsync(actor, "report.assigned", r.Ticket, new { from = before, to = assignee?.Username });
        if (assignee is not null && r.State == ReportState.New) await ChangeStateAsync(s, r, ReportState.Acknowledged, actor);
    });

    public Task ClassifyAsync(string ticket, string actor, string? reasonCode, string? note) => ActAsync(ticket, actor, async (s, r) =>
    {
        if (r.State == ReportState.Closed) throw DeskException.Conflict($"{r.Ticket} is closed; reopen it first.");
        var reason = rules.FindReason(reasonCode)
            ?? throw DeskException.Invalid("reason", $"Unknown revocation reason '{reasonCode}'. Use one of: {string.Join(", ", rules.Reasons.Select(x => x.Code))}.");
        var before = new { reason = r.RevocationReason, category = r.Category, crlReason = r.CrlReason };
        r.RevocationReason = reason.Code;
        r.Category = reason.Category;
        r.CrlReason = reason.CrlReason;
        await s.AuditAsync(actor, "report.classified", r.Ticket, new
        {
            from = before, to = new { reason = reason.Code, category = reason.Category, crlReason = reason.CrlReason, reason.Section },
            note = Trim(note),
        });
        if (r.State is ReportState.New or ReportState.Acknowledged) await ChangeStateAsync(s, r, ReportState.Investigating, actor);
    });

    public Task AddSubscriberAsync(string ticket, string actor, string? email, string? name) => ActAsync(ticket, actor, async (s, r) =>
    {
        await FindOrAddSubscriberAsync(s, r, actor, RequireEmail("email", email), name);
    });

    /// <summary>Adds several Subscribers in one transaction with one clock sync (evidence matching a bulk report);
    /// each still gets its own audited preliminary-report clock from the original receipt time.</summary>
    public Task AddSubscribersAsync(string ticket, string actor, IReadOnlyList<string> emails) => ActAsync(ticket, actor, async (s, r) =>
    {
        foreach (var email in emails) await FindOrAddSubscriberAsync(s, r, actor, RequireEmail("email", email), null);
    });

    /// <param name="send">True: the text goes out by mail through the outbox and the clock is met when the relay
    /// accepts it. False: it was sent outside CprDesk at <paramref name="sentAt"/> and is recorded as such.</param>
    public Task RecordPreliminaryReportAsync(string ticket, string actor, string? recipient, string? to, string? subscriberName,
        string? text, DateTime? sentAt, bool send = true) => ActAsync(ticket, actor, async (s, r) =>
    {
        if (string.IsNullOrWhiteSpace(text))
            throw DeskException.Invalid("text", "The preliminary report's text is required: it is the report on findings, not an acknowledgement.");
        if (send && sentAt is not null)
            throw DeskException.Invalid("sentAt", "sentAt is only for a report sent outside CprDesk (send: false); mail sent by CprDesk is timed by the relay's acceptance.");
        var when = send ? (DateTime?)null : CheckInstant("sentAt", sentAt ?? s.Now, r, s.Now);
        var report = new PreliminaryReport { ReportId = r.Id, Text = text.Trim(), SentAt = when, RecordedBy = actor, RecordedAt = s.Now };
        string? name = null;
        switch (recipient?.Trim().ToLowerInvariant())
        {
            case "reporter":
                report.RecipientKind = "reporter";
                report.ToAddress = string.IsNullOrWhiteSpace(to) ? r.ReporterEmail : RequireEmail("to", to);
                name = r.ReporterName;
                break;
            case "subscriber":
                var sub = await FindOrAddSubscriberAsync(s, r, actor, RequireEmail("to", to), subscriberName);
                report.RecipientKind = "subscriber";
                report.SubscriberId = sub.Id;
                report.ToAddress = sub.Email;
                name = sub.Name;
                break;
            default:
                throw DeskException.Invalid("recipient", "recipient must be 'reporter' or 'subscriber'.");
        }
        if (send)
        {
            if (!MailAddress.TryCreate(report.ToAddress, out _))
                throw DeskException.Invalid("to", $"'{report.ToAddress}' is not an address mail can go to; give 'to', or record a report sent another way (send: false).");
            var subject = report.RecipientKind == "reporter"
                ? $"[{r.Ticket}] Preliminary report on your Certificate Problem Report"
                : $"[{r.Ticket}] Preliminary report: a Certificate Problem Report concerning your certificate";
            var queued = await outbox.QueueAsync(s, Notifications.Outbox.PreliminaryReport, r.Id, r.Ticket, report.ToAddress, name, subject, report.Text,
                null, [], autoSubmitted: false, actor);
            report.OutboxId = queued.Row.Id;
        }
        r.PreliminaryReports.Add(report);
        await s.AuditAsync(actor, "preliminary-report.recorded", r.Ticket, new
        {
            recipient = report.RecipientKind, to = report.ToAddress, sentAt = when, via = send ? "outbox" : "outside CprDesk", outboxId = report.OutboxId,
            length = report.Text.Length, sha256 = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(report.Text))),
        });
        // Queued is not sent: with the outbox, the state moves when the relay accepts (OutboxSettledAsync).
        if (!send && r.State is ReportState.New or ReportState.Acknowledged or ReportState.Investigating)
            await ChangeStateAsync(s, r, ReportState.PreliminaryReported, actor);
    });

    /// <summary>Called after the outbox delivered (or gave up on) a message of this report: a preliminary report
    /// accepted by the relay meets its clock now; an acknowledgement moves a new report to Acknowledged.</summary>
    public Task OutboxSettledAsync(string ticket, long outboxId) => ActAsync(ticket, "system", (s, r) => OutboxSettledAsync(s, r, outboxId));

    /// <summary><see cref="OutboxSettledAsync(string, long)"/> in the outbox's own transaction (the one marking the message
    /// sent). A report that no longer exists is left alone rather than undoing the delivery record.</summary>
    public async Task OutboxSettledInScopeAsync(WriteScope s, string ticket, long outboxId)
    {
        if (await LoadAsync(s.Db, ticket) is not { } r) return;
        await OutboxSettledAsync(s, r, outboxId);
        r.UpdatedAt = s.Now;
        await s.Db.SaveChangesAsync();
        await SyncDeadlinesAsync(s, r, "system");
    }

    private async Task OutboxSettledAsync(WriteScope s, Report r, long outboxId)
    {
        var o = await s.Db.Outbox.FirstAsync(x => x.Id == outboxId);
        if (o.Status != "sent") return;
        var delivered = r.PreliminaryReports.Where(p => p.OutboxId == outboxId && p.SentAt is null).ToList();
        foreach (var p in delivered) p.SentAt = o.SentAt;
        if (delivered.Count > 0 && r.State is ReportState.New or ReportState.Acknowledged or ReportState.Investigating)
            await ChangeStateAsync(s, r, ReportState.PreliminaryReported, "system");
        if (o.Kind == Notifications.Outbox.Acknowledgement && r.State == ReportState.New)
            await ChangeStateAsync(s, r, ReportState.Acknowledged, "system");
    }

    public Task RecordRevocationAsync(string ticket, string actor, DateTime? publishedAt, string? note) => ActAsync(ticket, actor, async (s, r) =>
    {
        if (r.State == ReportState.Closed) throw DeskException.Conflict($"{r.Ticket} is closed; reopen it first.");
        if (r.RevocationReason is null)
            throw DeskException.Conflict("Classify the report first: the §4.9.1.1 reason sets the CRLReason of the revocation.");
        if (r.RevocationPublishedAt is not null) throw DeskException.Conflict($"Revocation of {r.Ticket} is already recorded.");
        var when = CheckInstant("publishedAt", publishedAt ?? s.Now, r, s.Now);
        r.RevocationPublishedAt = when;
        r.Resolution = Resolution.Revoked;
        r.ResolvedAt = s.Now;
        await s.AuditAsync(actor, "revocation.recorded", r.Ticket, new { publishedAt = when, crlReason = r.CrlReason, reason = r.RevocationReason, note = Trim(note) });
        await ChangeStateAsync(s, r, ReportState.Resolved, actor);
    });

    public Task CloseAsync(string ticket, string actor, string? resolution, string? note) => ActAsync(ticket, actor, (s, r) => CloseAsync(s, r, actor, resolution, note));

    /// <summary>Closes inside a caller's transaction (a suspected-spam verdict closing the report as NotACpr).</summary>
    public async Task CloseInScopeAsync(WriteScope s, string ticket, string actor, string? resolution, string? note)
    {
        var r = await LoadAsync(s.Db, ticket) ?? throw DeskException.NotFound($"No report {ticket}.");
        await CloseAsync(s, r, actor, resolution, note);
        r.UpdatedAt = s.Now;
        await s.Db.SaveChangesAsync();
        await SyncDeadlinesAsync(s, r, actor);
    }

    private static async Task CloseAsync(WriteScope s, Report r, string actor, string? resolution, string? note)
    {
        if (r.State == ReportState.Closed) throw DeskException.Conflict($"{r.Ticket} is already closed.");
        Resolution outcome;
        if (string.IsNullOrWhiteSpace(resolution))
            outcome = r.Resolution ?? throw DeskException.Invalid("resolution", "Say how the report was resolved: Revoked, NotRevoked or NotACpr.");
        else if (!Enum.TryParse(resolution.Trim(), ignoreCase: true, out outcome) || !Enum.IsDefined(outcome))
            throw DeskException.Invalid("resolution", "resolution must be Revoked, NotRevoked or NotACpr.");
        if (outcome == Resolution.Revoked && r.RevocationPublishedAt is null)
            throw DeskException.Conflict("Record the published revocation before closing as Revoked.");
        if (outcome != Resolution.Revoked && r.RevocationPublishedAt is not null)
            throw DeskException.Conflict($"A revocation is recorded for {r.Ticket}; it can only close as Revoked.");
        if (outcome != Resolution.Revoked && string.IsNullOrWhiteSpace(note))
            throw DeskException.Invalid("note", "Give the reason for the decision: it is part of the record.");
        r.Resolution = outcome;
        r.ResolvedAt ??= s.Now;
        r.ClosedAt = s.Now;
        if (outcome == Resolution.NotRevoked) r.RevocationWaivedAt = s.Now;
        if (outcome == Resolution.NotACpr) r.NotACprAt = s.Now;
        await s.AuditAsync(actor, "report.closed", r.Ticket, new { resolution = outcome.ToString(), note = Trim(note) });
        await ChangeStateAsync(s, r, ReportState.Closed, actor);
    }

    public Task ReopenAsync(string ticket, string actor, string? note) => ActAsync(ticket, actor, (s, r) => ReopenAsync(s, r, actor, note));

    /// <summary>Reopens inside a caller's transaction (a reply arriving after closure).</summary>
    public async Task ReopenInScopeAsync(WriteScope s, string ticket, string actor, string note)
    {
        var r = await LoadAsync(s.Db, ticket) ?? throw DeskException.NotFound($"No report {ticket}.");
        await ReopenAsync(s, r, actor, note);
        r.UpdatedAt = s.Now;
        await s.Db.SaveChangesAsync();
        await SyncDeadlinesAsync(s, r, actor);
    }

    private async Task ReopenAsync(WriteScope s, Report r, string actor, string? note)
    {
        if (r.State is not (ReportState.Closed or ReportState.Resolved))
            throw DeskException.Conflict($"{r.Ticket} is {r.State}; only a resolved or closed report can be reopened.");
        await s.AuditAsync(actor, "report.reopened", r.Ticket, new { resolution = r.Resolution?.ToString(), note = Trim(note) });
        // Decisions are undone; facts (a published revocation, reports sent) stand.
        r.Resolution = r.RevocationPublishedAt is null ? null : Resolution.Revoked;
        r.RevocationWaivedAt = null;
        r.NotACprAt = null;
        r.ClosedAt = null;
        r.ResolvedAt = r.RevocationPublishedAt is null ? null : r.ResolvedAt;
        await ChangeStateAsync(s, r, ReportState.Investigating, actor);
    }

    private async Task ActAsync(string ticket, string actor, Func<WriteScope, Report, Task> action)
    {
        await database.WriteAsync(time, async s =>
        {
            var r = await LoadAsync(s.Db, ticket) ?? throw DeskException.NotFound($"No report {ticket}.");
            await action(s, r);
            r.UpdatedAt = s.Now;
            await s.Db.SaveChangesAsync();
            await SyncDeadlinesAsync(s, r, actor);
            return true;
        });
    }

    public static Task<Report?> LoadAsync(CprDeskDb db, string ticket) =>
        db.Reports.Include(r => r.Subscribers).Include(r => r.PreliminaryReports).Include(r => r.Deadlines)
            .AsSplitQuery().FirstOrDefaultAsync(r => r.Ticket == ticket);

    public static ClockFacts FactsOf(Report r) => new(
        r.ReceivedAt,
        r.RevocationReason,
        r.Subscribers.OrderBy(x => x.Id).Select(x => new SubscriberFact(x.Id, x.Email,
            r.PreliminaryReports.Where(p => p.SubscriberId == x.Id && p.SentAt != null).Select(p => p.SentAt).Min())).ToList(),
        r.PreliminaryReports.Where(p => p.RecipientKind == "reporter" && p.SentAt != null).Select(p => p.SentAt).Min(),
        r.RevocationPublishedAt,
        r.RevocationWaivedAt,
        r.NotACprAt);

    /// <summary>Brings the stored deadlines in line with the computed clocks, auditing every difference.</summary>
    private async Task SyncDeadlinesAsync(WriteScope s, Report r, string actor)
    {
        var clocks = ClockCalculator.Compute(FactsOf(r), rules);
        var rows = r.Deadlines.ToList();
        foreach (var c in clocks)
        {
            var row = rows.FirstOrDefault(x => x.Name == c.Name && x.SubscriberId == c.SubscriberId);
            if (row is null)
            {
                row = new DeadlineRow { ReportId = r.Id, Name = c.Name, Recipient = c.Recipient, SubscriberId = c.SubscriberId, DueAt = c.DueAt, Section = c.Section };
                r.Deadlines.Add(row);
                await s.AuditAsync(actor, "deadline.set", r.Ticket, new { name = c.Name, recipient = c.Recipient, dueAt = c.DueAt, section = c.Section });
            }
            else
            {
                rows.Remove(row);
                if (row.DueAt != c.DueAt || row.Section != c.Section)
                {
                    await s.AuditAsync(actor, "deadline.changed", r.Ticket, new { name = c.Name, recipient = c.Recipient, from = row.DueAt, to = c.DueAt, section = c.Section });
                    row.DueAt = c.DueAt;
                    row.Section = c.Section;
                }
            }
            if (row.MetAt != c.MetAt)
            {
                row.MetAt = c.MetAt;
                if (c.MetAt is { } met)
                    await s.AuditAsync(actor, "deadline.met", r.Ticket, new { name = c.Name, recipient = c.Recipient, metAt = met, dueAt = c.DueAt, late = met > c.DueAt });
            }
            if (row.WaivedAt != c.WaivedAt)
            {
                await s.AuditAsync(actor, c.WaivedAt is null ? "deadline.reinstated" : "deadline.waived", r.Ticket,
                    new { name = c.Name, recipient = c.Recipient, dueAt = c.DueAt, waivedAt = c.WaivedAt, resolution = r.Resolution?.ToString() });
                row.WaivedAt = c.WaivedAt;
            }
        }
        foreach (var stale in rows)
        {
            // The "no Subscriber known yet" clock gives way to one clock per Subscriber.
            r.Deadlines.Remove(stale);
            s.Db.Deadlines.Remove(stale);
            await s.AuditAsync(actor, "deadline.superseded", r.Ticket, new { name = stale.Name, recipient = stale.Recipient, dueAt = stale.DueAt });
        }
        await s.Db.SaveChangesAsync();
    }

    private static async Task<Subscriber> FindOrAddSubscriberAsync(WriteScope s, Report r, string actor, string email, string? name)
    {
        var existing = r.Subscribers.FirstOrDefault(x => string.Equals(x.Email, email, StringComparison.OrdinalIgnoreCase));
        if (existing is not null) return existing;
        var sub = new Subscriber { ReportId = r.Id, Email = email, Name = Trim(name), AddedAt = s.Now, AddedBy = actor };
        r.Subscribers.Add(sub);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "subscriber.added", r.Ticket, new { email, name = sub.Name });
        return sub;
    }

    private static async Task ChangeStateAsync(WriteScope s, Report r, ReportState to, string actor)
    {
        if (r.State == to) return;
        await s.AuditAsync(actor, "report.state-changed", r.Ticket, new { from = r.State.ToString(), to = to.ToString(), resolution = r.Resolution?.ToString() });
        r.State = to;
    }

    private static DateTime CheckInstant(string field, DateTime value, Report r, DateTime now)
    {
        var utc = value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Utc);
        if (utc > now.AddMinutes(1)) throw DeskException.Invalid(field, $"{field} is in the future.");
        if (utc < r.ReceivedAt) throw DeskException.Invalid(field, $"{field} is before the report was received.");
        return utc;
    }

    public static string RequireEmail(string field, string? value)
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v)) throw DeskException.Invalid(field, $"{field} is required.");
        if (v.Length > 320 || !MailAddress.TryCreate(v, out var parsed) || parsed.Address != v)
            throw DeskException.Invalid(field, $"{field} is not a valid email address.");
        return v;
    }

    private static string? Trim(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
