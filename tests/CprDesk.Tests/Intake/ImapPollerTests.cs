using System.Text;
using CprDesk.Intake;
using CprDesk.Intake.Imap;
using CprDesk.Mail.Imap;
using CprDesk.Reports;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Intake;

/// <summary>The mailbox poller against a real Dovecot (tests/tools/dovecot-instance.sh) and against hostile servers.</summary>
public sealed class ImapPollerTests : IAsyncLifetime
{
    private readonly Desk _desk = new();
    private Dovecot _dovecot = null!;
    private readonly string _passwordVariable = "CPRDESK_TEST_IMAP_" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        _dovecot = await Dovecot.StartAsync();
        Environment.SetEnvironmentVariable(_passwordVariable, _dovecot.Password);
        // An admin with an address, to be told of alarms.
        await new CprDesk.Access.Accounts(_desk.Database, _desk.Time).CreateAsync("test", "admin1", StaffRole.Admin, "admin1@ca.example", "Admin One");
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_passwordVariable, null);
        await _dovecot.DisposeAsync();
        _desk.Dispose();
    }

    private MailboxSettings Settings(Action<MailboxSettings>? change = null)
    {
        var s = new MailboxSettings
        {
            Name = "cpr-hosted", Host = "127.0.0.1", Port = _dovecot.TlsPort, Tls = ImapTls.Implicit, User = _dovecot.User,
            PasswordEnv = _passwordVariable, CertificateFingerprints = _dovecot.CertificateSha256, TimeoutSeconds = 20,
        };
        change?.Invoke(s);
        return s;
    }

    private MailboxPoller Poller(MailboxSettings? settings = null) =>
        new(settings ?? Settings(), _desk.Database, _desk.Intake, _desk.Outbox, _desk.Time, NullLogger<MailboxPoller>.Instance);

    private static byte[] Mail(string id, string subject, int padding = 0) => Encoding.ASCII.GetBytes(
        $"From: Reporter {id} <{id}@example.org>\r\nTo: cpr@ca.example\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.org>\r\n" +
        $"Date: Wed, 04 Mar 2026 10:00:00 +0000\r\n\r\nThe private key of our certificate was published.\r\n{new string('x', padding)}\r\n");

    /// <summary>Runs one cycle and then processes what it stored, so reports exist when it returns.</summary>
    private async Task<MailboxCycle> CycleAsync(MailboxPoller poller)
    {
        var cycle = await poller.RunOnceAsync();
        await _desk.Intake.ProcessPendingAsync(CancellationToken.None);
        return cycle;
    }

    private async Task<List<InboundMessage>> MessagesAsync()
    {
        await using var db = _desk.Database.Open();
        return await db.Messages.AsNoTracking().OrderBy(m => m.Id).ToListAsync();
    }

    private async Task<List<string>> AuditTypesAsync()
    {
        await using var db = _desk.Database.Open();
        return await db.AuditEvents.OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync();
    }

    private async Task<List<OutboxMessage>> AdminMailAsync()
    {
        await using var db = _desk.Database.Open();
        return await db.Outbox.Where(o => o.Recipient == "admin1@ca.example").OrderBy(o => o.Id).ToListAsync();
    }

    [Fact]
    public async Task Messages_in_every_folder_become_reports_whose_clocks_start_at_INTERNALDATE_and_junk_is_flagged()
    {
        var twoDaysAgo = _desk.Time.GetUtcNow().AddDays(-2).AddMinutes(-17);
        var inboxOld = twoDaysAgo.AddHours(3);
        await _dovecot.AppendAsync("INBOX", Mail("inbox-1", "Key compromise (inbox)"), inboxOld);
        await _dovecot.AppendAsync("Junk", Mail("junk-1", "Key compromise (filtered as spam)"), twoDaysAgo);
        await _dovecot.AppendAsync("Archive/Quarantäne", Mail("quarantine-1", "Misissued certificate"), twoDaysAgo.AddHours(1));

        var cycle = await CycleAsync(Poller());

        Assert.True(cycle.Succeeded, cycle.Error);
        Assert.Equal(3, cycle.Stored);
        Assert.Empty(cycle.Missing);
        var messages = await MessagesAsync();
        Assert.Equal(3, messages.Count);
        Assert.All(messages, m => Assert.Equal(IntakePipeline.ImapChannel, m.Channel));
        Assert.All(messages, m => Assert.Equal("processed", m.Status));
        var junk = messages.Single(m => m.MessageId == "junk-1@example.org");
        Assert.Contains(MailboxPoller.FoundInJunk, junk.Flags.Split(' '));
        Assert.DoesNotContain(MailboxPoller.FoundInJunk, messages.Single(m => m.MessageId == "inbox-1@example.org").Flags.Split(' '));

        // The report's clocks run from the server's INTERNALDATE, two days ago, not from the poll.
        var junkReport = await _desk.Queries.GetAsync((await ReportOfAsync(junk.Id)).Ticket);
        Assert.Equal(twoDaysAgo.UtcDateTime, junkReport!.Summary.ReceivedAt);
        var clock = junkReport.Summary.Deadlines.Single(d => d.Name == CprDesk.Deadlines.ClockNames.PreliminaryReportToReporter);
        Assert.Equal(twoDaysAgo.UtcDateTime.AddHours(24), clock.DueAt);
        Assert.Contains(MailboxPoller.FoundInJunk, junkReport.Messages.Single().Flags);
        var inboxReport = await ReportOfAsync(messages.Single(m => m.MessageId == "inbox-1@example.org").Id);
        Assert.Equal(inboxOld.UtcDateTime, inboxReport.ReceivedAt);
        Assert.Equal("imap", inboxReport.Messages.Single().Channel);

        // Read-only: nothing was marked \Seen on the server.
        await using var client = await ImapClient.ConnectAsync(Settings().ClientOptions(Path.GetTempPath()));
        await client.AuthenticateAsync(_dovecot.User, _dovecot.Password);
        foreach (var folder in new[] { "INBOX", "Junk" })
        {
            await client.ExamineAsync(folder);
            using var m = await client.FetchAsync(1);
            Assert.NotNull(m);
            Assert.DoesNotContain(@"\Seen", m!.Flags);
        }

        // The folders are recorded with their counts, and the junk folder is known as such.
        await using var db = _desk.Database.Open();
        var folders = await db.MailboxFolders.OrderBy(f => f.Name).ToListAsync();
        Assert.Equal(["Archive", "Archive/Quarantäne", "INBOX", "Junk"], folders.Select(f => f.Name));
        Assert.True(folders.Single(f => f.Name == "Junk").IsJunk);
        Assert.Equal(1, folders.Single(f => f.Name == "Junk").ServerCount);
        Assert.Contains("imap.message-stored", await AuditTypesAsync());
        var box = await db.Mailboxes.SingleAsync();
        Assert.Equal(_desk.Now, box.LastSuccessAt);
        Assert.Equal(inboxOld.UtcDateTime, box.LastMessageAt);
    }

    private async Task<Report> ReportOfAsync(long messageId)
    {
        await using var db = _desk.Database.Open();
        var m = await db.Messages.SingleAsync(x => x.Id == messageId);
        return await db.Reports.Include(r => r.Messages).SingleAsync(r => r.Id == m.ReportId);
    }

    [Fact]
    public async Task A_restarted_poller_creates_no_duplicates_and_a_message_deleted_on_the_server_stays_stored()
    {
        var uid = await _dovecot.AppendAsync("INBOX", Mail("restart-1", "First"));
        await _dovecot.AppendAsync("Junk", Mail("restart-2", "Second"));
        Assert.Equal(2, (await CycleAsync(Poller())).Stored);

        // A new poller over the same database (a restart), and one new message.
        await _dovecot.AppendAsync("INBOX", Mail("restart-3", "Third"));
        var again = await CycleAsync(Poller());
        Assert.True(again.Succeeded, again.Error);
        Assert.Equal(1, again.Stored);
        Assert.Equal(0, again.Linked);
        var third = await CycleAsync(Poller());
        Assert.Equal(0, third.Stored + third.Linked);
        var messages = await MessagesAsync();
        Assert.Equal(3, messages.Count);
        await using (var db = _desk.Database.Open())
            Assert.Equal(3, await db.Reports.CountAsync());

        // Deleted on the server after we fetched it: still stored, its report intact, and no alarm.
        await _dovecot.ExpungeAsync("INBOX", uid);
        var after = await CycleAsync(Poller());
        Assert.True(after.Succeeded, after.Error);
        Assert.Empty(after.Missing);
        Assert.Equal(3, (await MessagesAsync()).Count);
        Assert.Equal("processed", (await MessagesAsync()).Single(m => m.MessageId == "restart-1@example.org").Status);
        Assert.DoesNotContain("imap.missing", await AuditTypesAsync());
        await using (var db = _desk.Database.Open())
            Assert.Equal(1, (await db.MailboxFolders.SingleAsync(f => f.Name == "INBOX")).ServerCount);
    }

    [Fact]
    public async Task A_new_UIDVALIDITY_refetches_the_folder_without_duplicating_anything()
    {
        await _dovecot.AppendAsync("Junk", Mail("validity-1", "One"));
        await _dovecot.AppendAsync("Junk", Mail("validity-2", "Two"));
        Assert.Equal(2, (await CycleAsync(Poller())).Stored);
        long oldValidity;
        await using (var db = _desk.Database.Open())
            oldValidity = (await db.MailboxFolders.SingleAsync(f => f.Name == "Junk")).UidValidity!.Value;

        await _dovecot.SetUidValidityAsync("Junk", (uint)(oldValidity + 1000));
        await _dovecot.AppendAsync("Junk", Mail("validity-3", "Three"));
        var cycle = await CycleAsync(Poller());

        Assert.True(cycle.Succeeded, cycle.Error);
        Assert.Equal(1, cycle.Stored);   // only the new message is new
        Assert.Equal(2, cycle.Linked);   // the two known ones are matched by content
        Assert.Empty(cycle.Missing);
        Assert.Equal(3, (await MessagesAsync()).Count);
        await using var check = _desk.Database.Open();
        Assert.Equal(3, await check.Reports.CountAsync());
        var folder = await check.MailboxFolders.SingleAsync(f => f.Name == "Junk");
        Assert.Equal(oldValidity + 1000, folder.UidValidity);
        Assert.Equal(3, await check.MailboxStoredUids.CountAsync(u => u.FolderId == folder.Id && u.UidValidity == oldValidity + 1000));
        Assert.Contains("imap.uidvalidity-changed", await AuditTypesAsync());
    }

    [Fact]
    public async Task A_message_the_poller_could_not_store_is_reported_by_reconciliation_once()
    {
        await _dovecot.AppendAsync("INBOX", Mail("small-1", "Small"));
        await _dovecot.AppendAsync("Junk", Mail("large-1", "Too large for this mailbox's limit", padding: 6000));
        var poller = Poller(Settings(s => s.MaxMessageBytes = 4000));

        var cycle = await CycleAsync(poller);

        Assert.True(cycle.Succeeded, cycle.Error);
        Assert.Equal(1, cycle.Stored);
        var missing = Assert.Single(cycle.Missing);
        Assert.Equal("Junk", missing.Folder);
        Assert.Contains("MaxMessageBytes", missing.Reason);
        Assert.Single(await MessagesAsync());
        Assert.Contains("imap.missing", await AuditTypesAsync());
        var mail = Assert.Single(await AdminMailAsync());
        Assert.Contains("not stored", mail.Subject);

        // The alarm is raised once, not every cycle, while the message stays missing.
        _desk.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await CycleAsync(poller);
        Assert.Single(second.Missing);
        Assert.Single(await AdminMailAsync());
        Assert.Single(await AuditTypesAsync(), t => t == "imap.missing");

        // Raising the limit lets it in; the missing entry is resolved.
        var fixedPoller = Poller(Settings());
        var third = await CycleAsync(fixedPoller);
        Assert.Equal(1, third.Stored);
        Assert.Empty(third.Missing);
        Assert.Contains("imap.missing-resolved", await AuditTypesAsync());
        Assert.Contains(MailboxPoller.FoundInJunk, (await MessagesAsync()).Single(m => m.MessageId == "large-1@example.org").Flags);
    }

    [Fact]
    public async Task STARTTLS_with_a_pinned_certificate_works_and_an_unpinned_self_signed_certificate_is_refused()
    {
        await _dovecot.AppendAsync("INBOX", Mail("tls-1", "Over STARTTLS"));
        var ok = await CycleAsync(Poller(Settings(s => { s.Port = _dovecot.Port; s.Tls = ImapTls.StartTls; })));
        Assert.True(ok.Succeeded, ok.Error);
        Assert.Equal(1, ok.Stored);
        Assert.True((await MessagesAsync()).Single().Tls);

        var refused = await Poller(Settings(s => { s.Name = "unpinned"; s.CertificateFingerprints = null; })).RunOnceAsync();
        Assert.False(refused.Succeeded);
        Assert.Contains("connect", refused.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_wrong_password_or_a_missing_secret_is_a_recorded_failure_not_a_crash()
    {
        var file = Path.Combine(_dovecot.Dir, "wrong-password");
        await File.WriteAllTextAsync(file, "not-the-password\n");
        var wrong = await Poller(Settings(s => { s.PasswordEnv = null; s.PasswordFile = file; })).RunOnceAsync();
        Assert.False(wrong.Succeeded);
        Assert.Contains("AUTHENTICATE", wrong.Error);

        var unset = await Poller(Settings(s => { s.Name = "other"; s.PasswordEnv = "CPRDESK_TEST_UNSET_" + Guid.NewGuid().ToString("N"); })).RunOnceAsync();
        Assert.False(unset.Succeeded);
        Assert.Contains("is not set", unset.Error);
        await using var db = _desk.Database.Open();
        Assert.Contains("is not set", (await db.Mailboxes.SingleAsync(m => m.Name == "other")).LastError);
    }
}

/// <summary>The poller against servers that misbehave: it times out, retries, raises the alarm after ten minutes
/// of failure, and never records a message as stored unless it is.</summary>
public sealed class ImapPollerHostileServerTests : IAsyncLifetime
{
    private readonly Desk _desk = new();
    private readonly string _passwordVariable = "CPRDESK_TEST_IMAP_" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        Environment.SetEnvironmentVariable(_passwordVariable, "secret");
        await new CprDesk.Access.Accounts(_desk.Database, _desk.Time).CreateAsync("test", "admin1", StaffRole.Admin, "admin1@ca.example", "Admin One");
    }

    public Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_passwordVariable, null);
        _desk.Dispose();
        return Task.CompletedTask;
    }

    private MailboxPoller Poller(int port) => new(new MailboxSettings
    {
        Name = "hostile", Host = "127.0.0.1", Port = port, Tls = ImapTls.None, User = "cpr", PasswordEnv = _passwordVariable, TimeoutSeconds = 1,
    }, _desk.Database, _desk.Intake, _desk.Outbox, _desk.Time, NullLogger<MailboxPoller>.Instance);

    private async Task<(int Messages, int StoredUids, List<string> Audit, int AdminMail)> StateAsync()
    {
        await using var db = _desk.Database.Open();
        return (await db.Messages.CountAsync(), await db.MailboxStoredUids.CountAsync(),
            await db.AuditEvents.OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync(),
            await db.Outbox.CountAsync(o => o.Recipient == "admin1@ca.example"));
    }

    [Theory]
    [InlineData(HostileImapServer.Fault.DropMidLiteral)]
    [InlineData(HostileImapServer.Fault.Garbage)]
    [InlineData(HostileImapServer.Fault.StallAfterLogin)]
    public async Task A_misbehaving_server_fails_the_cycle_cleanly_and_raises_the_alarm_after_ten_minutes(HostileImapServer.Fault fault)
    {
        await using var server = new HostileImapServer(fault);
        var poller = Poller(server.Port);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var first = await poller.RunOnceAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"the cycle took {started.Elapsed}");
        Assert.False(first.Succeeded);
        Assert.False(first.FailureAlarm);
        var state = await StateAsync();
        Assert.Equal(0, state.Messages);
        Assert.Equal(0, state.StoredUids);
        Assert.Contains("imap.poller-failed", state.Audit);
        Assert.Equal(0, state.AdminMail);

        // Retries keep failing; nine minutes in there is still no alarm, at ten there is — once.
        _desk.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.False((await poller.RunOnceAsync()).FailureAlarm);
        _desk.Time.Advance(TimeSpan.FromMinutes(1));
        var alarmed = await poller.RunOnceAsync();
        Assert.True(alarmed.FailureAlarm);
        _desk.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.False((await poller.RunOnceAsync()).FailureAlarm);
        state = await StateAsync();
        Assert.Equal(0, state.StoredUids);
        Assert.Equal(0, state.Messages);
        Assert.Single(state.Audit, t => t == "imap.poller-alarm");
        Assert.Equal(1, state.AdminMail);
        Assert.True(server.Connections >= 4);
        await using (var db = _desk.Database.Open())
        {
            var box = await db.Mailboxes.SingleAsync();
            Assert.Null(box.LastSuccessAt);
            Assert.Equal(Desk.Start.UtcDateTime, box.FailingSince);
            Assert.False(string.IsNullOrEmpty(box.LastError));
        }

        // The server mends: both messages are stored (the second, same bytes, is linked), and the mailbox recovers.
        server.Mode = HostileImapServer.Fault.None;
        var mended = await poller.RunOnceAsync();
        Assert.True(mended.Succeeded, mended.Error);
        Assert.Equal(1, mended.Stored);
        Assert.Equal(1, mended.Linked);
        state = await StateAsync();
        Assert.Equal(1, state.Messages);
        Assert.Equal(2, state.StoredUids);
        Assert.Contains("imap.poller-recovered", state.Audit);
        await using (var db = _desk.Database.Open())
        {
            Assert.Equal(new DateTime(2026, 3, 4, 10, 0, 0, DateTimeKind.Utc), (await db.Messages.SingleAsync()).ReceivedAt);
            Assert.Null((await db.Mailboxes.SingleAsync()).FailingSince);
        }
    }
}
