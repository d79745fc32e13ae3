// Wiring of the channel checks into the host, and their JSON API (/api/v1/channels…).
using System.Text.Json;
using CprDesk.Access;
using CprDesk.Intake;
using CprDesk.Reports;
using CprDesk.Web.Api;

namespace CprDesk.Channels;

public sealed record ChannelBody(string? Address, string? Url, string? Kind, string? Owner, string? Purpose, List<string>? PublishedIn, string? Route,
    int? MaxSilenceHours, bool? GroupAlias, List<string>? AliasMembers, bool? CanaryEnabled, int? CanaryEveryMinutes, int? LateAfterMinutes)
{
    public ChannelInput ToInput() => new(Address ?? Url, Kind, Owner, Purpose, PublishedIn, Route, MaxSilenceHours, GroupAlias, AliasMembers,
        CanaryEnabled, CanaryEveryMinutes, LateAfterMinutes);
}

public static class ChannelsSetup
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void AddChannels(this WebApplicationBuilder builder, CprDeskOptions options)
    {
        var s = builder.Services;
        var canary = builder.Configuration.GetSection("CprDesk:Canary").Get<CanarySettings>() ?? new CanarySettings();
        canary.Validate(builder.Configuration);
        s.AddSingleton(canary);
        s.AddSingleton(builder.Configuration.GetSection("CprDesk:Channels").Get<ChannelSettings>() ?? new ChannelSettings());
        s.AddSingleton(CanaryToken.Load(canary, options.DataDirectory));
        if (canary.Mailbox(options.DataDirectory) is { } mailbox) s.AddSingleton(mailbox);
        s.AddSingleton<ChannelRegistry>();
        s.AddSingleton<ChannelViews>();
        s.AddSingleton<AliasRoster>();
        s.AddSingleton<DriftWatch>();
        s.AddSingleton<CanaryIntake>();
        s.AddSingleton(sp => new CanaryService(sp.GetRequiredService<Storage.Database>(), sp.GetRequiredService<TimeProvider>(), canary,
            sp.GetRequiredService<CanaryToken>(), sp.GetService<ICanaryMailbox>(), sp.GetRequiredService<Notifications.Outbox>(),
            sp.GetRequiredService<DriftWatch>(), sp.GetRequiredService<Escalation.EscalationEngine>(), sp.GetRequiredService<ILogger<CanaryService>>()));
        s.AddHostedService(sp => sp.GetRequiredService<CanaryService>());
    }

    public static void MapChannels(this WebApplication app)
    {
        // Canary reports are recognised in the transaction that creates them, before anyone can see them.
        app.Services.GetRequiredService<IntakePipeline>().CreationHooks.Add(app.Services.GetRequiredService<CanaryIntake>().RecogniseAsync);
        // The registry's expected maximum silence feeds the intake silence alarm (over CprDesk:Intake:ExpectedSilence).
        app.Services.GetRequiredService<Intake.Health.IntakeHealth>().ExpectedSilenceSources.Add(app.Services.GetRequiredService<ChannelRegistry>().ExpectedSilenceAsync);

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CprDesk.Channels.Api");
        async Task<IResult> Guard(Func<Task<IResult>> body)
        {
            try { return await body(); }
            catch (DeskException ex)
            {
                log.LogWarning("Refused a channel API request: {Field}: {Reason}", ex.Field, ex.Message);
                return ReportsApi.Problem(ex);
            }
        }

        var api = app.MapGroup("/api/v1/channels").WithTags("channels");
        api.MapGet("", async (ChannelViews views) => Results.Ok(await views.ListAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<ChannelView>>().ProducesProblem(401);

        api.MapPost("", async (HttpContext ctx, ChannelRegistry registry) => await Guard(async () =>
        {
            var body = await JsonBody.ReadAsync<ChannelBody>(ctx, 64 * 1024, Json) ?? throw DeskException.Invalid("body", "Send a JSON object with at least an address or url.");
            var row = await registry.AddAsync(ctx.User.Actor(), body.ToInput());
            return Results.Created($"/api/v1/channels/{row.Id}", ChannelRegistry.Describe(row));
        })).RequireAuthorization(Policies.Admin).ProducesProblem(400).ProducesProblem(409);

        api.MapPatch("/{id}", async (string id, HttpContext ctx, ChannelRegistry registry) => await Guard(async () =>
        {
            var body = await JsonBody.ReadAsync<ChannelBody>(ctx, 64 * 1024, Json) ?? throw DeskException.Invalid("body", "Send a JSON object with the fields to change.");
            return Results.Ok(ChannelRegistry.Describe(await registry.UpdateAsync(ctx.User.Actor(), id, body.ToInput())));
        })).RequireAuthorization(Policies.Admin).ProducesProblem(400).ProducesProblem(404);

        api.MapDelete("/{id}", async (string id, HttpContext ctx, ChannelRegistry registry) => await Guard(async () =>
        {
            await registry.RemoveAsync(ctx.User.Actor(), id);
            return Results.NoContent();
        })).RequireAuthorization(Policies.Admin).ProducesProblem(404);

        api.MapGet("/{id:long}/canaries", async (long id, ChannelViews views) => Results.Ok(await views.RunsAsync(id, 100)))
            .RequireAuthorization(Policies.Read).Produces<List<CanaryView>>();

        api.MapPost("/{id:long}/canaries", async (long id, CanaryService canaries) => await Guard(async () =>
            Results.Ok(ChannelViews.View(await canaries.SendAsync(id))))).RequireAuthorization(Policies.Admin).ProducesProblem(400).ProducesProblem(404);

        api.MapGet("/roster", async (AliasRoster roster) => Results.Ok(await roster.CheckAsync()))
            .RequireAuthorization(Policies.Read).Produces<List<AliasCheck>>();

        api.MapPost("/drift", async (HttpContext ctx, DriftWatch drift) => await Guard(async () =>
        {
            if (!drift.Configured) throw DeskException.Invalid("sources", "No CCADB or CPS file is configured (CprDesk:Channels:CcadbCsv, CprDesk:Channels:CpsFile).");
            var (all, fresh) = await drift.CheckAsync(ctx.User.Actor());
            return Results.Ok(new { findings = all, fresh = fresh.Count });
        })).RequireAuthorization(Policies.Admin).ProducesProblem(400);
    }
}
