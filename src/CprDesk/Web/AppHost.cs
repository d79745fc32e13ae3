// Builds the web host: the composition root for `cprdesk serve` and for tests on loopback.
using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Compliance.Incidents;
using CprDesk.Deadlines;
using CprDesk.Evidence;
using CprDesk.Intake;
using CprDesk.Intake.Email;
using CprDesk.Intake.Imap;
using CprDesk.Intake.Smtp;
using CprDesk.Intake.Spam;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using CprDesk.Web.Api;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CprDesk.Web;

public static class AppHost
{
    /// <param name="configure">Extra configuration (command-line options, tests).</param>
    /// <param name="time">The clock; tests pass a fake one.</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? configure = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            // Pages are found in this assembly even when a test runner is the entry assembly.
            ApplicationName = typeof(AppHost).Assembly.GetName().Name,
        });
        builder.Configuration.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);
        builder.Configuration.AddEnvironmentVariables();
        if (configure is not null) builder.Configuration.AddInMemoryCollection(configure);
        var options = builder.Configuration.GetSection(CprDeskOptions.Section).Get<CprDeskOptions>() ?? new CprDeskOptions();

        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var limits = new IntakeLimits(options.MaxAttachmentBytes);
        // Kestrel accepts up to twice the submission limit so an oversized upload is read to its end and answered
        // with a readable 413 instead of a reset connection; RawBodyMiddleware enforces the real limit. The
        // mailgate's raw messages have their own, larger limit.
        var mailLimit = builder.Configuration.GetSection("CprDesk:Mail:Listener").Get<SmtpListenerSettings>()?.MaxMessageBytes ?? new SmtpListenerSettings().MaxMessageBytes;
        builder.Services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = Math.Max(limits.MaxRequestBytes * 2, mailLimit + 1024 * 1024));
        builder.AddCprDesk(options, limits, time ?? TimeProvider.System);
        builder.AddOnCallManagement();
        builder.AddChannels(options);
        builder.AddEvidence(options);
        builder.AddMailboxPolling();
        var app = builder.Build();
        app.MapCprDesk();
        return app;
    }

    public static void AddCprDesk(this WebApplicationBuilder builder, CprDeskOptions options, IntakeLimits limits, TimeProvider time)
    {
        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(limits);
        s.AddSingleton(time);
        s.AddSingleton(new Database(options.DataDirectory));
        s.AddSingleton<WalCheckpointService>();
        s.AddHostedService(sp => sp.GetRequiredService<WalCheckpointService>());
        s.AddSingleton(ClockRules.Load(options.ResolveRulesFile()));
        var mail = builder.Configuration.GetSection("CprDesk:Mail").Get<MailSettings>() ?? new MailSettings();
        mail.Validate();
        s.AddSingleton(mail);
        s.AddSingleton<Outbox>();
        s.AddSingleton<Acknowledgements>();
        s.AddSingleton<IMailTransport>(_ => string.IsNullOrWhiteSpace(mail.Relay.Host)
            ? new FileTransport(Path.Combine(Path.GetFullPath(options.DataDirectory), "outbox"))
            : new SmtpRelayTransport(mail.Relay, mail.Listener.HostName));
        s.AddSingleton(new WebhookTransport(new HttpClient { Timeout = TimeSpan.FromSeconds(15) }));
        s.AddSingleton<OutboxService>();
        s.AddHostedService(sp => sp.GetRequiredService<OutboxService>());
        s.AddSingleton<SmtpIntakeStore>();
        s.AddSingleton<SmtpListenerService>();
        s.AddHostedService(sp => sp.GetRequiredService<SmtpListenerService>());
        s.AddSingleton(Escalation.EscalationPolicy.Load(options.ResolveEscalationPolicyFile()));
        builder.AddIncidents();
        s.AddSingleton<Escalation.EscalationEngine>();
        s.AddHostedService(sp => sp.GetRequiredService<Escalation.EscalationEngine>());
        s.AddSingleton<ReportDesk>();
        s.AddSingleton<ReportQueries>();
        s.AddSingleton<CprDesk.OnCall.OnCallStore>();
        builder.AddSpamReviewAndIntakeHealth();
        s.AddSingleton<IntakePipeline>();
        s.AddHostedService<PendingIntakeService>();
        var memory = builder.Configuration.GetSection("CprDesk:Memory").Get<MemorySettings>() ?? new MemorySettings();
        memory.Validate();
        s.AddSingleton(memory);
        s.AddSingleton<HeapTrimService>();
        s.AddHostedService(sp => sp.GetRequiredService<HeapTrimService>());
        s.AddAccess(options.SecureCookies);
        // Cookie and anti-forgery keys live with the data, so sessions survive a restart and nothing is kept in $HOME.
        s.AddDataProtection().SetApplicationName("cprdesk")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(Path.GetFullPath(options.DataDirectory), "keys")));
        s.AddRazorPages(o =>
        {
            o.RootDirectory = "/Web/Pages";
            o.Conventions.AuthorizeFolder("/Staff", Policies.Read);
            o.Conventions.AllowAnonymousToPage("/Staff/Login");
            o.Conventions.AllowAnonymousToPage("/Staff/Denied");
        });
        s.AddProblemDetails();
        s.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "CprDesk API";
            doc.Info.Description = "Certificate Problem Reports: anonymous submission and staff operations.";
            return Task.CompletedTask;
        }));
    }

    public static void MapCprDesk(this WebApplication app)
    {
        // A person (or a web form) waits on each request: its writes never hold back for an intake burst.
        app.Use(async (context, next) =>
        {
            using (Database.Interactive()) await next(context);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RawBodyMiddleware>();
        app.UseAuthentication();
        app.UseMiddleware<PasswordChangeMiddleware>();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapReportsApi();
        app.MapMailApi();
        app.MapOnCallApi();
        app.MapSpamReviewApi();
        app.MapOnCallManagementApi();
        app.MapChannels();
        app.MapEvidence();
        app.MapIncidentsApi();
        app.MapStaffDownloads();
        app.MapHealth();
        app.MapRazorPages();
    }

    /// <summary>Migrates the database, creates the first admin when there is none, and processes any message
    /// stored but never processed. Returns the first admin's one-time password, if one was created.</summary>
    public static async Task<(string Username, string Password)?> PrepareAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<Database>();
        await db.MigrateAsync(ct);
        (string, string)? admin = null;
        var accounts = services.GetRequiredService<Accounts>();
        if (!await accounts.AnyUsersAsync())
        {
            var (user, password) = await accounts.CreateAsync("system", "admin", StaffRole.Admin, null, "First administrator");
            admin = (user.Username, password);
        }
        // A new report wakes the escalation engine, so its first page does not wait for the next cycle.
        var engine = services.GetRequiredService<Escalation.EscalationEngine>();
        services.GetRequiredService<IntakePipeline>().Processed += r => { if (r.NewReport) engine.Wake(); };
        await services.GetRequiredService<IntakePipeline>().ProcessPendingAsync(ct);
        return admin;
    }
}

