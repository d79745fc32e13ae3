// JSON API of the suspected-spam review queue.
using System.Text.Json;
using CprDesk.Access;
using CprDesk.Reports;
using CprDesk.Web.Api;

namespace CprDesk.Intake.Spam;

public sealed class SpamVerdictBody
{
    /// <summary>"spam" or "not-spam".</summary>
    public string? Verdict { get; set; }
    public string? Note { get; set; }
}

public static class SpamReviewApi
{
    private static readonly JsonSerializerOptions JsonOpts = new(JsonSerializerDefaults.Web);

    public static void MapSpamReviewApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1").WithTags("spam review");

        api.MapGet("/spam-review", async (SpamReviewDesk review) => Results.Ok(await review.QueueAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<SpamReviewItem>>().ProducesProblem(401);

        api.MapPost("/reports/{ticket}/spam-review", async (string ticket, HttpContext ctx, SpamReviewDesk review, ILogger<SpamReviewDesk> log) =>
        {
            try
            {
                var body = await JsonBody.ReadAsync<SpamVerdictBody>(ctx, 64 * 1024, JsonOpts) ?? new SpamVerdictBody();
                return Results.Ok(await review.DecideAsync(ticket, ctx.User.Actor(), body.Verdict, body.Note));
            }
            catch (DeskException ex)
            {
                log.LogWarning("Refused a spam review of {Ticket} by {Actor}: {Field}: {Reason}", ticket, ctx.User.Actor(), ex.Field, ex.Message);
                return ReportsApi.Problem(ex);
            }
        }).RequireAuthorization(Policies.Act).Accepts<SpamVerdictBody>("application/json").Produces<SpamDecision>()
          .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);
    }
}
