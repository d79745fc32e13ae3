// The incident's life: opened by a missed CPR clock or by a person, edited, posted, closed. Every change is
// written with its audit events in one transaction, and the incident's clocks are kept in step with its facts.
using System.Security.Cryptography;
using CprDesk.Deadlines;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Compliance.Incidents;

public sealed record IncidentDetail(
    Incident Incident,
    IncidentFields Fields,
    IReadOnlyList<Report> Reports,
    IReadOnlyList<IncidentReport> Links,
    IReadOnlyList<IncidentFinding> Findings,
    IReadOnlyList<IncidentActionItem> ActionItems,
    IReadOnlyList<IncidentQuestion> Questions,
    IReadOnlyList<IncidentPost> Posts,
    IReadOnlyList<IncidentClockRow> Clocks)
{
    /// <summary>Inventory certificates the evidence service matched to each report (by report id).</summary>
    public IReadOnlyDictionary<long, IReadOnlyList<Evidence.InventoryCertificate>> Inventory { get; init; } =
        new Dictionary<long, IReadOnlyList<Evidence.InventoryCertificate>>();
}

public sealed record NewIncident(string? Kind, string? Title, DateTime? AwareAt, string? Source, IReadOnlyList<string>? Reports);

public sealed record IncidentPatch(
    string? Title = null,
    string? Source = null,
    string? Status = null,
    string? Whiteboard = null,
    string? NextUpdate = null,
    long? BugId = null,
    bool? ReporterConsent = null,
    IReadOnlyDictionary<string, string?>? Fields = null,
    IReadOnlyList<RelatedIncidentRow>? RelatedIncidents = null,
    IReadOnlyList<TimelineNote>? TimelineNotes = null);

public sealed record NewFinding(string? Kind, string? Title, IReadOnlyDictionary<string, string?>? Detail);

public sealed record ActionItemChange(string? Title, string? Kind, IReadOnlyList<long>? Findings, string? EvaluationCriteria, string? Owner,
    string? DueOn, string? Status);

public sealed class IncidentDesk(Database database, TimeProvider time, IncidentRules rules, IncidentOptions options)
{
    public const string Statuses = "draft, reported, full-reported, closure-requested, closed";
    public static readonly string[] AllStatuses = ["draft", "reported", "full-reported", "closure-requested", "closed"];
    public static readonly string[] Sources = ["Self Reported", "Third Party Reported", "Audit"];

    public IncidentRules Rules => rules;
    public IncidentOptions Options => options;

    /// <summary>Called by the escalation engine in the transaction that records <c>deadline.missed</c>: opens (or
    /// extends) the incident for this report and kind. One incident per report and kind, not one per clock.</summary>
    public async Task<Incident> OpenForMissedClockAsync(WriteScope s, Report report, DeadlineRow clock)
    {
        var kind = clock.Name == ClockNames.Revocation ? IncidentKinds.DelayedRevocation : IncidentKinds.CprResponse;
        var existing = await (from l in s.Db.IncidentReports
                              join i in s.Db.Incidents on l.IncidentId equals i.Id
                              where l.ReportId == report.Id && i.Kind == kind
                              select i).FirstOrDefaultAsync();
        if (existing is not null)
        {
            await s.AuditAsync("system", "incident.clock-missed", report.Ticket, new { incident = existing.Id, clock = clock.Name, clock.Recipient, clock.DueAt });
            return existing;
        }
        var incident = new Incident
        {
            Kind = kind,
            Title = kind == IncidentKinds.DelayedRevocation
                ? "Delayed revocation"
                : "Failure to provide a preliminary report within 24 hours of a Certificate Problem Report",
            Status = "draft",
            AwareAt = s.Now,
            Source = "Self Reported",
            Whiteboard = kind == IncidentKinds.DelayedRevocation ? "[ca-compliance] [leaf-revocation-delay]" : "[ca-compliance] [policy-failure]",
            TemplateVersion = options.TemplateVersion,
            CreatedBy = "system",
            CreatedAt = s.Now,
            UpdatedAt = s.Now,
        };
        s.Db.Incidents.Add(incident);
        await s.Db.SaveChangesAsync();
        s.Db.IncidentReports.Add(new IncidentReport { IncidentId = incident.Id, ReportId = report.Id, MissedClock = clock.Name, LinkedAt = s.Now });
        await s.AuditAsync("system", "incident.opened", report.Ticket, new
        {
            incident = incident.Id, kind, title = incident.Title, awareAt = incident.AwareAt, reason = "deadline.missed", clock = clock.Name, clock.Recipient, clock.DueAt, clock.Section,
        });
        await SyncClocksAsync(s, incident);
        return incident;
    }

