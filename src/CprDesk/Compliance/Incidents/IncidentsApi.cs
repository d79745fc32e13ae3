// JSON API for incidents and the Bugzilla watch: reads for every staff role, writes for admin and staff.
using System.Text.Json;
using CprDesk.Access;
using CprDesk.Compliance.Bugzilla;
using CprDesk.Deadlines;
using CprDesk.Reports;
using CprDesk.Web.Api;

namespace CprDesk.Compliance.Incidents;

public sealed record IncidentClockView(long Id, string Name, string Ref, DateTime DueAt, DateTime? MetAt, DateTime? WaivedAt, string State, string Basis);
public sealed record IncidentReportView(string Ticket, DateTime ReceivedAt, string State, string? MissedClock);
public sealed record FindingView(long Id, string Kind, string Label, string Title, JsonElement Detail, IReadOnlyList<long> ActionItems);
public sealed record ActionItemView(long Id, string Title, string Kind, IReadOnlyList<long> Findings, IReadOnlyList<string> Addresses, string? EvaluationCriteria,
    string? Owner, string? DueOn, string Status, DateTime ChangedAt);
public sealed record QuestionView(long Id, DateTime AskedAt, string? AskedBy, string Text, DateTime? AnsweredAt);
public sealed record PostView(string Kind, DateTime PostedAt, string? TemplateVersion, string RecordedBy);
public sealed record IncidentSummaryView(long Id, string Kind, string Title, string Status, DateTime AwareAt, long? BugId, DateTime? NextDueAt, string? NextClock,
    bool AnyMissed);
public sealed record IncidentView(long Id, string Kind, string Title, string BugSummary, string Status, DateTime AwareAt, string? Source, string Whiteboard,
    string? NextUpdate, long? BugId, bool ReporterConsent, string TemplateVersion, string? TemplateWarning, JsonElement Fields,
    IReadOnlyList<IncidentReportView> Reports, IReadOnlyList<IncidentClockView> Clocks, IReadOnlyList<FindingView> Findings,
    IReadOnlyList<ActionItemView> ActionItems, IReadOnlyList<QuestionView> Questions, IReadOnlyList<PostView> Posts,
    IReadOnlyList<ValidationProblem> FullReportProblems);
public sealed record BugView(long Id, string Summary, string? CaOwner, string? Status, string? Resolution, string Whiteboard, IReadOnlyList<string> Tags,
    string? NextUpdate, string? CloseOn, DateTime Opened, DateTime LastChange, IReadOnlyList<string> Classes, JsonElement Reasons, bool Own, long? IncidentId,
    string? Review, string? ReviewNote);

public sealed class IncidentBody
{
    public string? Kind { get; set; }
    public string? Title { get; set; }
    public DateTime? AwareAt { get; set; }
    public string? Source { get; set; }
    public List<string>? Reports { get; set; }
    public string? Status { get; set; }
    public string? Whiteboard { get; set; }
    public string? NextUpdate { get; set; }
    public long? BugId { get; set; }
    public bool? ReporterConsent { get; set; }
    public Dictionary<string, string?>? Fields { get; set; }
    public List<RelatedIncidentRow>? RelatedIncidents { get; set; }
    public List<TimelineNote>? TimelineNotes { get; set; }
    public string? Ticket { get; set; }
    public Dictionary<string, string?>? Detail { get; set; }
    public List<long>? Findings { get; set; }
    public string? EvaluationCriteria { get; set; }
    public string? Owner { get; set; }
    public string? DueOn { get; set; }
    public string? Text { get; set; }
    public DateTime? AskedAt { get; set; }
    public string? AskedBy { get; set; }
    public DateTime? AnsweredAt { get; set; }
    public DateTime? PostedAt { get; set; }
    public string? Verdict { get; set; }
    public string? Note { get; set; }
}

