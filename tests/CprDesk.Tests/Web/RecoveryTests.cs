using System.Text;
using CprDesk.Intake;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>A message committed but never turned into a report (a crash in between) becomes a report at the next start,
/// with the clock counted from the original commit, not from the restart.</summary>
public sealed class RecoveryTests
{
    [Fact]
    public async Task A_stored_but_unprocessed_message_becomes_a_report_when_the_host_starts()
    {
        var dir = new TempDir();
        long messageId;
        DateTime storedAt;
        using (var desk = new Desk())
        {
            // Same data directory as the host below: write the raw message only, as if the process died right after.
            var database = new CprDesk.Storage.Database(dir.Path);
            await database.MigrateAsync();
            var intake = Desk.NewIntake(database, desk.Time, new CprDesk.Reports.ReportDesk(database, desk.Time, desk.Rules, desk.Outbox), desk.Outbox, desk.Mail);
            messageId = await intake.StoreRawAsync(new RawSubmission("api",
                Encoding.UTF8.GetBytes("""{"reporterEmail":"early@example.org","description":"sent just before the crash"}"""), "application/json", "127.0.0.1"));
            storedAt = desk.Now;
        }

        await using var host = await TestHost.StartAsync(dir: dir);
        await using var db = host.Service<CprDesk.Storage.Database>().Open();
        var message = await db.Messages.SingleAsync(m => m.Id == messageId);
        Assert.Equal("processed", message.Status);
        var report = await db.Reports.Include(r => r.Deadlines).SingleAsync(r => r.Id == message.ReportId);
        Assert.Equal(storedAt, report.ReceivedAt);
        Assert.All(report.Deadlines, d => Assert.Equal(storedAt.AddHours(24), d.DueAt));
    }
}
