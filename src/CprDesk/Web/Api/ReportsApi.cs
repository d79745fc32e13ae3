// JSON API v1: anonymous submission, staff reads and actions. Errors are application/problem+json.
using System.Text.Json;
using CprDesk.Access;
using CprDesk.Intake;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Web.Api;

public sealed record SubmissionDeadline(string Name, DateTime DueAt, string State);
public sealed record SubmissionResponse(string Ticket, DateTime ReceivedAt, string? StatusUrl, IReadOnlyList<SubmissionDeadline> Deadlines);
public sealed record ReportListItem(string Ticket, string State, string? Resolution, string? Category, DateTime ReceivedAt, string Reporter,
    string? Assignee, IReadOnlyList<DeadlineView> Deadlines);
public sealed record ReportResponse(string Ticket, string State, string? Resolution, string? Category, string? RevocationReason, string? CrlReason,
    DateTime ReceivedAt, ReporterView Reporter, string? Assignee, IReadOnlyList<DeadlineView> Deadlines, IReadOnlyList<MessageView> Messages,
    IReadOnlyList<ApiEvent> Events, IReadOnlyList<NotificationView> Notifications)
{
    public Evidence.EvidenceView? Evidence { get; init; }
}
public sealed record ReporterView(string Email, string? Name);
public sealed record ApiEvent(DateTime At, string Actor, string Type, JsonElement Detail, string Hash);

public sealed class ActionBody
{
    public string? Assignee { get; set; }
    public string? Reason { get; set; }
    public string? Note { get; set; }
    public string? Recipient { get; set; }
    public string? To { get; set; }
    public string? SubscriberName { get; set; }
    public string? Text { get; set; }
    public DateTime? SentAt { get; set; }
    /// <summary>preliminary-report: false records a report sent outside CprDesk (with sentAt).</summary>
    public bool Send { get; set; } = true;
    public DateTime? PublishedAt { get; set; }
    public string? Resolution { get; set; }
    public string? Email { get; set; }
    public string? Name { get; set; }
}

public static class ReportsApi
{
    public static readonly string[] Actions = ["assign", "classify", "preliminary-report", "revocation", "close", "reopen", "subscriber"];

    public static void MapReportsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1").WithTags("reports");

        api.MapPost("/reports", async (HttpContext ctx, IntakePipeline intake, ReportQueries queries, CprDeskOptions options) =>
        {
            var body = ctx.Items[RawBodyMiddleware.ItemKey] as byte[] ?? [];
            try
            {
                var result = await intake.SubmitAsync(new RawSubmission("api", body, ctx.Request.ContentType, ctx.Connection.RemoteIpAddress?.ToString()));
                var detail = await queries.GetAsync(result.Report.Ticket);
                var deadlines = detail!.Summary.Deadlines.Select(d => new SubmissionDeadline(d.Name, d.DueAt, d.State)).ToList();
                var statusUrl = result.StatusToken is null ? null : StatusUrl(ctx, options, result.StatusToken);
                return Results.Json(new SubmissionResponse(result.Report.Ticket, result.Report.ReceivedAt, statusUrl, deadlines), statusCode: 201);
            }
            catch (DeskException ex) { return Problem(ex); }
            catch (IntakeDeferredException ex)
            {
                return Results.Problem(detail: ex.Message, statusCode: 503, title: "Stored, not yet processed",
                    extensions: new Dictionary<string, object?> { ["messageId"] = ex.MessageId });
            }
        }).AllowAnonymous().Accepts<JsonElement>("application/json").Produces<SubmissionResponse>(201).ProducesProblem(400).ProducesProblem(413);

        api.MapGet("/reports", async (HttpContext ctx, ReportQueries queries, string? state, string? dueBefore) =>
        {
            ReportState? st = null;
            if (!string.IsNullOrWhiteSpace(state))
            {
                if (!Enum.TryParse<ReportState>(state, true, out var parsed) || !Enum.IsDefined(parsed))
                    return Problem(DeskException.Invalid("state", $"state must be one of: {string.Join(", ", Enum.GetNames<ReportState>())}."));
                st = parsed;
            }
            DateTime? before = null;
            if (!string.IsNullOrWhiteSpace(dueBefore))
            {
                if (!DateTimeOffset.TryParse(dueBefore, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var dto))
                    return Problem(DeskException.Invalid("dueBefore", "dueBefore must be an ISO-8601 instant, e.g. 2026-11-24T12:00:00Z."));
                before = dto.UtcDateTime;
            }
            var list = await queries.ListAsync(st, before, includeClosed: st is not null);
            return Results.Ok(list.Select(r => new ReportListItem(r.Ticket, r.State, r.Resolution, r.Category, r.ReceivedAt, r.ReporterEmail, r.Assignee, r.Deadlines)));
        }).RequireAuthorization(Policies.Read).Produces<List<ReportListItem>>().ProducesProblem(400).ProducesProblem(401);