    public Task<long> CreateAsync(string actor, NewIncident n) => database.WriteAsync(time, async s =>
    {
        var kind = n.Kind?.Trim() is { Length: > 0 } k ? k : IncidentKinds.Other;
        if (!IncidentKinds.All.Contains(kind)) throw DeskException.Invalid("kind", $"kind must be one of: {string.Join(", ", IncidentKinds.All)}.");
        if (string.IsNullOrWhiteSpace(n.Title)) throw DeskException.Invalid("title", "title is required (the bug summary is 'CA Owner Name: title').");
        var source = CheckSource(n.Source) ?? "Self Reported";
        var aware = n.AwareAt?.ToUniversalTime() ?? s.Now;
        if (aware > s.Now.AddMinutes(5)) throw DeskException.Invalid("awareAt", "awareAt cannot be in the future.");
        var incident = new Incident
        {
            Kind = kind, Title = n.Title.Trim(), Status = "draft", AwareAt = aware, Source = source, TemplateVersion = options.TemplateVersion,
            Whiteboard = kind == IncidentKinds.DelayedRevocation ? "[ca-compliance] [leaf-revocation-delay]" : "[ca-compliance]",
            CreatedBy = actor, CreatedAt = s.Now, UpdatedAt = s.Now,
        };
        s.Db.Incidents.Add(incident);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "incident.opened", null, new { incident = incident.Id, kind, title = incident.Title, awareAt = aware, source, reason = "by hand" });
        foreach (var t in n.Reports ?? []) await LinkAsync(s, incident, actor, t);
        await SyncClocksAsync(s, incident);
        return incident.Id;
    });

    public Task LinkReportAsync(long id, string actor, string? ticket) => ActAsync(id, actor, (s, i) => LinkAsync(s, i, actor, ticket));

    private static async Task LinkAsync(WriteScope s, Incident i, string actor, string? ticket)
    {
        if (string.IsNullOrWhiteSpace(ticket)) throw DeskException.Invalid("ticket", "ticket is required.");
        var r = await s.Db.Reports.FirstOrDefaultAsync(x => x.Ticket == ticket.Trim()) ?? throw DeskException.Invalid("reports", $"No report {ticket}.");
        if (await s.Db.IncidentReports.AnyAsync(l => l.IncidentId == i.Id && l.ReportId == r.Id)) return;
        s.Db.IncidentReports.Add(new IncidentReport { IncidentId = i.Id, ReportId = r.Id, LinkedAt = s.Now });
        await s.AuditAsync(actor, "incident.report-linked", r.Ticket, new { incident = i.Id });
    }

    public Task UpdateAsync(long id, string actor, IncidentPatch p) => ActAsync(id, actor, async (s, i) =>
    {
        var changed = new Dictionary<string, object?>();
        if (p.Title is not null)
        {
            if (string.IsNullOrWhiteSpace(p.Title)) throw DeskException.Invalid("title", "title cannot be empty.");
            i.Title = p.Title.Trim();
            changed["title"] = i.Title;
        }
        if (p.Source is not null) changed["source"] = i.Source = CheckSource(p.Source);
        if (p.Status is not null)
        {
            if (!AllStatuses.Contains(p.Status)) throw DeskException.Invalid("status", $"status must be one of: {Statuses}.");
            changed["status"] = i.Status = p.Status;
        }
        if (p.Whiteboard is not null)
        {
            i.Whiteboard = p.Whiteboard.Trim();
            changed["whiteboard"] = i.Whiteboard;
            // The bug's whiteboard carries the Next update date; a date there drives the update clock.
            if (Bugzilla.Whiteboard.Parse(i.Whiteboard).NextUpdate is { } nu) changed["nextUpdate"] = i.NextUpdateOn = nu;
        }
        if (p.NextUpdate is not null)
        {
            if (p.NextUpdate.Trim().Length == 0) i.NextUpdateOn = null;
            else i.NextUpdateOn = Bugzilla.Whiteboard.ParseDate(p.NextUpdate) ?? throw DeskException.Invalid("nextUpdate", $"'{p.NextUpdate}' is not a date (e.g. 2026-04-01).");
            changed["nextUpdate"] = i.NextUpdateOn;
        }
        if (p.BugId is { } bug)
        {
            if (bug <= 0) throw DeskException.Invalid("bugId", "bugId must be a Bugzilla bug number.");
            changed["bugId"] = i.BugId = bug;
        }
        if (p.ReporterConsent is { } consent) changed["reporterConsent"] = i.ReporterConsent = consent;
        var fields = IncidentFields.Parse(i.Fields);
        if (p.Fields is { Count: > 0 })
        {
            fields = fields.With(p.Fields);
            changed["fields"] = p.Fields.Keys.ToList();
        }
        if (p.RelatedIncidents is not null)
        {
            fields.RelatedIncidents = [.. p.RelatedIncidents];
            changed["relatedIncidents"] = p.RelatedIncidents.Select(r => r.Bug);
        }
        if (p.TimelineNotes is not null)
        {
            fields.TimelineNotes = p.TimelineNotes.Select(n => n with { At = n.At.ToUniversalTime() }).ToList();
            changed["timelineNotes"] = fields.TimelineNotes.Count;
        }
        i.Fields = fields.ToJson();
        if (changed.Count == 0) throw DeskException.Invalid("body", "Nothing to change.");
        await s.AuditAsync(actor, "incident.edited", null, new { incident = i.Id, changed });
    });

    public Task<long> AddFindingAsync(long id, string actor, NewFinding f) => ActAsync(id, actor, async (s, i) =>
    {
        if (f.Kind is null || !FindingKinds.All.Contains(f.Kind)) throw DeskException.Invalid("kind", $"kind must be one of: {string.Join(", ", FindingKinds.All)}.");
        if (string.IsNullOrWhiteSpace(f.Title)) throw DeskException.Invalid("title", "title is required.");
        var row = new IncidentFinding
        {
            IncidentId = i.Id, Kind = f.Kind, Title = f.Title.Trim(), CreatedAt = s.Now,
            Detail = System.Text.Json.JsonSerializer.Serialize(f.Detail ?? new Dictionary<string, string?>()),
        };
        s.Db.IncidentFindings.Add(row);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "incident.finding-added", null, new { incident = i.Id, finding = row.Id, row.Kind, row.Title });
        return row.Id;
    });

    public Task<long> AddActionItemAsync(long id, string actor, ActionItemChange c) => ActAsync(id, actor, async (s, i) =>
    {
        var item = new IncidentActionItem { IncidentId = i.Id, Status = "Ongoing", CreatedAt = s.Now, ChangedAt = s.Now };
        await ApplyAsync(s, i, item, c, creating: true);
        s.Db.IncidentActionItems.Add(item);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "incident.action-item-added", null, new
        {
            incident = i.Id, actionItem = item.Id, item.Title, item.Kind, findings = item.Findings, item.Owner, dueOn = item.DueOn, item.Status,
        });
        return item.Id;
    });

    public Task UpdateActionItemAsync(long id, long itemId, string actor, ActionItemChange c) => ActAsync(id, actor, async (s, i) =>
    {
        var item = await s.Db.IncidentActionItems.FirstOrDefaultAsync(a => a.Id == itemId && a.IncidentId == i.Id)
            ?? throw DeskException.NotFound($"Incident {id} has no action item {itemId}.");
        var before = new { item.Title, item.Kind, item.FindingIds, item.Owner, item.DueOn, item.Status };
        await ApplyAsync(s, i, item, c, creating: false);
        item.ChangedAt = s.Now;
        await s.AuditAsync(actor, "incident.action-item-changed", null, new
        {
            incident = i.Id, actionItem = item.Id, from = before, to = new { item.Title, item.Kind, item.FindingIds, item.Owner, item.DueOn, item.Status },
        });
    });

    private static async Task ApplyAsync(WriteScope s, Incident i, IncidentActionItem item, ActionItemChange c, bool creating)
    {
        if (c.Title is not null || creating)
            item.Title = string.IsNullOrWhiteSpace(c.Title) ? throw DeskException.Invalid("title", "title is required.") : c.Title.Trim();
        if (c.Kind is not null || creating)
            item.Kind = c.Kind is not null && IncidentActionItem.Kinds.Contains(c.Kind) ? c.Kind
                : throw DeskException.Invalid("kind", $"kind must be one of: {string.Join(", ", IncidentActionItem.Kinds)}.");
        if (c.Status is not null)
        {
            if (!IncidentActionItem.Statuses.Contains(c.Status)) throw DeskException.Invalid("status", $"status must be one of: {string.Join(", ", IncidentActionItem.Statuses)}.");
            if (c.Status is "Complete" or "Canceled" && item.Status != c.Status) item.SettledAt = s.Now;
            if (c.Status is "Ongoing" or "Delayed") item.SettledAt = null;
            item.Status = c.Status;
        }
        if (c.Findings is not null)
        {
            var known = await s.Db.IncidentFindings.Where(f => f.IncidentId == i.Id).Select(f => f.Id).ToListAsync();
            var unknown = c.Findings.Where(f => !known.Contains(f)).ToList();
            if (unknown.Count > 0) throw DeskException.Invalid("findings", $"Incident {i.Id} has no finding(s) {string.Join(", ", unknown)}.");
            item.FindingIds = string.Join(' ', c.Findings.Distinct());
        }
        if (c.EvaluationCriteria is not null) item.EvaluationCriteria = c.EvaluationCriteria.Trim();
        if (c.Owner is not null) item.Owner = c.Owner.Trim();
        if (c.DueOn is not null)
            item.DueOn = c.DueOn.Trim().Length == 0 ? null
                : DateOnly.TryParseExact(c.DueOn.Trim(), "yyyy-MM-dd", out var d) ? d.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)
                : throw DeskException.Invalid("dueOn", $"dueOn must be a date like 2026-04-01, not '{c.DueOn}'.");
    }

    public Task<long> AddQuestionAsync(long id, string actor, string? text, DateTime? askedAt, string? askedBy) => ActAsync(id, actor, async (s, i) =>
    {
        if (string.IsNullOrWhiteSpace(text)) throw DeskException.Invalid("text", "text is required (the question asked on the bug).");
        var at = askedAt?.ToUniversalTime() ?? s.Now;
        if (at > s.Now.AddMinutes(5)) throw DeskException.Invalid("askedAt", "askedAt cannot be in the future.");
        var q = new IncidentQuestion { IncidentId = i.Id, Text = text.Trim(), AskedAt = at, AskedBy = askedBy?.Trim() };
        s.Db.IncidentQuestions.Add(q);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "incident.question-recorded", null, new { incident = i.Id, question = q.Id, askedAt = at, askedBy = q.AskedBy });
        return q.Id;
    });

    public Task AnswerQuestionAsync(long id, long questionId, string actor, DateTime? answeredAt) => ActAsync(id, actor, async (s, i) =>
    {
        var q = await s.Db.IncidentQuestions.FirstOrDefaultAsync(x => x.Id == questionId && x.IncidentId == i.Id)
            ?? throw DeskException.NotFound($"Incident {id} has no question {questionId}.");
        if (q.AnsweredAt is not null) throw DeskException.Conflict($"Question {questionId} is already answered.");
        var at = answeredAt?.ToUniversalTime() ?? s.Now;
        if (at < q.AskedAt || at > s.Now.AddMinutes(5)) throw DeskException.Invalid("answeredAt", "answeredAt must lie between the question and now.");
        q.AnsweredAt = at;
        await s.AuditAsync(actor, "incident.question-answered", null, new { incident = i.Id, question = q.Id, answeredAt = at });
    });

    /// <summary>Records that a report was posted to the bug. A preliminary, full or closure report must pass
    /// validation first (<see cref="IncidentValidation"/>); the problems are the error.</summary>
    public Task RecordPostAsync(long id, string actor, string? kind, DateTime? postedAt, string? text, IReadOnlyList<ValidationProblem> problems) =>
        ActAsync(id, actor, async (s, i) =>
        {
            if (kind is null || !IncidentPost.Kinds.Contains(kind)) throw DeskException.Invalid("kind", $"kind must be one of: {string.Join(", ", IncidentPost.Kinds)}.");
            if (kind != IncidentPost.Update && problems.Count > 0)
                throw new IncidentValidationException(problems);
            var at = postedAt?.ToUniversalTime() ?? s.Now;
            if (at > s.Now.AddMinutes(5) || at < i.AwareAt.AddDays(-1)) throw DeskException.Invalid("postedAt", "postedAt must lie between awareness and now.");
            var post = new IncidentPost
            {
                IncidentId = i.Id, Kind = kind, PostedAt = at, TemplateVersion = kind == IncidentPost.Update ? null : options.TemplateVersion,
                TextSha256 = text is null ? null : Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))),
                RecordedBy = actor, RecordedAt = s.Now,
            };
            s.Db.IncidentPosts.Add(post);
            i.Status = kind switch
            {
                IncidentPost.Preliminary when i.Status == "draft" => "reported",
                IncidentPost.Full when i.Status is "draft" or "reported" => "full-reported",
                IncidentPost.Closure => "closure-requested",
                _ => i.Status,
            };
            await s.AuditAsync(actor, "incident.posted", null, new { incident = i.Id, kind, postedAt = at, post.TemplateVersion, post.TextSha256, status = i.Status });
        });

    private async Task<T> ActAsync<T>(long id, string actor, Func<WriteScope, Incident, Task<T>> work) =>
        await database.WriteAsync(time, async s =>
        {
            var i = await s.Db.Incidents.FirstOrDefaultAsync(x => x.Id == id) ?? throw DeskException.NotFound($"No incident {id}.");
            var result = await work(s, i);
            i.UpdatedAt = s.Now;
            await s.Db.SaveChangesAsync();
            await SyncClocksAsync(s, i);
            return result;
        });

    private Task ActAsync(long id, string actor, Func<WriteScope, Incident, Task> work) =>
        ActAsync(id, actor, async (s, i) => { await work(s, i); return true; });

    private static string? CheckSource(string? source)
    {
        if (source is null) return null;
        var match = Sources.FirstOrDefault(x => string.Equals(x, source.Trim(), StringComparison.OrdinalIgnoreCase));
        return match ?? throw DeskException.Invalid("source", $"source must be one of: {string.Join(", ", Sources)}.");
    }

    /// <summary>Recomputes the incident's clocks from its facts and brings the stored rows in step, with audit events.</summary>
    public async Task SyncClocksAsync(WriteScope s, Incident i)
    {
        var posts = await s.Db.IncidentPosts.Where(p => p.IncidentId == i.Id).Select(p => new { p.Kind, p.PostedAt }).ToListAsync();
        var facts = new IncidentClockFacts(
            i.AwareAt,
            Bugzilla.Whiteboard.Parse(i.Whiteboard).Tags.Any(t => rules.RevocationDelayTags.Contains(t)),
            i.NextUpdateOn,
            posts.Select(p => (p.Kind, p.PostedAt)).ToList(),
            await s.Db.IncidentQuestions.Where(q => q.IncidentId == i.Id).ToListAsync(),
            await s.Db.IncidentActionItems.Where(a => a.IncidentId == i.Id).ToListAsync(),
            i.Status == "closed" ? i.UpdatedAt : null);
        var computed = IncidentClockCalculator.Compute(facts, rules);
        var rows = await s.Db.IncidentClocks.Where(c => c.IncidentId == i.Id).ToListAsync();
        foreach (var c in computed)
        {
            var row = rows.FirstOrDefault(r => r.Name == c.Name && r.Ref == c.Ref);
            if (row is null)
            {
                row = new IncidentClockRow { IncidentId = i.Id, Name = c.Name, Ref = c.Ref, DueAt = c.DueAt, Basis = c.Basis };
                s.Db.IncidentClocks.Add(row);
                await s.AuditAsync("system", "incident.deadline-set", null, new { incident = i.Id, name = c.Name, @ref = c.Ref, dueAt = c.DueAt, basis = c.Basis });
            }
            else if (row.DueAt != c.DueAt)
            {
                await s.AuditAsync("system", "incident.deadline-changed", null, new { incident = i.Id, name = c.Name, @ref = c.Ref, from = row.DueAt, to = c.DueAt, basis = c.Basis });
                row.DueAt = c.DueAt;
            }
            row.Basis = c.Basis;
            if (row.MetAt != c.MetAt)
            {
                row.MetAt = c.MetAt;
                if (c.MetAt is { } met)
                    await s.AuditAsync("system", "incident.deadline-met", null, new { incident = i.Id, name = c.Name, @ref = c.Ref, metAt = met, dueAt = c.DueAt, late = met > c.DueAt });
            }
            var waived = c.MetAt is null ? c.WaivedAt : null;
            if (row.WaivedAt != waived)
            {
                row.WaivedAt = waived;
                await s.AuditAsync("system", waived is null ? "incident.deadline-reinstated" : "incident.deadline-waived", null, new { incident = i.Id, name = c.Name, @ref = c.Ref });
            }
        }
        foreach (var gone in rows.Where(r => !computed.Any(c => c.Name == r.Name && c.Ref == r.Ref)))
        {
            s.Db.IncidentClocks.Remove(gone);
            await s.AuditAsync("system", "incident.deadline-superseded", null, new { incident = i.Id, name = gone.Name, @ref = gone.Ref, dueAt = gone.DueAt });
        }
        await s.Db.SaveChangesAsync();
    }

    public async Task<IReadOnlyList<Incident>> ListAsync()
    {
        await using var db = database.Open();
        return await db.Incidents.AsNoTracking().OrderByDescending(i => i.Id).ToListAsync();
    }

    public async Task<IncidentDetail?> GetAsync(long id)
    {
        await using var db = database.Open();
        var i = await db.Incidents.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id);
        if (i is null) return null;
        var links = await db.IncidentReports.AsNoTracking().Where(l => l.IncidentId == id).OrderBy(l => l.ReportId).ToListAsync();
        var reportIds = links.Select(l => l.ReportId).ToList();
        var reports = await db.Reports.AsNoTracking().Include(r => r.Certificates).Include(r => r.Subscribers).Include(r => r.Deadlines)
            .Include(r => r.PreliminaryReports).Where(r => reportIds.Contains(r.Id)).OrderBy(r => r.Id).ToListAsync();
        return new IncidentDetail(i, IncidentFields.Parse(i.Fields), reports, links,
            await db.IncidentFindings.AsNoTracking().Where(f => f.IncidentId == id).OrderBy(f => f.Id).ToListAsync(),
            await db.IncidentActionItems.AsNoTracking().Where(f => f.IncidentId == id).OrderBy(f => f.Id).ToListAsync(),
            await db.IncidentQuestions.AsNoTracking().Where(f => f.IncidentId == id).OrderBy(f => f.Id).ToListAsync(),
            await db.IncidentPosts.AsNoTracking().Where(f => f.IncidentId == id).OrderBy(f => f.PostedAt).ToListAsync(),
            await db.IncidentClocks.AsNoTracking().Where(f => f.IncidentId == id).OrderBy(f => f.DueAt).ThenBy(f => f.Id).ToListAsync())
        {
            Inventory = await MatchedInventoryAsync(db, reportIds),
        };
    }

    private static async Task<IReadOnlyDictionary<long, IReadOnlyList<Evidence.InventoryCertificate>>> MatchedInventoryAsync(CprDeskDb db, List<long> reportIds)
    {
        var pairs = await (from m in db.EvidenceMatches.AsNoTracking()
                           join c in db.Inventory.AsNoTracking() on m.InventoryId equals c.Id
                           where reportIds.Contains(m.ReportId)
                           select new { m.ReportId, Certificate = c }).ToListAsync();
        return pairs.GroupBy(p => p.ReportId).ToDictionary(g => g.Key,
            g => (IReadOnlyList<Evidence.InventoryCertificate>)g.Select(p => p.Certificate).DistinctBy(c => c.Id).OrderBy(c => c.Id).ToList());
    }

    /// <summary>The audit events of the incident's reports and of the incident itself, oldest first.</summary>
    public async Task<IReadOnlyList<AuditEvent>> EventsAsync(IncidentDetail d)
    {
        await using var db = database.Open();
        var tickets = d.Reports.Select(r => r.Ticket).ToList();
        var marker = $"\"incident\":{d.Incident.Id},";
        var markerEnd = $"\"incident\":{d.Incident.Id}}}";
        return await db.AuditEvents.AsNoTracking()
            .Where(e => (e.Ticket != null && tickets.Contains(e.Ticket)) || (e.Type.StartsWith("incident.") && (e.Detail.Contains(marker) || e.Detail.Contains(markerEnd))))
            .OrderBy(e => e.Seq).ToListAsync();
    }
}

public sealed class IncidentValidationException(IReadOnlyList<ValidationProblem> problems)
    : Exception($"The report cannot be posted: {string.Join(" ", problems.Select(p => p.Message))}")
{
    public IReadOnlyList<ValidationProblem> Problems { get; } = problems;
}
