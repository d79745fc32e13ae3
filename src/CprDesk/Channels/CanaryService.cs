// Canary CPRs: on each channel's schedule, a synthetic key-compromise report is sent from outside (mail through an
// outside relay from the sender mailbox; an HTTP submission to a form or the API). The checker then reads the
// sender mailbox for the acknowledgement and decides each run as Checkmk's check_mail_loop does (warning/critical):
// passed = acknowledged within the channel's limit; late = no acknowledgement by that limit (decided then, without
// waiting; an acknowledgement arriving later keeps it late, with its time); lost = nothing by the lost cut-off.
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using CprDesk.Mail.Outgoing;
using CprDesk.Mail.Smtp;
using CprDesk.Notifications;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

public sealed partial class CanaryService(Database database, TimeProvider time, CanarySettings settings, CanaryToken tokens,
    ICanaryMailbox? mailbox, Outbox outbox, DriftWatch drift, Escalation.EscalationEngine escalation, ILogger<CanaryService> log) : BackgroundService
{
    private readonly SemaphoreSlim _running = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (settings.Enabled) await RunOnceAsync(stoppingToken);
                await drift.DailyAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException) { log.LogError(ex, "Channel checks failed; they run again"); }
            try { await Task.Delay(settings.CheckEvery, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Sends the canaries that are due, reads the sender mailbox, and decides what can be decided.</summary>
    public async Task RunOnceAsync(CancellationToken ct = default)
    {
        await _running.WaitAsync(ct);
        try
        {
            await SendDueAsync(ct);
            await CheckAsync(ct);
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task SendDueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        List<ChannelRow> due;
        await using (var db = database.Open())
            due = await db.Channels.AsNoTracking().Where(c => c.CanaryEnabled && c.NextCanaryAt != null && c.NextCanaryAt <= now).OrderBy(c => c.Id).ToListAsync(ct);
        foreach (var channel in due) await SendAsync(channel.Id, ct);
    }

    /// <summary>Sends one canary to the channel now, whatever its schedule. Returns the run.</summary>
    public async Task<CanaryRunRow> SendAsync(long channelId, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(settings.From)) throw Reports.DeskException.Invalid("canary", "CprDesk:Canary:From (the sender mailbox address) is not set.");
        var run = await database.WriteAsync(time, async s =>
        {
            var channel = await s.Db.Channels.FirstOrDefaultAsync(c => c.Id == channelId, ct)
                ?? throw Reports.DeskException.NotFound($"No channel {channelId}.");
            channel.NextCanaryAt = s.Now.AddMinutes(channel.CanaryEveryMinutes);
            var row = new CanaryRunRow
            {
                ChannelId = channel.Id, Address = channel.Address, Kind = channel.Kind, SentAt = s.Now,
                LateAt = s.Now.AddMinutes(channel.LateAfterMinutes), LostAt = s.Now + settings.LostAfter, Outcome = CanaryOutcome.Pending,
            };
            s.Db.CanaryRuns.Add(row);
            await s.Db.SaveChangesAsync(ct);
            return row;
        }, ct);
        var token = tokens.For(run.Id);
        string result;
        bool ok;
        try
        {
            (ok, result) = run.Kind == "email" ? await SendMailAsync(run, token, ct) : await SubmitAsync(run, token, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ArgumentException or IOException && !ct.IsCancellationRequested)
        {
            (ok, result) = (false, $"{ex.GetType().Name}: {ex.Message}");
        }
        return await database.WriteAsync(time, async s =>
        {
            var r = await s.Db.CanaryRuns.FirstAsync(x => x.Id == run.Id, ct);
            r.SendResult = Cap(result, 1000);
            await s.AuditAsync("system", "canary.sent", null, new { runId = r.Id, r.ChannelId, r.Address, r.Kind, r.SentAt, ok, result = r.SendResult });
            if (!ok)
            {
                log.LogWarning("Canary run {RunId} to {Address} could not be sent: {Result}", r.Id, r.Address, result);
                await DecideAsync(s, r, CanaryOutcome.SendFailed);
            }
            return r;
        }, ct);
    }

    private async Task<(bool Ok, string Result)> SendMailAsync(CanaryRunRow run, string token, CancellationToken ct)
    {
        var from = settings.From!;
        var domain = from[(from.IndexOf('@') + 1)..];
        var text = Body(run, token);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var raw = MessageWriter.Write(new OutgoingMessage
        {
            From = new OutgoingAddress("CprDesk canary", from),
            To = [new OutgoingAddress(null, run.Address)],
            Subject = $"Certificate Problem Report: key compromise (CprDesk canary run {run.Id})",
            TextBody = text,
            MessageId = $"canary-{run.Id}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}@{domain}",
            Date = new DateTimeOffset(run.SentAt, TimeSpan.Zero),
            ExtraHeaders = [new("X-CprDesk-Canary", token)],
            // Like a real key-compromise report: the (throw-away) private key as a PEM attachment.
            Attachments = [new OutgoingAttachment("compromised-key.pem", "application/x-pem-file", Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()))],
        });
        var relay = settings.Relay;
        if (string.IsNullOrWhiteSpace(relay.Host)) return (false, "CprDesk:Canary:Relay:Host is not set");
        var mode = Enum.TryParse<SmtpTlsMode>(relay.Tls, true, out var m) ? m : SmtpTlsMode.StartTlsWhenAvailable;
        var password = relay.PasswordEnvironmentVariable is { } env ? Environment.GetEnvironmentVariable(env) : null;
        var sent = await SmtpClient.SendAsync(new SmtpRelayOptions
        {
            Host = relay.Host!, Port = relay.Port, Tls = mode, Username = relay.Username, Password = relay.Username is null ? null : password,
            AcceptAnyCertificate = relay.AcceptAnyCertificate, HeloName = settings.HeloName, Timeout = TimeSpan.FromSeconds(30),
        }, from, [run.Address], raw, ct);
        return (sent.Delivered, sent.Reply);
    }

    private async Task<(bool Ok, string Result)> SubmitAsync(CanaryRunRow run, string token, CancellationToken ct)
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var text = Body(run, token);
        HttpResponseMessage response;
        if (run.Kind == "api")
        {
            response = await http.PostAsJsonAsync(run.Address, new { reporterEmail = settings.From, reporterName = "CprDesk canary", problemType = "key-compromise", description = text }, ct);
        }
        else
        {
            // A form as a browser sends it: fetch it first for its hidden fields (anti-forgery token and cookie).
            var page = await http.GetAsync(run.Address, ct);
            if (!page.IsSuccessStatusCode) return (false, $"GET {run.Address}: {(int)page.StatusCode} {page.ReasonPhrase}");
            var html = await page.Content.ReadAsStringAsync(ct);
            using var form = new MultipartFormDataContent();
            foreach (Match hidden in HiddenInputRegex().Matches(html))
            {
                var name = AttributeRegex("name").Match(hidden.Value);
                var value = AttributeRegex("value").Match(hidden.Value);
                if (name.Success) form.Add(new StringContent(WebUtility.HtmlDecode(value.Success ? value.Groups[1].Value : "")), WebUtility.HtmlDecode(name.Groups[1].Value));
            }
            form.Add(new StringContent(settings.From!), "reporterEmail");
            form.Add(new StringContent("CprDesk canary"), "reporterName");
            form.Add(new StringContent(text), "description");
            response = await http.PostAsync(run.Address, form, ct);
        }
        using (response)
            return (response.IsSuccessStatusCode, $"POST {run.Address}: {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    private static string Body(CanaryRunRow run, string token) => $"""
        This is a canary Certificate Problem Report sent by CprDesk to check that this published channel works end to end.
        Key compromise: the private key is attached (it was generated for this test and certifies nothing).

        Canary token: {token}
        Channel: {run.Address}
        Sent: {run.SentAt:yyyy-MM-dd HH:mm:ss} UTC
        """;

    /// <summary>Runs still open: waiting for their acknowledgement (pending, or already late without one).</summary>
    private static IQueryable<CanaryRunRow> Open(IQueryable<CanaryRunRow> runs) =>
        runs.Where(r => r.Outcome == CanaryOutcome.Pending || (r.Outcome == CanaryOutcome.Late && r.AckAt == null));

    private async Task CheckAsync(CancellationToken ct)
    {
        List<CanaryRunRow> open;
        await using (var db = database.Open())
            open = await Open(db.CanaryRuns.AsNoTracking()).OrderBy(r => r.Id).ToListAsync(ct);
        if (open.Count == 0) return;
        IReadOnlyList<MailboxMessage> mail = [];
        // Without a readable mailbox we cannot know that an acknowledgement did not come: runs whose report exists are
        // then left undecided (the checker's failure is alarmed instead). A run with no report is late or lost anyway.
        var mailboxRead = true;
        if (mailbox is not null && open.Any(p => p.Ticket is not null))
        {
            try
            {
                // The mailbox's clock is not ours: look back a little further than the oldest run.
                mail = await mailbox.ReadSinceAsync(open.Min(p => p.SentAt).AddHours(-1), ct);
                await CheckerSucceededAsync(ct);
            }
            catch (Exception ex) when (ex is CanaryMailboxException or IOException or UnauthorizedAccessException && !ct.IsCancellationRequested)
            {
                mailboxRead = false;
                log.LogError("The canary sender mailbox {Mailbox} could not be read: {Error}", mailbox.Name, ex.Message);
                await CheckerFailedAsync(ex.Message, ct);
            }
        }
        await database.WriteAsync(time, async s =>
        {
            foreach (var p in open)
            {
                var run = await s.Db.CanaryRuns.FirstAsync(r => r.Id == p.Id, ct);
                if (run.Outcome is not (CanaryOutcome.Pending or CanaryOutcome.Late) || run.AckAt is not null) continue;
                if (run.Ticket is { } ticket && mail.Any(m => m.Ticket == ticket || (m.Subject?.Contains($"[{ticket}]", StringComparison.Ordinal) ?? false)))
                {
                    run.AckAt = s.Now;
                    await s.AuditAsync("system", "canary.acknowledged", ticket, new { runId = run.Id, run.AckAt, late = run.AckAt > run.LateAt });
                }
                if (run.AckAt is { } ack)
                {
                    // Already late (told once): the acknowledgement keeps it late, with its time.
                    if (run.Outcome == CanaryOutcome.Pending) await DecideAsync(s, run, ack <= run.LateAt ? CanaryOutcome.Passed : CanaryOutcome.Late);
                    continue;
                }
                var knowable = mailboxRead || run.Ticket is null;
                if (!knowable) continue;
                if (s.Now >= run.LostAt) await DecideAsync(s, run, CanaryOutcome.Lost);
                else if (s.Now > run.LateAt && run.Outcome == CanaryOutcome.Pending) await DecideAsync(s, run, CanaryOutcome.Late);
            }
            return true;
        }, ct);
    }

    // The checker's own health: a failure to read the sender mailbox is audited when it starts and when it ends, and
    // alarmed once when it lasts CheckerAlarmAfter. The state is read back from the audit log, so a restart keeps it.
    private const string CheckerFailed = "canary.checker-failed", CheckerRecovered = "canary.checker-recovered", CheckerAlarm = "canary.checker-alarm";

    private sealed record CheckerState(DateTime? FailingSince, bool Alarmed);

    private static async Task<CheckerState> CheckerStateAsync(CprDeskDb db, CancellationToken ct)
    {
        var last = await db.AuditEvents.AsNoTracking().Where(e => e.Type == CheckerFailed || e.Type == CheckerRecovered || e.Type == CheckerAlarm)
            .OrderByDescending(e => e.Seq).Take(2).Select(e => new { e.Type, e.At }).ToListAsync(ct);
        if (last.Count == 0 || last[0].Type == CheckerRecovered) return new CheckerState(null, false);
        if (last[0].Type == CheckerFailed) return new CheckerState(last[0].At, false);
        return new CheckerState(last.Count > 1 && last[1].Type == CheckerFailed ? last[1].At : last[0].At, true);
    }

    /// <summary>Whether the checker can read the sender mailbox now (null: never failed or recovered since).</summary>
    public async Task<DateTime?> CheckerFailingSinceAsync(CancellationToken ct = default)
    {
        await using var db = database.Open();
        return (await CheckerStateAsync(db, ct)).FailingSince;
    }

    /// <summary>Known not failing (so a good read needs no look at the audit log); null until first looked up.</summary>
    private bool? _checkerFailing;

    private async Task CheckerSucceededAsync(CancellationToken ct)
    {
        if (_checkerFailing == false) return;
        _checkerFailing = await CheckerFailingSinceAsync(ct) is not null;
        if (_checkerFailing == false) return;
        await database.WriteAsync(time, async s =>
        {
            var state = await CheckerStateAsync(s.Db, ct);
            if (state.FailingSince is null) return false;
            await s.AuditAsync("system", CheckerRecovered, null, new { mailbox = mailbox!.Name, failingSince = state.FailingSince });
            log.LogInformation("The canary sender mailbox {Mailbox} can be read again (failing since {Since:u})", mailbox.Name, state.FailingSince);
            return true;
        }, ct);
        _checkerFailing = false;
    }

    private async Task CheckerFailedAsync(string error, CancellationToken ct)
    {
        _checkerFailing = true;
        await database.WriteAsync(time, async s =>
        {
            var state = await CheckerStateAsync(s.Db, ct);
            if (state.FailingSince is null)
            {
                await s.AuditAsync("system", CheckerFailed, null, new { mailbox = mailbox!.Name, error = Cap(error, 1000) });
                state = new CheckerState(s.Now, false);
            }
            if (state.Alarmed || s.Now - state.FailingSince < settings.CheckerAlarmAfter) return false;
            var waiting = await Open(s.Db.CanaryRuns).CountAsync(r => r.Ticket != null, ct);
            await AdminNotice.SendAsync(s, outbox, $"Canary checker cannot read the sender mailbox ({mailbox!.Name})", $"""
                The canary checker has not been able to read the sender mailbox {mailbox.Name} since {state.FailingSince:yyyy-MM-dd HH:mm} UTC.

                Last error: {error}

                While it cannot, no canary whose report was created is decided passed, late or lost ({waiting} waiting now):
                the published channels are not being proved. Check the mailbox server, the network and the credentials.
                """, CheckerAlarm);
            log.LogError("The canary sender mailbox {Mailbox} has failed since {Since:u}; admins notified", mailbox.Name, state.FailingSince);
            return true;
        }, ct);
    }

    private async Task DecideAsync(WriteScope s, CanaryRunRow run, string outcome)
    {
        var from = run.Outcome;
        run.Outcome = outcome;
        run.DecidedAt = s.Now;
        await s.AuditAsync("system", "canary.decided", run.Ticket, new
        {
            runId = run.Id, run.ChannelId, run.Address, from, outcome, run.SentAt, run.ReceivedAt, reportCreated = run.ReportId is not null, run.ClockStarted, run.AckAt,
            run.LateAt, run.LostAt,
        });
        if (outcome == CanaryOutcome.Passed) return;
        var what = outcome switch
        {
            CanaryOutcome.Late when run.AckAt is null => (run.ReportId is null
                    ? "has not become a report"
                    : $"became report {run.Ticket} but its acknowledgement has not come back to the sender mailbox") +
                $" by its limit ({run.LateAt:yyyy-MM-dd HH:mm} UTC). It is late; it will be reported lost if nothing arrives by {run.LostAt:yyyy-MM-dd HH:mm} UTC",
            CanaryOutcome.Late => $"was acknowledged only at {run.AckAt:yyyy-MM-dd HH:mm} UTC, later than its limit ({run.LateAt:yyyy-MM-dd HH:mm} UTC)",
            CanaryOutcome.SendFailed => $"could not even be sent: {run.SendResult}",
            _ => run.ReportId is null
                ? "never became a report: the channel lost it (an expired alias, a group refusing outside mail, a forwarding typo, a broken form?)"
                : $"became report {run.Ticket} but its acknowledgement never came back to the sender mailbox",
        };
        // Paged through the escalation engine's routing (the on-call people now and the admins, on every contact method
        // they have, and the team channels), not only mailed to admins: a broken published channel is an outage.
        var subject = $"Canary CPR {outcome}: {run.Address}";
        var told = await escalation.PageAsync(s, PageAudience, subject,
            $"""
            The canary Certificate Problem Report sent to {run.Address} at {run.SentAt:yyyy-MM-dd HH:mm} UTC (run {run.Id}) {what}.

            A real reporter using this published channel may be failing the same way. Check the channel now; see
            /staff/channels for its history.
            """);
        await s.AuditAsync("system", $"canary.{outcome}-notified", null, new { subject, told, audience = PageAudience });
        log.LogWarning("Canary run {RunId} to {Address}: {Outcome}", run.Id, run.Address, outcome);
    }

    /// <summary>Who is paged for a late or lost canary.</summary>
    public static readonly IReadOnlyList<string> PageAudience = ["primary", "secondary", "admins", "team"];

    private static string Cap(string s, int max) => s.Length <= max ? s : s[..max];

    [GeneratedRegex(@"<input\b[^>]*\btype\s*=\s*[""']?hidden[""']?[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex HiddenInputRegex();

    private static Regex AttributeRegex(string name) => new($@"\b{name}\s*=\s*""([^""]*)""", RegexOptions.IgnoreCase);
}
