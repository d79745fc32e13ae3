// `cprdesk channels …`: the registry, the drift check and the alias roster from the command line.
using System.CommandLine;
using CprDesk.Cli;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Channels;

public static class ChannelsCli
{
    private static string Actor => $"cli:{Environment.UserName}";

    public static Command Command(Option<string?> data)
    {
        var channels = new Command("channels", "The published CPR channels: registry, drift against CPS and CCADB, alias rosters.");

        var list = new Command("list", "List the registry with each channel's last canary and open drift findings.");
        list.SetAction((pr, ct) => Guard(async () =>
        {
            var db = await OpenAsync(pr.GetValue(data), ct);
            foreach (var c in await new ChannelViews(db).ListAsync())
            {
                var last = c.LastCanary is { } l ? $"canary {l.Outcome} {l.SentAt:yyyy-MM-dd HH:mm}Z" : "no canary yet";
                Console.WriteLine($"{c.Id,4}  {c.Kind,-8} {c.Address ?? c.Url,-40} published in: {(c.PublishedIn.Count == 0 ? "-" : string.Join(",", c.PublishedIn)),-28} route {c.Route,-12} {last}{(c.DriftFindings.Count > 0 ? $"  drift: {c.DriftFindings.Count}" : "")}");
            }
            return ExitCodes.Ok;
        }));

        var address = new Argument<string>("address-or-url");
        var kind = new Option<string?>("--kind") { Description = "email, web-form or api (default: email for an address, web-form for a URL)" };
        var owner = new Option<string?>("--owner");
        var purpose = new Option<string?>("--purpose");
        var published = new Option<string[]>("--published-in") { Description = "cps, website, ccadb-prm, ccadb-alias1, ccadb-alias2 (repeat or comma-separate)", AllowMultipleArgumentsPerToken = true };
        var route = new Option<string?>("--route") { Description = "smtp-relay, mailbox-poll, pipe or web" };
        var silence = new Option<int?>("--max-silence-hours") { Description = "Expected longest silence of the channel (0: none)" };
        var members = new Option<string[]>("--members") { Description = "Group alias members (makes it a group alias)", AllowMultipleArgumentsPerToken = true };
        var membersFile = new Option<string?>("--members-file") { Description = "Group alias members, one address per line" };
        var every = new Option<int?>("--canary-every-minutes");
        var late = new Option<int?>("--late-after-minutes");
        var noCanary = new Option<bool>("--no-canary") { Description = "Send no canaries to this channel" };

        ChannelInput Input(ParseResult pr, bool adding)
        {
            var m = pr.GetValue(members) is { Length: > 0 } given ? given.ToList() : null;
            if (pr.GetValue(membersFile) is { } file)
            {
                try { m = [.. m ?? [], .. File.ReadAllLines(file)]; }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw DeskException.Invalid("members-file", $"Cannot read {file}: {ex.Message}"); }
            }
            var p = pr.GetValue(published) is { Length: > 0 } pl ? pl.ToList() : null;
            bool? canary = pr.GetValue(noCanary) ? false : adding ? true : null;
            return new ChannelInput(adding ? pr.GetValue(address) : null, pr.GetValue(kind), pr.GetValue(owner), pr.GetValue(purpose), p, pr.GetValue(route),
                pr.GetValue(silence), null, m, canary, pr.GetValue(every), pr.GetValue(late));
        }

        var add = new Command("add", "Add a channel to the registry.") { address, kind, owner, purpose, published, route, silence, members, membersFile, every, late, noCanary };
        add.SetAction((pr, ct) => Guard(async () =>
        {
            var db = await OpenAsync(pr.GetValue(data), ct);
            var row = await new ChannelRegistry(db, TimeProvider.System).AddAsync(Actor, Input(pr, true));
            Console.WriteLine($"Added channel {row.Id}: {row.Kind} {row.Address}.");
            return ExitCodes.Ok;
        }));

        var set = new Command("set", "Change a channel (by id or address); only the options given change.") { address, kind, owner, purpose, published, route, silence, members, membersFile, every, late, noCanary };
        set.SetAction((pr, ct) => Guard(async () =>
        {
            var db = await OpenAsync(pr.GetValue(data), ct);
            var row = await new ChannelRegistry(db, TimeProvider.System).UpdateAsync(Actor, pr.GetValue(address)!, Input(pr, false));
            Console.WriteLine($"Changed channel {row.Id}: {row.Kind} {row.Address}.");
            return ExitCodes.Ok;
        }));

