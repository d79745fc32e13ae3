// Spam scoring as a flag, through the real host: mail sent over SMTP (Python's smtplib) to the listener, scored by
// a real spamd on loopback; the review queue through the API and the staff page.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Intake;
using CprDesk.Intake.Health;
using CprDesk.Intake.Spam;
using CprDesk.Mail.Tests.Spam;
using CprDesk.Notifications;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Intake;

/// <summary>One spamd for the class: starting one takes seconds on a busy machine.</summary>
public sealed class SharedSpamd : IAsyncLifetime
{
    public SpamdProcess Spamd { get; private set; } = null!;
    public async Task InitializeAsync() => Spamd = await SpamdProcess.StartAsync();
    public async Task DisposeAsync() => await Spamd.DisposeAsync();
}

public sealed class SpamIntakeTests(SharedSpamd shared) : IAsyncLifetime, IClassFixture<SharedSpamd>
{
    private TestHost _host = null!;

    internal static Task<TestHost> StartHostAsync(int spamdPort) => TestHost.StartAsync(extra: new Dictionary<string, string?>
    {
        ["CprDesk:Spam:Spamd"] = $"127.0.0.1:{spamdPort}",
        ["CprDesk:Spam:TimeoutMs"] = "30000",
    });

    public async Task InitializeAsync() => _host = await StartHostAsync(shared.Spamd.Port);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    internal static byte[] Mail(string subject, string body, string from = "rita@example.org") => Encoding.UTF8.GetBytes(
        $"From: Rita Reporter <{from}>\r\nTo: cpr@ca.example\r\nSubject: {subject}\r\nDate: Fri, 06 Mar 2026 19:45:00 +0000\r\n" +
        $"Message-ID: <{Guid.NewGuid():N}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n");

    /// <summary>Sends over real SMTP and waits for the pipeline's signal that the message was processed.</summary>
    internal static async Task<IntakeResult> SendAsync(TestHost host, byte[] message)
    {
        var intake = host.Service<IntakePipeline>();
        var done = new TaskCompletionSource<IntakeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnProcessed(IntakeResult r) => done.TrySetResult(r);
        intake.Processed += OnProcessed;
        try
        {
            var sent = await PythonSmtp.SendAsync(host.SmtpEndpoint, "rita@example.org", ["cpr@ca.example"], message);
            Assert.True(sent.Ok, sent.Error);
            return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            intake.Processed -= OnProcessed;
        }
    }

    internal static async Task<List<OutboxMessage>> AcknowledgementsAsync(TestHost host, long reportId)
    {
        await using var db = host.Service<Database>().Open();
        return await db.Outbox.Where(o => o.ReportId == reportId && o.Kind == Outbox.Acknowledgement).ToListAsync();
    }

    internal static async Task<List<AuditEvent>> EventsAsync(TestHost host, string ticket)
    {
        await using var db = host.Service<Database>().Open();
        return await db.AuditEvents.Where(e => e.Ticket == ticket).OrderBy(e => e.Seq).ToListAsync();
    }

