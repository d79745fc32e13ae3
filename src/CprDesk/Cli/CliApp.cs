// The command line. Usage errors print one line and exit 2; see docs for the other exit codes.
using System.CommandLine;
using CprDesk.Access;
using CprDesk.Compliance;
using CprDesk.Deadlines;
using CprDesk.Reports;
using CprDesk.Storage;
using CprDesk.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CprDesk.Cli;

public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int NotFound = 3;
    public const int Conflict = 4;
}

public static class CliApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var data = new Option<string?>("--data") { Description = "Data directory (default ./data, or CprDesk:DataDirectory)", Recursive = true };
        var root = new RootCommand("CprDesk: a Certificate Problem Report desk with Baseline Requirements clocks.");
        root.Options.Add(data);

        var urls = new Option<string?>("--urls") { Description = "Semicolon-separated listen URLs (default http://127.0.0.1:5080)" };
        var smtpEndpoints = new Option<string?>("--smtp") { Description = "Semicolon-separated SMTP listen endpoints (default 127.0.0.1:2525), or 'off'" };
        var serve = new Command("serve", "Run the web form, API, staff dashboard and SMTP listener.") { urls, smtpEndpoints };
        serve.SetAction((pr, ct) => ServeAsync(pr.GetValue(data), pr.GetValue(urls), pr.GetValue(smtpEndpoints), ct));
        root.Subcommands.Add(serve);

        var migrate = new Command("migrate", "Create or upgrade the database schema.");
        migrate.SetAction((pr, ct) => Guard(async () =>
        {
            var db = OpenDatabase(pr.GetValue(data));
            var applied = await db.MigrateAsync(ct);
            Console.WriteLine(applied.Count == 0 ? $"Schema is up to date ({db.DatabasePath})." : $"Applied {string.Join(", ", applied)} to {db.DatabasePath}.");
            return ExitCodes.Ok;
        }));
        root.Subcommands.Add(migrate);

        var url = new Option<string>("--url") { Description = "The CprDesk server", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var tokenFile = new Option<string?>("--token-file") { Description = "File holding a mailgate token (else CPRDESK_MAILGATE_TOKEN)" };
        var sender = new Option<string?>("--sender") { Description = "Envelope sender (Postfix: ${sender})" };
        var recipient = new Option<string[]>("--recipient") { Description = "Envelope recipient(s) (Postfix: ${recipient})", AllowMultipleArgumentsPerToken = true };
        var mailgate = new Command("mailgate", "Read one message on stdin and submit it (for an MTA pipe). Exit 0 stored, 75 retry later.") { url, tokenFile, sender, recipient };
        mailgate.SetAction((pr, ct) => Mailgate.RunAsync(pr.GetValue(url)!, null, pr.GetValue(tokenFile), pr.GetValue(sender),
            pr.GetValue(recipient) ?? [], Console.OpenStandardInput(), Console.Error, ct));
        root.Subcommands.Add(mailgate);

        root.Subcommands.Add(UserCommand(data));
        root.Subcommands.Add(TokenCommand(data));
        root.Subcommands.Add(AuditCommand(data));
        root.Subcommands.Add(ReportCommand(data));
        root.Subcommands.Add(Channels.ChannelsCli.Command(data));
        root.Subcommands.Add(Evidence.EvidenceCli.InventoryCommand(data));
        root.Subcommands.Add(Evidence.EvidenceCli.CrlCommand(data));
        root.Subcommands.Add(Compliance.Incidents.IncidentCommands.Incident(data));
        root.Subcommands.Add(Compliance.Incidents.IncidentCommands.Bugzilla(data));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"cprdesk: {parsed.Errors[0].Message} (see 'cprdesk --help')");
            return ExitCodes.Usage;
        }
        return await parsed.InvokeAsync();
    }

    private static Command UserCommand(Option<string?> data)
    {
        var user = new Command("user", "Manage staff accounts.");
        var username = new Argument<string>("username");
        var role = new Option<string>("--role") { Description = "admin, staff or auditor", DefaultValueFactory = _ => "staff" };
        var email = new Option<string?>("--email");
        var name = new Option<string?>("--name") { Description = "Display name" };
        var webhook = new Option<string?>("--webhook") { Description = "A personal webhook URL for escalation notifications" };
        var add = new Command("add", "Add an account; prints its one-time password.") { username, role, email, name, webhook };
        add.SetAction((pr, ct) => Guard(async () =>
        {
            if (!Accounts.TryParseRole(pr.GetValue(role), out var r)) throw DeskException.Invalid("role", "--role must be admin, staff or auditor.");
            var accounts = await AccountsAsync(pr.GetValue(data), ct);
            var (u, password) = await accounts.CreateAsync(CliActor, pr.GetValue(username)!, r, pr.GetValue(email), pr.GetValue(name), pr.GetValue(webhook));
            Console.WriteLine($"Created {u.Role.ToString().ToLowerInvariant()} '{u.Username}'. One-time password (shown once, must be changed at first sign-in):");
            Console.WriteLine(password);
            return ExitCodes.Ok;
        }));
        var list = new Command("list", "List accounts.");
        list.SetAction((pr, ct) => Guard(async () =>
        {
            var accounts = await AccountsAsync(pr.GetValue(data), ct);
            foreach (var u in await accounts.ListAsync())
                Console.WriteLine($"{u.Username,-24} {u.Role.ToString().ToLowerInvariant(),-8} {(u.Disabled ? "disabled" : "active"),-9} {u.Email}");
            return ExitCodes.Ok;
        }));
        var disableName = new Argument<string>("username");
        var disable = new Command("disable", "Disable an account and revoke its tokens.") { disableName };
        disable.SetAction((pr, ct) => Guard(async () =>
        {
            var accounts = await AccountsAsync(pr.GetValue(data), ct);
            await accounts.DisableAsync(CliActor, pr.GetValue(disableName)!);
            Console.WriteLine($"Disabled '{pr.GetValue(disableName)}'.");
            return ExitCodes.Ok;
        }));
        var resetName = new Argument<string>("username");
        var reset = new Command("reset-password", "Set a new one-time password and clear any lockout.") { resetName };
        reset.SetAction((pr, ct) => Guard(async () =>
        {
            var accounts = await AccountsAsync(pr.GetValue(data), ct);
            var password = await accounts.ResetPasswordAsync(CliActor, pr.GetValue(resetName)!);
            Console.WriteLine($"New one-time password for '{pr.GetValue(resetName)}' (shown once):");
            Console.WriteLine(password);
            return ExitCodes.Ok;
        }));
        user.Subcommands.Add(add);
        user.Subcommands.Add(list);
        user.Subcommands.Add(disable);
        user.Subcommands.Add(reset);
        return user;
    }

    private static Command TokenCommand(Option<string?> data)
    {
        var token = new Command("token", "Manage staff API tokens.");
        var username = new Argument<string?>("username") { Description = "The staff user the token acts as", Arity = ArgumentArity.ZeroOrOne };
        var name = new Option<string?>("--name") { Description = "What the token is for" };
        var mailgate = new Option<bool>("--mailgate") { Description = "A token for `cprdesk mailgate` (inbound mail only, no user)" };
        var create = new Command("create", "Create an API token for a user (or --mailgate); prints it once.") { username, name, mailgate };
        create.SetAction((pr, ct) => Guard(async () =>
        {
            var accounts = await AccountsAsync(pr.GetValue(data), ct);
            var user = pr.GetValue(username);
            if (pr.GetValue(mailgate) == (user is not null))
                throw DeskException.Invalid("username", "Give a username for a staff token, or --mailgate (and no username) for a mailgate token.");
            var t = user is null
                ? await accounts.CreateMailgateTokenAsync(CliActor, pr.GetValue(name))
                : await accounts.CreateTokenAsync(CliActor, user, pr.GetValue(name));
            Console.Error.WriteLine($"Token {t.Id} ({t.Prefix}…) created; it is shown once:");
            Console.WriteLine(t.Token);
            return ExitCodes.Ok;
        }));
        var id = new Argument<string>("id-or-prefix");
        var revoke = new Command("revoke", "Revoke a token by id or prefix.") { id };
        revoke.SetAction((pr, ct) => Guard(async () =>
        {
            var accounts = await AccountsAsync(pr.GetValue(data), ct);
            await accounts.RevokeTokenAsync(CliActor, pr.GetValue(id)!);
            Console.WriteLine($"Revoked token {pr.GetValue(id)}.");
            return ExitCodes.Ok;
        }));
        token.Subcommands.Add(create);
        token.Subcommands.Add(revoke);
        return token;
    }

    private static Command AuditCommand(Option<string?> data)
    {
        var audit = new Command("audit", "The hash-chained audit log.");
        var verify = new Command("verify", "Check the chain; exit 1 and name the first broken event if it does not hold.");
        verify.SetAction((pr, ct) => Guard(async () =>
        {
            var database = OpenDatabase(pr.GetValue(data));
            await database.MigrateAsync(ct);
            await using var db = database.Open();
            var v = await AuditLog.VerifyAsync(db, ct);
            if (v.Ok)
            {
                Console.WriteLine($"Audit chain OK: {v.Events} events, head {v.Head}.");
                return ExitCodes.Ok;
            }
            Console.WriteLine($"Audit chain BROKEN at event #{v.BrokenAtSeq}: {v.Problem}. {v.Events} events before it verify.");
            return ExitCodes.Failure;
        }));
        audit.Subcommands.Add(verify);
        return audit;
    }

    private static Command ReportCommand(Option<string?> data)
    {
        var report = new Command("report", "Read reports.");
        var state = new Option<string?>("--state");
        var all = new Option<bool>("--all") { Description = "Include closed reports" };
        var list = new Command("list", "Reports, nearest deadline first.") { state, all };
        list.SetAction((pr, ct) => Guard(async () =>
        {
            ReportState? st = null;
            if (pr.GetValue(state) is { } s)
            {
                if (!Enum.TryParse<ReportState>(s, true, out var parsed) || !Enum.IsDefined(parsed))
                    throw DeskException.Invalid("state", $"--state must be one of: {string.Join(", ", Enum.GetNames<ReportState>())}.");
                st = parsed;
            }
            var q = await QueriesAsync(pr.GetValue(data), ct);
            foreach (var r in await q.ListAsync(st, null, pr.GetValue(all)))
            {
                var n = r.Nearest;
                Console.WriteLine($"{r.Ticket}  {r.State,-19} received {r.ReceivedAt:yyyy-MM-dd HH:mm}Z  {(n is null ? "no open clock" : $"{n.Name} due {n.DueAt:yyyy-MM-dd HH:mm}Z ({n.State})")}  {r.ReporterEmail}");
            }
            return ExitCodes.Ok;
        }));
        var ticket = new Argument<string>("ticket");
        var show = new Command("show", "One report with its clocks and events.") { ticket };
        show.SetAction((pr, ct) => Guard(async () =>
        {
            var q = await QueriesAsync(pr.GetValue(data), ct);
            var d = await q.GetAsync(pr.GetValue(ticket)!) ?? throw DeskException.NotFound($"No report {pr.GetValue(ticket)}.");
            var r = d.Report;
            Console.WriteLine($"{r.Ticket}  {r.State}{(r.Resolution is null ? "" : $" ({r.Resolution})")}");
            Console.WriteLine($"Received:  {r.ReceivedAt:yyyy-MM-dd HH:mm:ss}Z");
            Console.WriteLine($"Reporter:  {r.ReporterName} <{r.ReporterEmail}>");
            Console.WriteLine($"Category:  {r.Category ?? "unclassified (strictest clock applies)"}");
            Console.WriteLine($"Assignee:  {r.Assignee?.Username ?? "nobody"}");
            Console.WriteLine("Clocks:");
            foreach (var c in d.Summary.Deadlines)
                Console.WriteLine($"  {c.Name,-34} {c.Recipient ?? (c.Name == ClockNames.PreliminaryReportToSubscriber ? "(no Subscriber known yet)" : "-"),-28} due {c.DueAt:yyyy-MM-dd HH:mm}Z  {c.State}{(c.MetAt is { } m ? $" at {m:yyyy-MM-dd HH:mm}Z" : "")}  [{c.Section}]");
            Console.WriteLine("Events:");
            foreach (var e in d.Events) Console.WriteLine($"  #{e.Seq} {e.At:yyyy-MM-dd HH:mm:ss}Z {e.Actor} {e.Type} {e.Detail}");
            return ExitCodes.Ok;
        }));
        report.Subcommands.Add(list);
        report.Subcommands.Add(show);
        return report;
    }

    private static async Task<int> ServeAsync(string? data, string? urls, string? smtp, CancellationToken ct)
    {
        var overrides = new Dictionary<string, string?>();
        if (data is not null) overrides["CprDesk:DataDirectory"] = data;
        if (urls is not null) overrides["CprDesk:Urls"] = urls;
        if (smtp is "off") overrides["CprDesk:Mail:Listener:Enabled"] = "false";
        else if (smtp is not null) overrides["CprDesk:Mail:Listener:Endpoints"] = smtp;
        WebApplication app;
        try
        {
            app = AppHost.Build([], overrides);
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"cprdesk: {ex.Message}");
            return ExitCodes.Failure;
        }
        var admin = await AppHost.PrepareAsync(app.Services, ct);
        await app.StartAsync(ct);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        Console.WriteLine("CprDesk is running.");
        foreach (var a in addresses) Console.WriteLine($"  Listening on:        {a}");
        Console.WriteLine($"  Public report form:  {first}/report");
        Console.WriteLine($"  Staff dashboard:     {first}/staff");
        Console.WriteLine($"  JSON API:            {first}/api/v1/reports  (OpenAPI: {first}/openapi/v1.json)");
        Console.WriteLine($"  Health, metrics:     {first}/healthz  {first}/metrics");
        var smtpBound = app.Services.GetRequiredService<CprDesk.Intake.Smtp.SmtpListenerService>().BoundEndpoints;
        var mailSettings = app.Services.GetRequiredService<CprDesk.Intake.Email.MailSettings>();
        if (smtpBound.Count > 0) Console.WriteLine($"  SMTP listener:       {string.Join(", ", smtpBound)}  (accepts {mailSettings.Listener.Addresses}{(mailSettings.Listener.CatchAll ? ", catch-all" : "")})");
        Console.WriteLine($"  Outbound mail:       {app.Services.GetRequiredService<CprDesk.Notifications.IMailTransport>().Name}");
        Console.WriteLine($"  Data directory:      {app.Services.GetRequiredService<Database>().DataDirectory}");
        if (admin is { } a2)
        {
            Console.WriteLine("First admin account created. Its one-time password is shown only now; change it at first sign-in:");
            Console.WriteLine($"  username: {a2.Username}");
            Console.WriteLine($"  password: {a2.Password}");
        }
        Console.Out.Flush();
        await app.WaitForShutdownAsync(ct);
        return ExitCodes.Ok;
    }

    private static string CliActor => $"cli:{Environment.UserName}";

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

    public static CprDeskOptions LoadOptions(string? data)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var options = config.GetSection(CprDeskOptions.Section).Get<CprDeskOptions>() ?? new CprDeskOptions();
        if (data is not null) options.DataDirectory = data;
        return options;
    }

    private static Database OpenDatabase(string? data) => new(LoadOptions(data).DataDirectory);

    private static async Task<Accounts> AccountsAsync(string? data, CancellationToken ct)
    {
        var db = OpenDatabase(data);
        await db.MigrateAsync(ct);
        return new Accounts(db, TimeProvider.System);
    }

    private static async Task<ReportQueries> QueriesAsync(string? data, CancellationToken ct)
    {
        var options = LoadOptions(data);
        var db = new Database(options.DataDirectory);
        await db.MigrateAsync(ct);
        return new ReportQueries(db, TimeProvider.System, ClockRules.Load(options.ResolveRulesFile()));
    }
}
