// Composition of the incident module: one call from AppHost (builder.AddIncidents()), and a factory for the CLI.
using CprDesk.Compliance.Bugzilla;
using CprDesk.Escalation;
using CprDesk.Notifications;
using CprDesk.Storage;

namespace CprDesk.Compliance.Incidents;

public static class IncidentsSetup
{
    public static void AddIncidents(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(IncidentOptions.Section).Get<IncidentOptions>() ?? new IncidentOptions();
        options.Validate();
        var bugzilla = builder.Configuration.GetSection(BugzillaOptions.Section).Get<BugzillaOptions>() ?? new BugzillaOptions();
        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(bugzilla);
        s.AddSingleton(IncidentRules.Load(IncidentOptions.Resolve(options.ClockRulesFile)));
        s.AddSingleton(FailureTaxonomy.Load(IncidentOptions.Resolve("rules/failure-taxonomy.json")));
        s.AddSingleton<IncidentDesk>();
        s.AddSingleton<IncidentDrafts>();
        s.AddSingleton(sp => new BugzillaWatch(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<FailureTaxonomy>(),
            sp.GetRequiredService<IncidentDesk>(), bugzilla, sp.GetRequiredService<Outbox>(), new HttpClient { Timeout = TimeSpan.FromSeconds(60) }));
        s.AddSingleton<IncidentEscalation>();
        // Fail at start-up, not at the first draft, when the template files are missing or broken.
        _ = IrgTemplates.Load(IncidentOptions.Resolve(options.TemplatesDirectory), options.TemplateVersion);
    }

    /// <summary>The module without a host, for the command line.</summary>
    public sealed record Module(IncidentDesk Desk, IncidentDrafts Drafts, BugzillaWatch Watch);

    public static Module Create(Database database, TimeProvider time, IConfiguration configuration, Outbox outbox)
    {
        var options = configuration.GetSection(IncidentOptions.Section).Get<IncidentOptions>() ?? new IncidentOptions();
        options.Validate();
        var bugzilla = configuration.GetSection(BugzillaOptions.Section).Get<BugzillaOptions>() ?? new BugzillaOptions();
        var desk = new IncidentDesk(database, time, IncidentRules.Load(IncidentOptions.Resolve(options.ClockRulesFile)), options);
        var watch = new BugzillaWatch(database, time, FailureTaxonomy.Load(IncidentOptions.Resolve("rules/failure-taxonomy.json")), desk, bugzilla, outbox,
            new HttpClient { Timeout = TimeSpan.FromSeconds(60) });
        return new Module(desk, new IncidentDrafts(desk, options, time), watch);
    }

    public static IncidentEscalation Escalation(Module m, Database database, TimeProvider time, EscalationPolicy policy, Outbox outbox) =>
        new(database, time, m.Desk, policy, outbox, m.Watch);
}
