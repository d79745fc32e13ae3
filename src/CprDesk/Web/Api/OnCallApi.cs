// JSON API v1 for on-call: who is on call, coverage gaps, schedules, overrides and absences.
using System.Globalization;
using System.Text.Json;
using CprDesk.Access;
using CprDesk.OnCall;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Web.Api;

public sealed record OnCallPerson(string User, string Layer, DateTime Until, string? CoveringFor);
public sealed record ScheduleOnCall(string Name, IReadOnlyList<OnCallPerson> OnCall, string? Secondary);
public sealed record OnCallResponse(DateTime At, IReadOnlyList<ScheduleOnCall> Schedules);
public sealed record GapView(string Schedule, DateTime From, DateTime To);
public sealed record OverrideBody(string? Schedule, string? User, string? From, string? To);
public sealed record AbsenceBody(string? User, string? From, string? To, string? Reason);

public static class OnCallApi
{
    public static void MapOnCallApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1").WithTags("oncall");

        api.MapGet("/oncall", async (string? at, OnCallStore store, TimeProvider time) =>
        {
            try
            {
                var instant = string.IsNullOrWhiteSpace(at) ? time.GetUtcNow().UtcDateTime : Instant(at, "at");
                var state = await store.LoadAsync();
                var schedules = state.Schedules.Select(s =>
                {
                    var answer = OnCallCalculator.At(s, state.Overrides, state.Absences, instant);
                    IReadOnlyList<OnCallPerson> primary = answer.Primary is { } p
                        ? [new OnCallPerson(p.User, p.Layer, p.UntilUtc, p.CoveringFor)]
                        : [];
                    return new ScheduleOnCall(s.Name, primary, answer.Secondary);
                }).ToList();
                return Results.Ok(new OnCallResponse(instant, schedules));
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Read).Produces<OnCallResponse>().ProducesProblem(400).ProducesProblem(401);

        api.MapGet("/coverage-gaps", async (string? days, OnCallStore store, TimeProvider time) =>
        {
            var n = 28;
            if (!string.IsNullOrWhiteSpace(days) && (!int.TryParse(days, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > 366))
                return ReportsApi.Problem(DeskException.Invalid("days", "days must be a whole number from 1 to 366."));
            var now = time.GetUtcNow().UtcDateTime;
            var gaps = OnCallStore.Gaps(await store.LoadAsync(), now, now.AddDays(n));
            return Results.Ok(gaps.Select(g => new GapView(g.Schedule, g.From, g.To)));
        }).RequireAuthorization(Policies.Read).Produces<List<GapView>>().ProducesProblem(400).ProducesProblem(401);

        api.MapGet("/schedules", async (OnCallStore store) => Results.Ok(await store.ListSchedulesAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<StoredSchedule>>().ProducesProblem(401);

        api.MapPut("/schedules/{name}", async (string name, HttpContext ctx, OnCallStore store) =>
        {
            try
            {
                var body = await ReadAsync<ScheduleBody>(ctx);
                return Results.Ok(await store.PutScheduleAsync(ctx.User.Actor(), name, body));
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Admin).Accepts<ScheduleBody>("application/json").Produces<StoredSchedule>()
          .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        api.MapPost("/overrides", async (HttpContext ctx, OnCallStore store) =>
        {
            try
            {
                var body = await ReadAsync<OverrideBody>(ctx) ?? new OverrideBody(null, null, null, null);
                var saved = await store.AddOverrideAsync(ctx.User.Actor(), body.Schedule, body.User,
                    Instant(body.From, "from"), Instant(body.To, "to"));
                return Results.Json(saved, statusCode: 201);
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Act).Accepts<OverrideBody>("application/json").Produces<StoredOverride>(201)
          .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        api.MapGet("/absences", async (OnCallStore store) => Results.Ok(await store.ListAbsencesAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<StoredAbsence>>().ProducesProblem(401);

        api.MapPost("/absences", async (HttpContext ctx, OnCallStore store, string? confirm) =>
        {
            try
            {
                var body = await ReadAsync<AbsenceBody>(ctx) ?? new AbsenceBody(null, null, null, null);
                if (!MaySpeakFor(ctx, body.User)) return Forbidden("Only an admin may record another person's absence.");
                var confirmed = confirm is null ? false : bool.TryParse(confirm, out var c) ? c
                    : throw DeskException.Invalid("confirm", "confirm must be true or false.");
                var (saved, _) = await store.AddAbsenceAsync(ctx.User.Actor(), body.User,
                    Instant(body.From, "from"), Instant(body.To, "to"), body.Reason, confirmed);
                return Results.Json(saved, statusCode: 201);
            }
            catch (DeskException ex) when (OnCallStore.GapsOf(ex) is { } gaps)
            {
                return Results.Problem(detail: ex.Message, statusCode: 409, title: "Conflict", extensions: new Dictionary<string, object?>
                {
                    ["gaps"] = gaps.Select(g => new GapView(g.Schedule, g.From, g.To)).ToList(),
                });
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
        }).RequireAuthorization(Policies.Act).Accepts<AbsenceBody>("application/json").Produces<StoredAbsence>(201)
          .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(409);

        api.MapDelete("/absences/{id:long}", async (long id, HttpContext ctx, OnCallStore store) =>
        {
            try
            {
                return Results.Ok(await store.RemoveAbsenceAsync(ctx.User.Actor(), id, user => MaySpeakFor(ctx, user)));
            }
            catch (DeskException ex) { return ReportsApi.Problem(ex); }
            catch (UnauthorizedAccessException ex) { return Forbidden(ex.Message); }
        }).RequireAuthorization(Policies.Act).Produces<StoredAbsence>().ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);
    }

    /// <summary>Staff manage their own absences; admins anyone's.</summary>
    private static bool MaySpeakFor(HttpContext ctx, string? user) =>
        ctx.User.IsInRole(nameof(StaffRole.Admin)) || string.Equals(ctx.User.Identity?.Name, user, StringComparison.Ordinal);

    private static IResult Forbidden(string detail) => Results.Problem(detail: detail, statusCode: 403, title: "Forbidden");

    /// <summary>An ISO-8601 instant; without an offset it is taken as UTC, like the rest of the API.</summary>
    private static DateTime Instant(string? value, string field) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)
            ? dto.UtcDateTime
            : throw DeskException.Invalid(field, $"{field} must be an ISO-8601 instant, e.g. 2026-11-24T12:00:00Z.");

    private static Task<T?> ReadAsync<T>(HttpContext ctx) where T : class => JsonBody.ReadAsync<T>(ctx, 256 * 1024, ScheduleDefinition.Json);
}