        api.MapGet("/reports/{ticket}", async (string ticket, ReportQueries queries, Evidence.EvidenceQueries evidence) =>
        {
            var d = await queries.GetAsync(ticket);
            if (d is null) return Problem(DeskException.NotFound($"No report {ticket}."));
            return Results.Ok(ToResponse(d) with { Evidence = await evidence.GetAsync(ticket) });
        }).RequireAuthorization(Policies.Read).Produces<ReportResponse>().ProducesProblem(404).ProducesProblem(401);

        api.MapPost("/reports/{ticket}/actions/{action}", async (string ticket, string action, HttpContext ctx, ReportDesk desk, ReportQueries queries) =>
        {
            try
            {
                if (!Actions.Contains(action)) throw DeskException.NotFound($"Unknown action '{action}'. Actions: {string.Join(", ", Actions)}.");
                var body = await ReadActionAsync(ctx);
                var actor = ctx.User.Actor();
                await (action switch
                {
                    "assign" => desk.AssignAsync(ticket, actor, body.Assignee),
                    "classify" => desk.ClassifyAsync(ticket, actor, body.Reason, body.Note),
                    "preliminary-report" => desk.RecordPreliminaryReportAsync(ticket, actor, body.Recipient, body.To, body.SubscriberName, body.Text, body.SentAt, body.Send),
                    "revocation" => desk.RecordRevocationAsync(ticket, actor, body.PublishedAt, body.Note),
                    "close" => desk.CloseAsync(ticket, actor, body.Resolution, body.Note),
                    "reopen" => desk.ReopenAsync(ticket, actor, body.Note),
                    _ => desk.AddSubscriberAsync(ticket, actor, body.Email, body.Name),
                });
                return Results.Ok(ToResponse((await queries.GetAsync(ticket))!));
            }
            catch (DeskException ex) { return Problem(ex); }
        }).RequireAuthorization(Policies.Act).Accepts<ActionBody>("application/json").Produces<ReportResponse>()
          .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);
    }

    private static async Task<ActionBody> ReadActionAsync(HttpContext ctx) =>
        await JsonBody.ReadAsync<ActionBody>(ctx, 1024 * 1024, JsonOpts) ?? new ActionBody();

    private static readonly JsonSerializerOptions JsonOpts = new(JsonSerializerDefaults.Web);

    public static ReportResponse ToResponse(ReportDetail d) => new(
        d.Report.Ticket, d.Report.State.ToString(), d.Report.Resolution?.ToString(), d.Report.Category, d.Report.RevocationReason, d.Report.CrlReason,
        d.Report.ReceivedAt, new ReporterView(d.Report.ReporterEmail, d.Report.ReporterName), d.Report.Assignee?.Username,
        d.Summary.Deadlines, d.Messages,
        d.Events.Select(e => new ApiEvent(e.At, e.Actor, e.Type, JsonDocument.Parse(e.Detail).RootElement.Clone(), e.Hash)).ToList(),
        d.Notifications);

    public static string StatusUrl(HttpContext ctx, CprDeskOptions options, string token)
    {
        var baseUrl = string.IsNullOrWhiteSpace(options.PublicBaseUrl) ? $"{ctx.Request.Scheme}://{ctx.Request.Host}" : options.PublicBaseUrl.TrimEnd('/');
        return $"{baseUrl}/report/status/{token}";
    }

    public static IResult Problem(DeskException ex)
    {
        var (status, title) = ex.Kind switch
        {
            DeskErrorKind.NotFound => (404, "Not found"),
            DeskErrorKind.Conflict => (409, "Conflict"),
            DeskErrorKind.TooLarge => (413, "Payload too large"),
            _ => (400, "Invalid request"),
        };
        var extensions = new Dictionary<string, object?>();
        if (ex.Field is not null) extensions["field"] = ex.Field;
        return Results.Problem(detail: ex.Message, statusCode: status, title: title, extensions: extensions);
    }
}