public static class IncidentsApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapIncidentsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1").WithTags("incidents");
        api.MapGet("/incidents", async (IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) =>
        {
            var list = await desk.ListAsync();
            var views = new List<IncidentSummaryView>();
            foreach (var i in list) views.Add(await SummaryAsync(desk, i.Id, time));
            return Results.Ok(new { templateVersion = drafts.Templates.Version, templateWarning = TemplateWarning(drafts, time), incidents = views });
        }).RequireAuthorization(Policies.Read);

        api.MapPost("/incidents", (HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            var id = await desk.CreateAsync(ctx.User.Actor(), new NewIncident(b.Kind, b.Title, b.AwareAt, b.Source, b.Reports));
            return Results.Json(await ViewAsync(desk, drafts, time, id), statusCode: 201);
        })).RequireAuthorization(Policies.Act);

        api.MapGet("/incidents/{id:long}", async (long id, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) =>
            await desk.GetAsync(id) is null ? ReportsApi.Problem(DeskException.NotFound($"No incident {id}.")) : Results.Ok(await ViewAsync(desk, drafts, time, id)))
            .RequireAuthorization(Policies.Read);

        api.MapMethods("/incidents/{id:long}", ["PATCH"], (long id, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            await desk.UpdateAsync(id, ctx.User.Actor(), new IncidentPatch(b.Title, b.Source, b.Status, b.Whiteboard, b.NextUpdate, b.BugId, b.ReporterConsent,
                b.Fields, b.RelatedIncidents, b.TimelineNotes));
            return Results.Ok(await ViewAsync(desk, drafts, time, id));
        })).RequireAuthorization(Policies.Act);

        api.MapPost("/incidents/{id:long}/reports", (long id, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            await desk.LinkReportAsync(id, ctx.User.Actor(), b.Ticket);
            return Results.Ok(await ViewAsync(desk, drafts, time, id));
        })).RequireAuthorization(Policies.Act);

        api.MapPost("/incidents/{id:long}/findings", (long id, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            var fid = await desk.AddFindingAsync(id, ctx.User.Actor(), new NewFinding(b.Kind, b.Title, b.Detail));
            return Results.Json(new { id = fid, incident = await ViewAsync(desk, drafts, time, id) }, statusCode: 201);
        })).RequireAuthorization(Policies.Act);

        api.MapPost("/incidents/{id:long}/action-items", (long id, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            var aid = await desk.AddActionItemAsync(id, ctx.User.Actor(), Change(b));
            return Results.Json(new { id = aid, incident = await ViewAsync(desk, drafts, time, id) }, statusCode: 201);
        })).RequireAuthorization(Policies.Act);

        api.MapMethods("/incidents/{id:long}/action-items/{item:long}", ["PATCH"], (long id, long item, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) =>
            Act(ctx, async b =>
            {
                await desk.UpdateActionItemAsync(id, item, ctx.User.Actor(), Change(b));
                return Results.Ok(await ViewAsync(desk, drafts, time, id));
            })).RequireAuthorization(Policies.Act);

        api.MapPost("/incidents/{id:long}/questions", (long id, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            var qid = await desk.AddQuestionAsync(id, ctx.User.Actor(), b.Text, b.AskedAt, b.AskedBy);
            return Results.Json(new { id = qid, incident = await ViewAsync(desk, drafts, time, id) }, statusCode: 201);
        })).RequireAuthorization(Policies.Act);

        api.MapPost("/incidents/{id:long}/questions/{q:long}/answer", (long id, long q, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) =>
            Act(ctx, async b =>
            {
                await desk.AnswerQuestionAsync(id, q, ctx.User.Actor(), b.AnsweredAt);
                return Results.Ok(await ViewAsync(desk, drafts, time, id));
            })).RequireAuthorization(Policies.Act);

        api.MapPost("/incidents/{id:long}/posts", (long id, HttpContext ctx, IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) => Act(ctx, async b =>
        {
            var d = await desk.GetAsync(id) ?? throw DeskException.NotFound($"No incident {id}.");
            var problems = b.Kind is "preliminary" or "full" or "closure" ? drafts.Validate(d, b.Kind) : [];
            var text = b.Kind is "preliminary" or "full" or "closure" ? await drafts.RenderAsync(d, b.Kind) : null;
            await desk.RecordPostAsync(id, ctx.User.Actor(), b.Kind, b.PostedAt, text, problems);
            return Results.Ok(await ViewAsync(desk, drafts, time, id));
        })).RequireAuthorization(Policies.Act);

        api.MapGet("/incidents/{id:long}/draft", async (long id, string? kind, IncidentDesk desk, IncidentDrafts drafts) =>
        {
            try
            {
                var d = await desk.GetAsync(id) ?? throw DeskException.NotFound($"No incident {id}.");
                var markdown = await drafts.RenderAsync(d, kind ?? "full");
                return Results.Text(markdown, "text/markdown; charset=utf-8");
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Read);

        api.MapGet("/incidents/{id:long}/validation", async (long id, string? kind, IncidentDesk desk, IncidentDrafts drafts) =>
        {
            var d = await desk.GetAsync(id);
            if (d is null) return ReportsApi.Problem(DeskException.NotFound($"No incident {id}."));
            var k = kind ?? "full";
            if (!IrgTemplates.Kinds.Contains(k)) return ReportsApi.Problem(DeskException.Invalid("kind", $"kind must be one of: {string.Join(", ", IrgTemplates.Kinds)}."));
            var problems = drafts.Validate(d, k);
            return Results.Ok(new { kind = k, ok = problems.Count == 0, problems });
        }).RequireAuthorization(Policies.Read);

        api.MapGet("/incidents/{id:long}/appendix.csv", async (long id, IncidentDesk desk, TimeProvider time) =>
        {
            var d = await desk.GetAsync(id);
            if (d is null) return ReportsApi.Problem(DeskException.NotFound($"No incident {id}."));
            var csv = IncidentAppendix.Csv(IncidentAppendix.Certificates(d, time.GetUtcNow().UtcDateTime));
            return Results.File(System.Text.Encoding.UTF8.GetBytes(csv), "text/csv; charset=utf-8", $"incident-{id}-appendix.csv");
        }).RequireAuthorization(Policies.Read);

        api.MapGet("/incidents/{id:long}/related", async (long id, BugzillaWatch watch) =>
        {
            try { return Results.Ok(await watch.RelatedAsync(id)); }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Read);

        api.MapPost("/bugzilla/import", async (HttpContext ctx, BugzillaWatch watch) =>
        {
            try
            {
                using var reader = new StreamReader(ctx.Request.Body);
                var json = await reader.ReadToEndAsync(ctx.RequestAborted);
                if (json.Length > 50 * 1024 * 1024) throw DeskException.Invalid("body", "The body may be at most 50 MB.");
                return Results.Ok(await watch.ImportJsonAsync(ctx.User.Actor(), json, "api"));
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Act);

        api.MapGet("/bugzilla/review", async (BugzillaWatch watch) => Results.Ok((await watch.ReviewQueueAsync()).Select(ToView)))
            .RequireAuthorization(Policies.Read);

        api.MapPost("/bugzilla/bugs/{id:long}/review", (long id, HttpContext ctx, BugzillaWatch watch) => Act(ctx, async b =>
        {
            await watch.ReviewAsync(id, ctx.User.Actor(), b.Verdict, b.Note);
            return Results.Ok(new { bug = id, verdict = b.Verdict });
        })).RequireAuthorization(Policies.Act);
    }

    private static ActionItemChange Change(IncidentBody b) => new(b.Title, b.Kind, b.Findings, b.EvaluationCriteria, b.Owner, b.DueOn, b.Status);

    private static async Task<IResult> Act(HttpContext ctx, Func<IncidentBody, Task<IResult>> work)
    {
        try
        {
            var body = await JsonBody.ReadAsync<IncidentBody>(ctx, 1024 * 1024, Json) ?? new IncidentBody();
            return await work(body);
        }
        catch (DeskException ex)
        {
            ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CprDesk.Incidents")
                .LogInformation("Refused {Method} {Path}: {Field}: {Message}", ctx.Request.Method, ctx.Request.Path, ex.Field, ex.Message);
            return ReportsApi.Problem(ex);
        }
        catch (IncidentValidationException ex)
        {
            ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CprDesk.Incidents")
                .LogInformation("Refused to record a post: {Problems}", string.Join(" | ", ex.Problems.Select(p => $"{p.Field}: {p.Message}")));
            return Results.Problem(detail: ex.Message, statusCode: 400, title: "The report does not pass validation",
                extensions: new Dictionary<string, object?> { ["field"] = ex.Problems[0].Field, ["problems"] = ex.Problems });
        }
    }

    public static string? TemplateWarning(IncidentDrafts drafts, TimeProvider time)
    {
        var t = drafts.Templates;
        if (t.SupersededOn is not { } s) return null;
        var now = time.GetUtcNow().UtcDateTime;
        return t.TooOldAt(now)
            ? $"IRG template {t.Version} was superseded on {s:yyyy-MM-dd}, more than 30 days ago: reports MUST NOT be posted with it (CCADB Policy §6.1). Install the current templates."
            : $"IRG template {t.Version} was superseded on {s:yyyy-MM-dd}; it may be used until {s + IrgTemplateSet.Grace:yyyy-MM-dd}.";
    }

    public static string ClockState(IncidentClockRow c, DateTime now) =>
        ReportQueries.StateName(new Clock(c.Name, null, null, c.DueAt, c.MetAt, c.WaivedAt, "").StateAt(now, TimeSpan.FromDays(1)));

    private static async Task<IncidentSummaryView> SummaryAsync(IncidentDesk desk, long id, TimeProvider time)
    {
        var d = (await desk.GetAsync(id))!;
        var now = time.GetUtcNow().UtcDateTime;
        var open = d.Clocks.Where(c => c.MetAt is null && c.WaivedAt is null).OrderBy(c => c.DueAt).FirstOrDefault();
        return new IncidentSummaryView(id, d.Incident.Kind, d.Incident.Title, d.Incident.Status, d.Incident.AwareAt, d.Incident.BugId, open?.DueAt, open?.Name,
            d.Clocks.Any(c => ClockState(c, now) == "missed"));
    }

    public static async Task<IncidentView> ViewAsync(IncidentDesk desk, IncidentDrafts drafts, TimeProvider time, long id)
    {
        var d = (await desk.GetAsync(id))!;
        var now = time.GetUtcNow().UtcDateTime;
        var i = d.Incident;
        return new IncidentView(i.Id, i.Kind, i.Title, drafts.BugSummary(d), i.Status, i.AwareAt, i.Source, i.Whiteboard, i.NextUpdateOn?.ToString("yyyy-MM-dd"),
            i.BugId, i.ReporterConsent, drafts.Templates.Version, TemplateWarning(drafts, time), JsonDocument.Parse(i.Fields).RootElement.Clone(),
            d.Reports.Select(r => new IncidentReportView(r.Ticket, r.ReceivedAt, r.State.ToString(), d.Links.FirstOrDefault(l => l.ReportId == r.Id)?.MissedClock)).ToList(),
            d.Clocks.Select(c => new IncidentClockView(c.Id, c.Name, c.Ref, c.DueAt, c.MetAt, c.WaivedAt, ClockState(c, now), c.Basis)).ToList(),
            d.Findings.Select(f => new FindingView(f.Id, f.Kind, IncidentValidation.FindingLabel(d, f), f.Title, JsonDocument.Parse(f.Detail).RootElement.Clone(),
                d.ActionItems.Where(a => a.Findings.Contains(f.Id)).Select(a => a.Id).ToList())).ToList(),
            d.ActionItems.Select(a => new ActionItemView(a.Id, a.Title, a.Kind, a.Findings,
                a.Findings.Select(fid => d.Findings.FirstOrDefault(f => f.Id == fid)).OfType<IncidentFinding>().Select(f => IncidentValidation.FindingLabel(d, f)).ToList(),
                a.EvaluationCriteria, a.Owner, a.DueOn?.ToString("yyyy-MM-dd"), a.Status, a.ChangedAt)).ToList(),
            d.Questions.Select(q => new QuestionView(q.Id, q.AskedAt, q.AskedBy, q.Text, q.AnsweredAt)).ToList(),
            d.Posts.Select(p => new PostView(p.Kind, p.PostedAt, p.TemplateVersion, p.RecordedBy)).ToList(),
            drafts.Validate(d, "full"));
    }

    public static BugView ToView(BugzillaBug b) => new(b.Id, b.Summary, b.CaOwner, b.Status, b.Resolution, b.Whiteboard,
        b.Tags.Split(' ', StringSplitOptions.RemoveEmptyEntries), b.NextUpdateOn?.ToString("yyyy-MM-dd"), b.CloseOn?.ToString("yyyy-MM-dd"), b.CreationTime,
        b.LastChangeTime, b.FailureClasses.Split(' ', StringSplitOptions.RemoveEmptyEntries), JsonDocument.Parse(b.ClassReasons).RootElement.Clone(), b.Own,
        b.IncidentId, b.Review, b.ReviewNote);
}
