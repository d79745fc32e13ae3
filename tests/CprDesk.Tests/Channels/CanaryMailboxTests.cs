// The two readers of the canary sender mailbox: a Maildir on disk, and an IMAP folder on a real Dovecot
// (tests/tools/dovecot-instance.sh). Both return only what arrived since the run's window, skip what is too large to
// be an acknowledgement, change nothing in the mailbox, and report a mailbox they cannot read as CanaryMailboxException.
using System.Text;
using CprDesk.Channels;
using CprDesk.Mail.Imap;
using CprDesk.Tests.Support;

namespace CprDesk.Tests.Channels;

public sealed class CanaryMailboxTests
{
    private static byte[] Ack(string ticket, int padding = 0) => Encoding.ASCII.GetBytes(
        $"From: CprDesk <cpr-desk@ca.example>\r\nTo: canary-sender@ca.example\r\nSubject: [{ticket}] We received your report\r\n" +
        $"X-CPR-Ticket: {ticket}\r\nMessage-ID: <{ticket}@ca.example>\r\n\r\nYour report is {ticket}.\r\n{new string('x', padding)}\r\n");

    [Fact]
    public async Task The_Maildir_reader_takes_new_and_cur_since_the_window_and_skips_tmp_and_oversized_files()
    {
        using var dir = new TempDir();
        foreach (var sub in new[] { "new", "cur", "tmp" }) Directory.CreateDirectory(Path.Combine(dir.Path, sub));
        var now = DateTime.UtcNow;
        await File.WriteAllBytesAsync(Path.Combine(dir.Path, "new", "1.a.host"), Ack("CPR-2026-000001"));
        await File.WriteAllBytesAsync(Path.Combine(dir.Path, "cur", "2.b.host:2,S"), Ack("CPR-2026-000002"));
        await File.WriteAllBytesAsync(Path.Combine(dir.Path, "tmp", "3.c.host"), Ack("CPR-2026-000003")); // delivery in progress
        await File.WriteAllBytesAsync(Path.Combine(dir.Path, "new", "4.d.host"), Ack("CPR-2026-000004", (int)MaildirMailbox.MaxMessageBytes));
        var old = Path.Combine(dir.Path, "cur", "5.e.host:2,");
        await File.WriteAllBytesAsync(old, Ack("CPR-2026-000005"));
        File.SetLastWriteTimeUtc(old, now.AddDays(-2));

        var found = await new MaildirMailbox(dir.Path).ReadSinceAsync(now.AddHours(-1), CancellationToken.None);
        Assert.Equal(["CPR-2026-000001", "CPR-2026-000002"], found.Select(m => m.Ticket).Order());
        Assert.Contains(found, m => m.Id == "2.b.host" && m.Subject == "[CPR-2026-000002] We received your report");
        Assert.True(File.Exists(Path.Combine(dir.Path, "new", "1.a.host"))); // read-only: left where it was

        var gone = await Assert.ThrowsAsync<CanaryMailboxException>(() => new MaildirMailbox(Path.Combine(dir.Path, "nope")).ReadSinceAsync(now, CancellationToken.None));
        Assert.Contains("does not exist", gone.Message);
    }

    [Fact]
    public async Task The_IMAP_reader_takes_what_arrived_since_the_window_by_INTERNALDATE_and_marks_nothing()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var variable = "CPRDESK_TEST_CANARY_MB_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(variable, dovecot.Password);
        try
        {
            var now = DateTimeOffset.UtcNow;
            await dovecot.AppendAsync("INBOX", Ack("CPR-2026-000010"), now.AddDays(-3)); // before the window
            await dovecot.AppendAsync("INBOX", Ack("CPR-2026-000011"), now.AddHours(-3)); // found by SEARCH SINCE (a day early), dropped by its time
            var fresh = await dovecot.AppendAsync("INBOX", Ack("CPR-2026-000012"), now.AddMinutes(-5));
            await dovecot.AppendAsync("INBOX", Ack("CPR-2026-000013", 4096), now.AddMinutes(-4)); // too large for this reader
            await dovecot.AppendAsync("INBOX", Ack("CPR-2026-000014"), now.AddMinutes(-3));
            await dovecot.AppendAsync("Junk", Ack("CPR-2026-000015"), now.AddMinutes(-3)); // another folder

            var settings = new CanaryImapSettings
            {
                Host = "127.0.0.1", Port = dovecot.Port, Tls = ImapTls.StartTls, CertificateFingerprints = dovecot.CertificateSha256, User = dovecot.User,
                PasswordEnv = variable, TimeoutSeconds = 20, MaxMessageBytes = 2048,
            };
            using var temp = new TempDir();
            var mailbox = new ImapCanaryMailbox(settings, temp.Path);
            var found = await mailbox.ReadSinceAsync(now.AddHours(-1).UtcDateTime, CancellationToken.None);
            Assert.Equal(["CPR-2026-000012", "CPR-2026-000014"], found.Select(m => m.Ticket));
            var first = found[0];
            Assert.EndsWith($":{fresh}", first.Id);
            Assert.Equal(now.AddMinutes(-5).UtcDateTime, first.ReceivedAt, TimeSpan.FromSeconds(1)); // INTERNALDATE
            Assert.Equal("cpr-desk@ca.example", first.From);

            // Bounded: only the newest MaxMessages are fetched.
            settings.MaxMessages = 1;
            var newest = await new ImapCanaryMailbox(settings, temp.Path).ReadSinceAsync(now.AddHours(-1).UtcDateTime, CancellationToken.None);
            Assert.Equal(["CPR-2026-000014"], newest.Select(m => m.Ticket));

            // Read-only: Dovecot still has every message unseen.
            var unseen = await DoveadmAsync(dovecot, "mailbox", "status", "-u", dovecot.User, "unseen", "INBOX");
            Assert.Equal("INBOX unseen=5", unseen.Trim());

            // A wrong password and a dead port are the mailbox's failure, said as such.
            Environment.SetEnvironmentVariable(variable, "wrong");
            var refused = await Assert.ThrowsAsync<CanaryMailboxException>(() => mailbox.ReadSinceAsync(now.UtcDateTime, CancellationToken.None));
            Assert.Contains("AUTHENTICATE", refused.Message);
            settings.Port = ServeProcess.FreePort();
            var dead = await Assert.ThrowsAsync<CanaryMailboxException>(() => new ImapCanaryMailbox(settings, temp.Path).ReadSinceAsync(now.UtcDateTime, CancellationToken.None));
            Assert.Contains("Could not connect", dead.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private static async Task<string> DoveadmAsync(Dovecot dovecot, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("doveadm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Path.Combine(dovecot.Dir, "dovecot.conf"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, await stderr);
        return await stdout;
    }
}