    [Fact]
    public async Task A_gtube_message_is_flagged_suspected_spam_gets_no_acknowledgement_and_waits_in_the_review_queue_with_its_clock_running()
    {
        var result = await SendAsync(_host, Mail("Cheap certificates", "Buy now! " + SpamdProcess.Gtube));
        Assert.True(result.NewReport);
        var ticket = result.Report.Ticket;

        Assert.Empty(await AcknowledgementsAsync(_host, result.Report.Id));
        var events = await EventsAsync(_host, ticket);
        var suppressed = Assert.Single(events, e => e.Type == "acknowledgement.suppressed");
        Assert.Contains("\"reason\":\"suspected-spam\"", suppressed.Detail);
        Assert.Contains(events, e => e.Type == "spam.suspected" && e.Detail.Contains("GTUBE"));

        var (_, _, token) = await _host.UserAsync(StaffRole.Auditor);
        using var auditor = _host.Client(token);
        var queue = await auditor.GetFromJsonAsync<JsonElement>("/api/v1/spam-review");
        var item = Assert.Single(queue.EnumerateArray(), i => i.GetProperty("ticket").GetString() == ticket);
        Assert.True(item.GetProperty("score").GetDouble() >= 1000);
        Assert.Contains("GTUBE", item.GetProperty("rules").EnumerateArray().Select(r => r.GetString()));
        // The clock runs from receipt, as for any report: open, due 24 h after receipt.
        var nearest = item.GetProperty("nearest");
        Assert.Equal("open", nearest.GetProperty("state").GetString());
        Assert.Equal(result.Report.ReceivedAt.AddHours(24), nearest.GetProperty("dueAt").GetDateTime().ToUniversalTime());

        var report = await auditor.GetFromJsonAsync<JsonElement>($"/api/v1/reports/{ticket}");
        Assert.Equal("New", report.GetProperty("state").GetString());
        Assert.NotEmpty(report.GetProperty("deadlines").EnumerateArray());
        var message = report.GetProperty("messages").EnumerateArray().Single();
        Assert.Contains("suspected-spam", message.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        var spam = message.GetProperty("spam");
        Assert.Equal("scored", spam.GetProperty("state").GetString());
        Assert.True(spam.GetProperty("score").GetDouble() >= 1000);
        Assert.Contains("GTUBE", spam.GetProperty("rules").EnumerateArray().Select(r => r.GetString()));

        // The staff report page shows the score and the rules.
        var (staff, password, _) = await _host.UserAsync(StaffRole.Staff);
        using var browser = await _host.SignedInClientAsync(staff, password);
        var page = await browser.GetStringAsync($"/staff/reports/{ticket}");
        Assert.Contains("spam score 100", page);
        Assert.Contains("GTUBE", page);
        Assert.Contains("id=\"spam-review\"", page);
    }

    [Fact]
    public async Task An_ordinary_report_is_scored_below_the_threshold_and_acknowledged()
    {
        var result = await SendAsync(_host, Mail("Key compromise", "The private key for the certificate with serial 0a1b2c3d was posted publicly. Please revoke it."));
        Assert.Single(await AcknowledgementsAsync(_host, result.Report.Id));
        await using var db = _host.Service<Database>().Open();
        var score = await db.SpamScores.SingleAsync(s => s.MessageId == result.MessageId);
        Assert.Equal(MessageSpamScore.Scored, score.State);
        Assert.True(score.Score < score.Threshold);
        Assert.False(await db.SpamReviews.AnyAsync(r => r.ReportId == result.Report.Id));
        Assert.DoesNotContain("suspected-spam", (await db.Messages.SingleAsync(m => m.Id == result.MessageId)).Flags);
    }

    [Fact]
    public async Task Withspamd_stopped_intake_continues_and_flags_unscored()
    {
        // Its own spamd and host: this one is stopped.
        await using var spamd = await SpamdProcess.StartAsync();
        await using var host = await StartHostAsync(spamd.Port);
        var before = await SendAsync(host, Mail("Before", "A report while spamd runs."));
        await using (var db = host.Service<Database>().Open())
            Assert.Equal(MessageSpamScore.Scored, (await db.SpamScores.SingleAsync(s => s.MessageId == before.MessageId)).State);
        await spamd.StopAsync();
        var result = await SendAsync(host, Mail("Misissued certificate", "The certificate for shop.example was issued without validation. " + SpamdProcess.Gtube));
        Assert.True(result.NewReport);
        await using (var db = host.Service<Database>().Open())
        {
            var message = await db.Messages.SingleAsync(m => m.Id == result.MessageId);
            Assert.Contains("unscored", message.Flags.Split(' '));
            Assert.Equal("processed", message.Status);
            var score = await db.SpamScores.SingleAsync(s => s.MessageId == result.MessageId);
            Assert.Equal(MessageSpamScore.Unscored, score.State);
            Assert.NotNull(score.Error);
            Assert.False(await db.SpamReviews.AnyAsync(r => r.ReportId == result.Report.Id));
        }
        // Unscored is not suspected: the reporter is acknowledged as usual.
        Assert.Single(await AcknowledgementsAsync(host, result.Report.Id));

        await host.Service<IntakeHealthService>().RunOnceAsync();
        using var anon = host.Client();
        var health = await anon.GetFromJsonAsync<JsonElement>("/healthz");
        var scorer = health.GetProperty("intake").GetProperty("scorer");
        Assert.Equal("down", scorer.GetProperty("state").GetString());
        Assert.False(string.IsNullOrEmpty(scorer.GetProperty("lastError").GetString()));
        var metrics = await anon.GetStringAsync("/metrics");
        Assert.Contains($"cprdesk_spam_scorer_up{{scorer=\"spamd 127.0.0.1:{spamd.Port}\"}} 0", metrics);
    }

    [Fact]
    public async Task Marking_spam_closes_the_report_as_not_a_cpr_keeps_everything_and_is_audited_with_the_person()
    {
        var result = await SendAsync(_host, Mail("Win a prize", SpamdProcess.Gtube));
        var ticket = result.Report.Ticket;
        var (user, _, token) = await _host.UserAsync(StaffRole.Staff);
        using var staff = _host.Client(token);

        var response = await staff.PostAsJsonAsync($"/api/v1/reports/{ticket}/spam-review", new { verdict = "spam", note = "prize spam" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var decision = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Closed", decision.GetProperty("state").GetString());
        Assert.Equal("NotACpr", decision.GetProperty("resolution").GetString());
        Assert.Equal($"user:{user}", decision.GetProperty("decidedBy").GetString());

        var report = await staff.GetFromJsonAsync<JsonElement>($"/api/v1/reports/{ticket}");
        Assert.Equal("NotACpr", report.GetProperty("resolution").GetString());
        var reviewed = Assert.Single(report.GetProperty("events").EnumerateArray(), e => e.GetProperty("type").GetString() == "spam.reviewed");
        Assert.Equal($"user:{user}", reviewed.GetProperty("actor").GetString());
        Assert.Equal("spam", reviewed.GetProperty("detail").GetProperty("verdict").GetString());
        Assert.Contains(report.GetProperty("events").EnumerateArray(), e => e.GetProperty("type").GetString() == "report.closed");

        // Nothing deleted: the raw message is still there, byte for byte.
        var raw = await staff.GetByteArrayAsync($"/staff/reports/{ticket}/messages/{result.MessageId}/raw");
        Assert.Contains(SpamdProcess.Gtube, Encoding.UTF8.GetString(raw));
        var queue = await staff.GetFromJsonAsync<JsonElement>("/api/v1/spam-review");
        Assert.DoesNotContain(queue.EnumerateArray(), i => i.GetProperty("ticket").GetString() == ticket);
        Assert.Empty(await AcknowledgementsAsync(_host, result.Report.Id));

        // A second verdict is refused; the first stands.
        var again = await staff.PostAsJsonAsync($"/api/v1/reports/{ticket}/spam-review", new { verdict = "not-spam" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Marking_not_spam_takes_it_out_of_the_queue_and_sends_the_held_acknowledgement()
    {
        var result = await SendAsync(_host, Mail("Compromised key (my filter thinks this is spam)", SpamdProcess.Gtube));
        var ticket = result.Report.Ticket;
        Assert.Empty(await AcknowledgementsAsync(_host, result.Report.Id));
        var (user, _, token) = await _host.UserAsync(StaffRole.Admin);
        using var admin = _host.Client(token);

        var response = await admin.PostAsJsonAsync($"/api/v1/reports/{ticket}/spam-review", new { verdict = "not-spam" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var decision = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("queued", decision.GetProperty("acknowledgement").GetString());

        var ack = Assert.Single(await AcknowledgementsAsync(_host, result.Report.Id));
        Assert.Equal("rita@example.org", ack.Recipient);
        Assert.Contains(ticket, ack.Subject);
        var queue = await admin.GetFromJsonAsync<JsonElement>("/api/v1/spam-review");
        Assert.DoesNotContain(queue.EnumerateArray(), i => i.GetProperty("ticket").GetString() == ticket);
        var events = await EventsAsync(_host, ticket);
        var reviewed = Assert.Single(events, e => e.Type == "spam.reviewed");
        Assert.Equal($"user:{user}", reviewed.Actor);
        Assert.Contains("\"verdict\":\"not-spam\"", reviewed.Detail);
        var report = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/reports/{ticket}");
        Assert.NotEqual("Closed", report.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Bad_review_input_is_a_clear_400_403_or_404()
    {
        var result = await SendAsync(_host, Mail("Spam", SpamdProcess.Gtube));
        var ticket = result.Report.Ticket;
        var (_, _, staffToken) = await _host.UserAsync(StaffRole.Staff);
        using var staff = _host.Client(staffToken);

        var bad = await staff.PostAsJsonAsync($"/api/v1/reports/{ticket}/spam-review", new { verdict = "maybe" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Equal("verdict", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        var missing = await staff.PostAsync($"/api/v1/reports/{ticket}/spam-review", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);

        var notFlagged = await staff.PostAsJsonAsync("/api/v1/reports/CPR-1999-00001/spam-review", new { verdict = "spam" });
        Assert.Equal(HttpStatusCode.NotFound, notFlagged.StatusCode);

        var (_, _, auditorToken) = await _host.UserAsync(StaffRole.Auditor);
        using var auditor = _host.Client(auditorToken);
        var forbidden = await auditor.PostAsJsonAsync($"/api/v1/reports/{ticket}/spam-review", new { verdict = "spam" });
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

        // Nothing was decided by any of these.
        Assert.DoesNotContain(await EventsAsync(_host, ticket), e => e.Type == "spam.reviewed");
    }

    [Fact]
    public async Task The_staff_page_lists_the_queue_and_records_a_decision()
    {
        var result = await SendAsync(_host, Mail("Special offer", SpamdProcess.Gtube));
        var ticket = result.Report.Ticket;
        var (user, password, _) = await _host.UserAsync(StaffRole.Staff);
        using var browser = await _host.SignedInClientAsync(user, password);

        var page = await browser.GetStringAsync("/staff/spam");
        Assert.Contains($"data-ticket=\"{ticket}\"", page);
        Assert.Contains("href=\"/staff/spam\"", page); // the layout's nav link

        var withoutToken = await browser.PostAsync("/staff/spam?handler=Decide", new FormUrlEncodedContent(new Dictionary<string, string> { ["ticket"] = ticket, ["verdict"] = "spam" }));
        Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);

        var posted = await browser.PostAsync("/staff/spam?handler=Decide", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ticket"] = ticket, ["verdict"] = "spam", ["note"] = "obvious", ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(page),
        }));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var after = await posted.Content.ReadAsStringAsync();
        Assert.Contains("marked spam", after);
        Assert.DoesNotContain($"data-ticket=\"{ticket}\"", after);
        var reviewed = Assert.Single(await EventsAsync(_host, ticket), e => e.Type == "spam.reviewed");
        Assert.Equal($"user:{user}", reviewed.Actor);

        // An auditor sees the queue without decision buttons and cannot post one.
        var next = await SendAsync(_host, Mail("Another offer", SpamdProcess.Gtube));
        var (auditor, auditorPassword, _) = await _host.UserAsync(StaffRole.Auditor);
        using var auditorBrowser = await _host.SignedInClientAsync(auditor, auditorPassword);
        var auditorPage = await auditorBrowser.GetStringAsync("/staff/spam");
        Assert.Contains($"data-ticket=\"{next.Report.Ticket}\"", auditorPage);
        Assert.DoesNotContain("value=\"not-spam\"", auditorPage);
        var denied = await auditorBrowser.PostAsync("/staff/spam?handler=Decide", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ticket"] = next.Report.Ticket, ["verdict"] = "spam", ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(auditorPage),
        }));
        Assert.NotEqual(HttpStatusCode.OK, denied.StatusCode);
        Assert.DoesNotContain(await EventsAsync(_host, next.Report.Ticket), e => e.Type == "spam.reviewed");
    }
}