/// <summary>Reads a submission's body whole, within the size limit, before anything parses it, so the exact
/// bytes can be stored as the raw message. An oversized body is refused with 413 and nothing is stored.</summary>
public sealed class RawBodyMiddleware(RequestDelegate next, IntakeLimits limits, ILogger<RawBodyMiddleware> log)
{
    public const string ItemKey = "cprdesk.raw-body";

    public async Task InvokeAsync(HttpContext ctx)
    {
        var isSubmission = HttpMethods.IsPost(ctx.Request.Method) &&
            (ctx.Request.Path.Equals("/report", StringComparison.OrdinalIgnoreCase) || ctx.Request.Path.Equals("/api/v1/reports", StringComparison.OrdinalIgnoreCase));
        if (!isSubmission)
        {
            await next(ctx);
            return;
        }
        var max = limits.MaxRequestBytes;
        if (ctx.Request.ContentLength > max)
        {
            await TooLargeAsync(ctx, ctx.Request.ContentLength.Value);
            return;
        }
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + n > max)
            {
                buffer.SetLength(0); // drop what was read; Kestrel drains the rest before answering
                await TooLargeAsync(ctx, max + 1);
                return;
            }
            buffer.Write(chunk, 0, n);
        }
        var bytes = buffer.ToArray();
        ctx.Items[ItemKey] = bytes;
        ctx.Request.Body = new MemoryStream(bytes, writable: false);
        await next(ctx);
    }

    private async Task TooLargeAsync(HttpContext ctx, long seen)
    {
        log.LogWarning("Refused an oversized submission to {Path} from {Peer}: at least {Bytes} bytes (limit {Limit})",
            ctx.Request.Path, ctx.Connection.RemoteIpAddress, seen, limits.MaxRequestBytes);
        var ex = WebSubmissionParser.TooLarge(limits.MaxAttachmentBytes);
        ctx.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        if (ctx.Request.Path.StartsWithSegments("/api"))
            await ctx.Response.WriteAsJsonAsync(new { type = "about:blank", title = "Payload too large", status = 413, detail = ex.Message, field = "attachments" },
                (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
        else
        {
            ctx.Response.ContentType = "text/html; charset=utf-8";
            await ctx.Response.WriteAsync($"<!doctype html><title>Too large</title><h1>Your report was not received</h1><p>{System.Net.WebUtility.HtmlEncode(ex.Message)}</p><p><a href=\"/report\">Back to the form</a></p>");
        }
    }
}

/// <summary>Sends a user still holding a one-time password to change it before anything else.</summary>
public sealed class PasswordChangeMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        var p = ctx.Request.Path;
        if (ctx.User.Identity?.IsAuthenticated == true && ctx.User.HasClaim("must_change_password", "1")
            && p.StartsWithSegments("/staff") && !p.StartsWithSegments("/staff/password") && !p.StartsWithSegments("/staff/logout"))
        {
            ctx.Response.Redirect("/staff/password");
            return;
        }
        await next(ctx);
    }
}
