// Command line for incidents and the Bugzilla watch: `cprdesk incident …` and `cprdesk bugzilla …`.
using System.CommandLine;
using System.Globalization;
using CprDesk.Cli;
using CprDesk.Intake.Email;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Compliance.Incidents;

public static class IncidentCommands
{
    public static Command Incident(Option<string?> data)
    {
        var incident = new Command("incident", "Incident reports (CCADB IRG): list, drafts, appendix.");
        var list = new Command("list", "List incidents with their next deadline.");
        list.SetAction((pr, ct) => Guard(async () =>
        {
            var (m, _) = await ModuleAsync(pr.GetValue(data), ct);
            foreach (var i in await m.Desk.ListAsync())
            {
                var d = (await m.Desk.GetAsync(i.Id))!;
                var next = d.Clocks.Where(c => c.MetAt is null && c.WaivedAt is null).OrderBy(c => c.DueAt).FirstOrDefault();
                Console.WriteLine($"{i.Id,5}  {i.Kind,-18} {i.Status,-17} {(next is null ? "no open clock" : $"{next.Name} due {next.DueAt:yyyy-MM-dd HH:mm}Z"),-50} {i.Title}");
            }
            return ExitCodes.Ok;
        }));
        var id = new Argument<long>("id") { Description = "Incident number" };
        var kind = new Option<string>("--kind") { Description = "preliminary, full or closure", DefaultValueFactory = _ => "full" };
        var draft = new Command("draft", "Print the incident's draft report in the CCADB IRG template (Markdown).") { id, kind };
        draft.SetAction((pr, ct) => Guard(async () =>
        {
            var (m, _) = await ModuleAsync(pr.GetValue(data), ct);
            var d = await m.Desk.GetAsync(pr.GetValue(id)) ?? throw DeskException.NotFound($"No incident {pr.GetValue(id)}.");
            Console.Write(await m.Drafts.RenderAsync(d, pr.GetValue(kind)!));
            var problems = m.Drafts.Validate(d, pr.GetValue(kind)!);
            foreach (var p in problems) Console.Error.WriteLine($"not ready to post: {p.Field}: {p.Message}");
            return ExitCodes.Ok;
        }));
        var appendixId = new Argument<long>("id") { Description = "Incident number" };
        var appendix = new Command("appendix", "Print the incident's Appendix as CSV.") { appendixId };
        appendix.SetAction((pr, ct) => Guard(async () =>
        {
            var (m, _) = await ModuleAsync(pr.GetValue(data), ct);
            var d = await m.Desk.GetAsync(pr.GetValue(appendixId)) ?? throw DeskException.NotFound($"No incident {pr.GetValue(appendixId)}.");
            Console.Write(IncidentAppendix.Csv(IncidentAppendix.Certificates(d, DateTime.UtcNow)));
            return ExitCodes.Ok;
        }));
        incident.Subcommands.Add(list);
        incident.Subcommands.Add(draft);
        incident.Subcommands.Add(appendix);
        return incident;
    }

    public static Command Bugzilla(Option<string?> data)
    {
        var bugzilla = new Command("bugzilla", "Watch CA Certificate Compliance bugs: import, related incidents.");
        var files = new Argument<string[]>("file") { Description = "Saved Bugzilla REST JSON (bug search and/or comments); none: fetch from the API", Arity = ArgumentArity.ZeroOrMore };
        var since = new Option<string?>("--since") { Description = "Fetch bugs changed since this date (default: the latest change already imported)" };
        var import = new Command("import", "Import bugs from saved JSON files, or from the Bugzilla REST API (CprDesk:Bugzilla:BaseUrl).") { files, since };
        import.SetAction((pr, ct) => Guard(async () =>
        {
            var (m, _) = await ModuleAsync(pr.GetValue(data), ct);
            var paths = pr.GetValue(files) ?? [];
            if (paths.Length > 0 && pr.GetValue(since) is not null) throw DeskException.Invalid("since", "Give files or --since, not both.");
            var actor = $"cli:{Environment.UserName}";
            if (paths.Length == 0)
            {
                DateTime? from = null;
                if (pr.GetValue(since) is { } s)
                    from = DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)
                        ? dto.UtcDateTime : throw DeskException.Invalid("since", $"--since must be a date or an ISO-8601 instant, not '{s}'.");
                var r = await m.Watch.FetchAsync(actor, from, ct);
                Console.WriteLine($"Fetched {r.Bugs} bug(s) ({r.New} new), {r.Comments} comment(s); latest change {r.LatestChange:yyyy-MM-dd HH:mm}Z.");
                return ExitCodes.Ok;
            }
            foreach (var path in paths)
            {
                if (!File.Exists(path)) throw DeskException.Invalid("file", $"No such file: {path}");
                var r = await m.Watch.ImportJsonAsync(actor, await File.ReadAllTextAsync(path, ct), Path.GetFileName(path));
                Console.WriteLine($"{path}: {r.Bugs} bug(s) ({r.New} new), {r.Comments} comment(s).");
            }
            return ExitCodes.Ok;
        }));
        var incidentOption = new Option<long?>("--incident") { Description = "Incident number", Required = true };
        var related = new Command("related", "Bugs from any CA in the last two years like this incident (failure class and text).") { incidentOption };
        related.SetAction((pr, ct) => Guard(async () =>
        {
            var (m, _) = await ModuleAsync(pr.GetValue(data), ct);
            var found = await m.Watch.RelatedAsync(pr.GetValue(incidentOption)!.Value);
            Console.WriteLine("| Bug | Date | Description |");
            Console.WriteLine("|---|---|---|");
            foreach (var r in found)
                Console.WriteLine($"| [{r.Bug}](https://bugzilla.mozilla.org/show_bug.cgi?id={r.Bug}) | {r.Opened:yyyy-MM-dd} |  |");
            foreach (var r in found)
                Console.Error.WriteLine($"{r.Bug}: score {r.Score:0.000} [{string.Join(' ', r.Classes)}] {r.Summary} ({r.Why})");
            return ExitCodes.Ok;
        }));
        bugzilla.Subcommands.Add(import);
        bugzilla.Subcommands.Add(related);
        return bugzilla;
    }

    private static async Task<(IncidentsSetup.Module, Database)> ModuleAsync(string? data, CancellationToken ct)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var database = new Database(CliApp.LoadOptions(data).DataDirectory);
        await database.MigrateAsync(ct);
        var mail = config.GetSection("CprDesk:Mail").Get<MailSettings>() ?? new MailSettings();
        try { return (IncidentsSetup.Create(database, TimeProvider.System, config, new Outbox(mail)), database); }
        catch (InvalidOperationException ex) { throw DeskException.Invalid("configuration", ex.Message); }
    }

    private static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (DeskException ex)
        {
            Console.Error.WriteLine($"cprdesk: {ex.Message}");
            return ex.Kind switch { DeskErrorKind.NotFound => ExitCodes.NotFound, DeskErrorKind.Conflict => ExitCodes.Conflict, _ => ExitCodes.Usage };
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            Console.Error.WriteLine($"cprdesk: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}
