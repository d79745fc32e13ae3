// JSON API v1 for managing on-call: contact methods, teams, deleting schedules, editing and deleting overrides,
// editing absences, calendar feed tokens; and the iCalendar feeds themselves (by secret token, no cookie).
using System.Globalization;
using CprDesk.Access;
using CprDesk.Notifications;
using CprDesk.OnCall;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Web.Api;

public sealed record FeedLinks(string Token, string Person, IReadOnlyList<string> Schedules);

public static class OnCallManagementApi
{
    /// <summary>Services for contact methods, teams, calendar feeds and notification limits (<c>CprDesk:Notifications</c>).</summary>
    public static void AddOnCallManagement(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(builder.Configuration.GetSection(NotificationSettings.Section).Get<NotificationSettings>() ?? new NotificationSettings());
        builder.Services.AddSingleton<ContactStore>();
        builder.Services.AddSingleton<CalendarFeeds>();
    }

    public static void MapOnCallManagementApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1").WithTags("oncall");

        api.MapGet("/users/{username}/contact-methods", (string username, HttpContext ctx, ContactStore store) =>
            Guard(ctx, username, async () => Results.Ok(await store.ListAsync(username))))
            .RequireAuthorization(Policies.Read).Produces<List<ContactMethod>>().ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);

        api.MapPost("/users/{username}/contact-methods", (string username, HttpContext ctx, ContactStore store) =>
            Guard(ctx, username, async () => Results.Json(await store.AddAsync(ctx.User.Actor(), username, await ReadAsync<ContactMethodBody>(ctx)), statusCode: 201)))
            .RequireAuthorization(Policies.Read).Accepts<ContactMethodBody>("application/json").Produces<ContactMethod>(201)
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        api.MapPut("/users/{username}/contact-methods/{id:long}", (string username, long id, HttpContext ctx, ContactStore store) =>
            Guard(ctx, username, async () => Results.Ok(await store.UpdateAsync(ctx.User.Actor(), username, id, await ReadAsync<ContactMethodBody>(ctx)))))
            .RequireAuthorization(Policies.Read).Accepts<ContactMethodBody>("application/json").Produces<ContactMethod>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        api.MapDelete("/users/{username}/contact-methods/{id:long}", (string username, long id, HttpContext ctx, ContactStore store) =>
            Guard(ctx, username, async () => Results.Ok(await store.RemoveAsync(ctx.User.Actor(), username, id))))
            .RequireAuthorization(Policies.Read).Produces<ContactMethod>().ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);

        api.MapGet("/teams", async (ContactStore store) => Results.Ok(await store.ListTeamsAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<Team>>().ProducesProblem(401);

        api.MapPut("/teams/{name}", (string name, HttpContext ctx, ContactStore store) =>
            Guard(ctx, null, async () => Results.Ok(await store.PutTeamAsync(ctx.User.Actor(), name, await ReadAsync<TeamBody>(ctx)))))
            .RequireAuthorization(Policies.Admin).Accepts<TeamBody>("application/json").Produces<Team>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        api.MapDelete("/teams/{name}", (string name, HttpContext ctx, ContactStore store) =>
            Guard(ctx, null, async () => Results.Ok(await store.RemoveTeamAsync(ctx.User.Actor(), name))))
            .RequireAuthorization(Policies.Admin).Produces<Team>().ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);

        api.MapDelete("/schedules/{name}", (string name, HttpContext ctx, OnCallStore store) =>
            Guard(ctx, null, async () => Results.Ok(await store.RemoveScheduleAsync(ctx.User.Actor(), name))))
            .RequireAuthorization(Policies.Admin).Produces<StoredSchedule>().ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);

        api.MapGet("/overrides", async (OnCallStore store) => Results.Ok(await store.ListOverridesAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<StoredOverride>>().ProducesProblem(401);

        api.MapPut("/overrides/{id:long}", (long id, HttpContext ctx, OnCallStore store) => Guard(ctx, null, async () =>
        {
            var body = await ReadAsync<OverrideBody>(ctx) ?? new OverrideBody(null, null, null, null);
            return Results.Ok(await store.UpdateOverrideAsync(ctx.User.Actor(), id, body.Schedule, body.User, Instant(body.From, "from"), Instant(body.To, "to")));
        })).RequireAuthorization(Policies.Act).Accepts<OverrideBody>("application/json").Produces<StoredOverride>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);

        api.MapDelete("/overrides/{id:long}", (long id, HttpContext ctx, OnCallStore store) =>
            Guard(ctx, null, async () => Results.Ok(await store.RemoveOverrideAsync(ctx.User.Actor(), id))))
            .RequireAuthorization(Policies.Act).Produces<StoredOverride>().ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);

        api.MapPut("/absences/{id:long}", (long id, HttpContext ctx, OnCallStore store, string? confirm) =>
        {
            return Guard(ctx, null, async () =>
            {
                var body = await ReadAsync<AbsenceBody>(ctx) ?? new AbsenceBody(null, null, null, null);
                if (!MaySpeakFor(ctx, body.User)) return Forbidden("Only an admin may record another person's absence.");
                var confirmed = confirm is null ? false : bool.TryParse(confirm, out var c) ? c : throw DeskException.Invalid("confirm", "confirm must be true or false.");
                try
                {
                    var (saved, _) = await store.AddAbsenceAsync(ctx.User.Actor(), body.User, Instant(body.From, "from"), Instant(body.To, "to"), body.Reason, confirmed,
                        replaces: id, mayEdit: u => MaySpeakFor(ctx, u));
                    return Results.Ok(saved);
                }
                catch (DeskException ex) when (OnCallStore.GapsOf(ex) is { } gaps)
                {
                    return Results.Problem(detail: ex.Message, statusCode: 409, title: "Conflict", extensions: new Dictionary<string, object?>
                    {
                        ["gaps"] = gaps.Select(g => new GapView(g.Schedule, g.From, g.To)).ToList(),
                    });
                }
            });
        }).RequireAuthorization(Policies.Act).Accepts<AbsenceBody>("application/json").Produces<StoredAbsence>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

        api.MapPost("/calendar-feed", (HttpContext ctx, CalendarFeeds feeds, OnCallStore store) => Guard(ctx, null, async () =>
        {
            var token = await feeds.RotateAsync(ctx.User.Actor(), ctx.User.Identity!.Name!);
            return Results.Json(await LinksAsync(ctx, token, store), statusCode: 201);
        })).RequireAuthorization(Policies.Read).Produces<FeedLinks>(201).ProducesProblem(401);

        // Calendar apps fetch these with no cookie and no header: the token in the path is the credential.
        app.MapGet("/calendar/{token}/me.ics", async (string token, string? weeks, CalendarFeeds feeds) =>
        {
            var user = await feeds.UserOfAsync(token);
            if (user is null) return Results.NotFound();
            try { return Ics(await feeds.PersonAsync(user, CalendarFeeds.ParseWeeks(weeks))); }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).AllowAnonymous().ExcludeFromDescription();

        app.MapGet("/calendar/{token}/schedules/{name}.ics", async (string token, string name, string? weeks, CalendarFeeds feeds) =>
        {
            if (await feeds.UserOfAsync(token) is null) return Results.NotFound();
            try { return await feeds.ScheduleAsync(name, CalendarFeeds.ParseWeeks(weeks)) is { } ics ? Ics(ics) : Results.NotFound(); }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).AllowAnonymous().ExcludeFromDescription();
    }

    public static async Task<FeedLinks> LinksAsync(HttpContext ctx, string token, OnCallStore store)
    {
        var options = ctx.RequestServices.GetRequiredService<CprDeskOptions>();
        var root = (options.PublicBaseUrl ?? $"{ctx.Request.Scheme}://{ctx.Request.Host}").TrimEnd('/');
        var schedules = (await store.ListSchedulesAsync()).Select(s => $"{root}/calendar/{token}/schedules/{Uri.EscapeDataString(s.Name)}.ics").ToList();
        return new FeedLinks(token, $"{root}/calendar/{token}/me.ics", schedules);
    }

    private static IResult Ics(string text) => Results.Text(text, "text/calendar; charset=utf-8");

    /// <summary>Runs <paramref name="action"/> when the caller may act for <paramref name="user"/> (null: no person involved),
    /// mapping refusals to problem responses.</summary>
    private static async Task<IResult> Guard(HttpContext ctx, string? user, Func<Task<IResult>> action)
    {
        if (user is not null && !MaySpeakFor(ctx, user)) return Forbidden("Only an admin may manage another person's contact methods.");
        try { return await action(); }
        catch (DeskException ex) { return ReportsApi.Problem(ex); }
        catch (UnauthorizedAccessException ex) { return Forbidden(ex.Message); }
    }

    private static bool MaySpeakFor(HttpContext ctx, string? user) =>
        ctx.User.IsInRole(nameof(StaffRole.Admin)) || string.Equals(ctx.User.Identity?.Name, user, StringComparison.Ordinal);

    private static IResult Forbidden(string detail) => Results.Problem(detail: detail, statusCode: 403, title: "Forbidden");

    private static DateTime Instant(string? value, string field) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)
            ? dto.UtcDateTime
            : throw DeskException.Invalid(field, $"{field} must be an ISO-8601 instant, e.g. 2026-11-24T12:00:00Z.");

    private static Task<T?> ReadAsync<T>(HttpContext ctx) where T : class => JsonBody.ReadAsync<T>(ctx, 64 * 1024, ScheduleDefinition.Json);
}
