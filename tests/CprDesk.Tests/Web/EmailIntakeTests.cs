using System.Text;
using CprDesk.Intake;
using CprDesk.Notifications;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>Mail in through the SMTP listener (Python's smtplib as the peer) and out through the outbox (.eml files):
/// reports, threading, duplicates, RFC 3834 suppression, loops, preliminary reports meeting their clock on relay acceptance.</summary>
public sealed class EmailIntakeTests : IAsyncLifetime
{
    private TestHost _host = null!;

    /// <summary>Every outbox attempt since the host started, by id: the event fires after the report was updated
    /// (state moved, clock met), so waiting on it never sees "sent" before the report caught up.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, TaskCompletionSource> _attempts = new();

    private TaskCompletionSource Attempt(long id) => _attempts.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _host.Service<OutboxService>().Attempted += (id, _) => Attempt(id).TrySetResult();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static byte[] Mail(string subject, string body, string from = "Rita Reporter <rita@example.org>", string? messageId = null,
        params string[] extraHeaders)
    {
        var sb = new StringBuilder();
        sb.Append($"From: {from}\r\nTo: cpr@ca.example\r\nSubject: {subject}\r\nDate: Fri, 06 Mar 2026 19:45:00 +0000\r\n");
        sb.Append($"Message-ID: <{messageId ?? Guid.NewGuid().ToString("N") + "@example.org"}>\r\n");
        foreach (var h in extraHeaders) sb.Append(h).Append("\r\n");
        sb.Append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").Append(body).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Sends and waits for the message to be processed (signalled by the pipeline, no polling).</summary>
    private async Task<IntakeResult> SendAsync(byte[] message, string sender = "rita@example.org", bool tls = false)
    {
        var intake = _host.Service<IntakePipeline>();
        var done = new TaskCompletionSource<IntakeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnProcessed(IntakeResult r) => done.TrySetResult(r);
        intake.Processed += OnProcessed;
        try
        {
            var sent = await PythonSmtp.SendAsync(_host.SmtpEndpoint, sender, ["cpr@ca.example"], message, tls);
            Assert.True(sent.Ok, sent.Error);
            return await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            intake.Processed -= OnProcessed;
        }
    }

    private async Task<List<AuditEvent>> EventsAsync(string ticket)
    {
        await using var db = _host.Service<Database>().Open();
        return await db.AuditEvents.Where(e => e.Ticket == ticket).OrderBy(e => e.Seq).ToListAsync();
    }

    private async Task<List<OutboxMessage>> OutboxAsync(long reportId)
    {
        await using var db = _host.Service<Database>().Open();
        return await db.Outbox.Where(o => o.ReportId == reportId).OrderBy(o => o.Id).ToListAsync();
    }

    /// <summary>Delivers what is queued and waits until the given row has been attempted.</summary>
    private async Task DeliverAsync(long outboxId)
    {
        var attempted = Attempt(outboxId).Task;
        if (!attempted.IsCompleted) await _host.Service<OutboxService>().RunOnceAsync();
        await attempted.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_mail_becomes_a_report_with_its_envelope_and_an_acknowledgement_goes_back()
    {
        var raw = Mail("Compromised key for www.example.com", "The private key was posted publicly.\r\n.leading dot line");
        var result = await SendAsync(raw, tls: true);
        Assert.True(result.NewReport);
        var detail = (await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(result.Report.Ticket))!;
        Assert.Equal("rita@example.org", detail.Report.ReporterEmail);
        Assert.Equal("Rita Reporter", detail.Report.ReporterName);
        Assert.Contains("posted publicly", detail.Report.Description);
        var m = Assert.Single(detail.Messages);
        Assert.Equal("email", m.Channel);
        Assert.Equal("Compromised key for www.example.com", m.Subject);
        Assert.True(m.Tls);
        Assert.Equal("rita@example.org", m.EnvelopeFrom);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(raw)), m.Sha256);

        var ack = Assert.Single(await OutboxAsync(detail.Report.Id));
        Assert.Equal("acknowledgement", ack.Kind);
        Assert.Equal("rita@example.org", ack.Recipient);
        await DeliverAsync(ack.Id);
        var file = Assert.Single(Directory.GetFiles(_host.OutboxDirectory, "*.eml"), f => File.ReadAllText(f).Contains(result.Report.Ticket));
        var text = await File.ReadAllTextAsync(file);
        Assert.Contains($"[{result.Report.Ticket}]", text);
        Assert.Contains("Auto-Submitted: auto-replied", text);
        Assert.Contains("X-CprDesk-Loop:", text);
        Assert.Contains("/report/status/", text);
        var after = (await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(result.Report.Ticket))!;
        Assert.Equal("Acknowledged", after.Report.State.ToString());
        Assert.All(after.Summary.Deadlines, d => Assert.Null(d.MetAt)); // an acknowledgement meets no clock
    }

    [Fact]
    public async Task Replies_join_their_report_by_ticket_or_by_In_Reply_To_and_duplicates_make_no_second_report()
    {
        var first = await SendAsync(Mail("Misissued certificate", "Serial 01:02:03"));
        var ticket = first.Report.Ticket;
        var bySubject = await SendAsync(Mail($"Re: [{ticket}] Misissued certificate", "More detail."));
        Assert.False(bySubject.NewReport);
        Assert.Equal(ticket, bySubject.Report.Ticket);

        var ack = (await OutboxAsync(first.Report.Id)).Single(o => o.Kind == "acknowledgement");
        var byHeader = await SendAsync(Mail("a reply with a new subject", "See attached.", extraHeaders: $"In-Reply-To: <{ack.MessageId}>"));
        Assert.Equal(ticket, byHeader.Report.Ticket);
        Assert.False(byHeader.NewReport);

        var twice = Mail("Sent twice", "Same bytes, same Message-ID", messageId: "twice-1@example.org");
        var a = await SendAsync(twice);
        var b = await SendAsync(twice);
        Assert.True(a.NewReport);
        Assert.False(b.NewReport);
        Assert.Equal(a.Report.Ticket, b.Report.Ticket);
        await using var db = _host.Service<Database>().Open();
        Assert.Contains("duplicate", (await db.Messages.SingleAsync(m => m.Id == b.MessageId)).Flags);
        Assert.Single(await OutboxAsync(a.Report.Id)); // one acknowledgement for the two copies
    }

    [Theory]
    [InlineData("Auto-Submitted: auto-replied", "rita@example.org", "auto-submitted")]
    [InlineData("Precedence: bulk", "rita@example.org", "precedence-bulk")]
    [InlineData("List-Id: <cabforum.lists.example>", "rita@example.org", "list-id")]
    [InlineData("X-Nothing: 1", "", "null-sender")]
    [InlineData("X-Nothing: 1", "MAILER-DAEMON@example.org", "mailer-daemon")]
    public async Task Automatic_mail_still_makes_a_report_but_gets_no_acknowledgement(string header, string sender, string reason)
    {
        var from = sender.Length == 0 ? "Rita <rita@example.org>" : sender;
        var result = await SendAsync(Mail("Problem report", "Please look at this certificate.", from: from, extraHeaders: header), sender: sender);
        Assert.True(result.NewReport);
        Assert.Empty(await OutboxAsync(result.Report.Id));
        var suppressed = Assert.Single(await EventsAsync(result.Report.Ticket), e => e.Type == "acknowledgement.suppressed");
        Assert.Contains(reason, suppressed.Detail);
    }

    [Fact]
    public async Task An_auto_responder_answering_our_acknowledgement_makes_no_loop()
    {
        var first = await SendAsync(Mail("Key compromise", "Key attached"));
        var ack = Assert.Single(await OutboxAsync(first.Report.Id));
        await DeliverAsync(ack.Id);
        // The reporter's vacation responder answers our acknowledgement, quoting our loop header.
        var reply = await SendAsync(Mail($"Out of office Re: [{first.Report.Ticket}] Certificate Problem Report received", "I am away.",
            extraHeaders: ["Auto-Submitted: auto-replied", $"In-Reply-To: <{ack.MessageId}>"]));
        Assert.False(reply.NewReport);
        Assert.Single(await OutboxAsync(first.Report.Id)); // nothing sent back
        // And one that strips Auto-Submitted and the subject tag but keeps our loop header in the quoted headers still stops.
        var stripped = await SendAsync(Mail("Automatic reply", "away", extraHeaders: "X-CprDesk-Loop: cprdesk@ca.example"));
        Assert.Empty(await OutboxAsync(stripped.Report.Id));
        Assert.Contains(await EventsAsync(stripped.Report.Ticket), e => e.Type == "acknowledgement.suppressed" && e.Detail.Contains("our-loop-header"));
    }

    [Fact]
    public async Task Acknowledgements_to_one_address_are_capped_per_hour_and_each_suppression_is_audited()
    {
        var sender = $"flood{Guid.NewGuid():N}@example.org";
        for (var i = 0; i < 12; i++) await SendAsync(Mail($"report {i}", "text", from: sender), sender: sender);
        await using var db = _host.Service<Database>().Open();
        Assert.Equal(10, await db.Outbox.CountAsync(o => o.Recipient == sender && o.Kind == "acknowledgement"));
        Assert.Equal(2, await db.AuditEvents.CountAsync(e => e.Type == "acknowledgement.suppressed" && e.Detail.Contains(sender) && e.Detail.Contains("rate-limit")));
    }

    [Fact]
    public async Task A_malformed_message_still_becomes_a_report_with_its_defects_shown()
    {
        var raw = Encoding.UTF8.GetBytes("From: broken@example.org\nSubject: =?utf-8?B?bad\nContent-Type: multipart/mixed; boundary=\"zz\"\n\n--zz\nContent-Type: text/plain\n\nkey compromised\n--zz\nContent-Transfer-Encoding: base64\nContent-Type: application/octet-stream; name=k.pem\n\n!!!notbase64!!!\n");
        var result = await SendAsync(raw, sender: "broken@example.org");
        Assert.True(result.NewReport);
        var detail = (await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(result.Report.Ticket))!;
        var m = Assert.Single(detail.Messages);
        Assert.Contains("malformed", m.Flags);
        Assert.NotEmpty(m.Defects);
        Assert.Contains("key compromised", detail.Report.Description);
    }

    [Fact]
    public async Task A_refused_recipient_gets_550_and_nothing_is_stored()
    {
        await using var db0 = _host.Service<Database>().Open();
        var before = await db0.Messages.CountAsync();
        var sent = await PythonSmtp.SendAsync(_host.SmtpEndpoint, "rita@example.org", ["someone-else@ca.example"], Mail("x", "y"));
        Assert.False(sent.Ok);
        Assert.Equal(550, sent.Code);
        Assert.Equal(before, await db0.Messages.CountAsync());
    }

    [Fact]
    public async Task A_preliminary_report_goes_out_through_the_outbox_and_meets_its_clock_when_the_relay_accepts_it()
    {
        var result = await SendAsync(Mail("Key compromise", "The key is on pastebin."));
        var ticket = result.Report.Ticket;
        var desk = _host.Service<CprDesk.Reports.ReportDesk>();
        await desk.RecordPreliminaryReportAsync(ticket, "user:tester", "reporter", null, null, "We confirmed the compromise and will revoke today.", null);
        var queries = _host.Service<CprDesk.Reports.ReportQueries>();
        var queued = (await OutboxAsync(result.Report.Id)).Single(o => o.Kind == "preliminary-report");
        await DeliverAsync(queued.Id);
        var detail = (await queries.GetAsync(ticket))!;
        var clock = detail.Summary.Deadlines.Single(d => d.Name == "preliminary-report-to-reporter");
        Assert.Equal("met", clock.State);
        Assert.Equal("PreliminaryReported", detail.Report.State.ToString()); // only once the relay accepted it
        await using var db = _host.Service<Database>().Open();
        var sent = await db.Outbox.SingleAsync(o => o.Id == queued.Id);
        Assert.Equal("sent", sent.Status);
        Assert.Equal(sent.SentAt, clock.MetAt);
        Assert.Contains(await EventsAsync(ticket), e => e.Type == "mail.sent");
        Assert.Contains(await EventsAsync(ticket), e => e.Type == "deadline.met");
    }
}