        var removeAddress = new Argument<string>("id-or-address");
        var remove = new Command("remove", "Remove a channel from the registry.") { removeAddress };
        remove.SetAction((pr, ct) => Guard(async () =>
        {
            var db = await OpenAsync(pr.GetValue(data), ct);
            await new ChannelRegistry(db, TimeProvider.System).RemoveAsync(Actor, pr.GetValue(removeAddress)!);
            Console.WriteLine($"Removed channel {pr.GetValue(removeAddress)}.");
            return ExitCodes.Ok;
        }));

        var ccadb = new Option<string?>("--ccadb") { Description = "The CCADB CA Owner report (CSV)" };
        var cps = new Option<string?>("--cps") { Description = "The CPS (Markdown, HTML or text); section 1.5.2 is read" };
        var caOwner = new Option<string?>("--ca-owner") { Description = "Our CA Owner Name in the CCADB (default CprDesk:Channels:CaOwnerName)" };
        var drift = new Command("drift", "Compare the registry with the CCADB and CPS. Exit 0: no differences; 1: differences (listed).") { ccadb, cps, caOwner };
        drift.SetAction((pr, ct) => Guard(async () =>
        {
            var db = await OpenAsync(pr.GetValue(data), ct);
            var owner = pr.GetValue(caOwner) ?? LoadSettings().CaOwnerName;
            var published = DriftCheck.Read(pr.GetValue(ccadb), pr.GetValue(cps), owner);
            var findings = DriftCheck.Compare(await new ChannelRegistry(db, TimeProvider.System).ListAsync(), published);
            if (published.Cps is { } c) Console.WriteLine($"CPS section 1.5.2: {(c.Count == 0 ? "(nothing)" : string.Join(", ", c))}");
            if (published.Ccadb is { } d)
            {
                Console.WriteLine($"CCADB ({d.CaOwnerName}) Problem Reporting Mechanism: {(d.ProblemReporting.Count == 0 ? "(nothing)" : string.Join(", ", d.ProblemReporting))}");
                if (d.Alias1.Count + d.Alias2.Count > 0) Console.WriteLine($"CCADB CA Email Alias 1/2: {string.Join(", ", d.Alias1.Concat(d.Alias2))}");
            }
            foreach (var f in findings) Console.WriteLine($"{f.Kind,-13} {f.Value}: {f.Detail}");
            Console.WriteLine(findings.Count == 0 ? "No differences." : $"{findings.Count} difference(s).");
            return findings.Count == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        }));

        var roster = new Command("roster", "Check each group alias's members against staff accounts and absences (next 7 days). Exit 1 if any is flagged.");
        roster.SetAction((pr, ct) => Guard(async () =>
        {
            var db = await OpenAsync(pr.GetValue(data), ct);
            var flagged = 0;
            foreach (var a in await new AliasRoster(db, TimeProvider.System).CheckAsync())
            {
                Console.WriteLine($"{a.Alias}{(a.NobodyReads ? "  NOBODY READS THIS ALIAS" : "")}");
                foreach (var m in a.Members)
                {
                    if (m.Problem is not null) flagged++;
                    Console.WriteLine($"  {(m.Problem ?? "ok"),-10} {m.Address}{(m.Username is null ? "" : $" ({m.Username})")}: {m.Detail}");
                }
            }
            return flagged == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        }));

        channels.Subcommands.Add(list);
        channels.Subcommands.Add(add);
        channels.Subcommands.Add(set);
        channels.Subcommands.Add(remove);
        channels.Subcommands.Add(drift);
        channels.Subcommands.Add(roster);
        return channels;
    }

    private static ChannelSettings LoadSettings() =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables().Build()
            .GetSection("CprDesk:Channels").Get<ChannelSettings>() ?? new ChannelSettings();

    private static async Task<Database> OpenAsync(string? data, CancellationToken ct)
    {
        var db = new Database(CliApp.LoadOptions(data).DataDirectory);
        await db.MigrateAsync(ct);
        return db;
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
            return ex.Kind switch
            {
                DeskErrorKind.NotFound => ExitCodes.NotFound,
                DeskErrorKind.Conflict => ExitCodes.Conflict,
                _ => ExitCodes.Usage,
            };
        }
    }
}
