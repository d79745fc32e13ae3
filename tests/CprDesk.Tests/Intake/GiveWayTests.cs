// While mail keeps arriving, turning stored mail into reports gives way to intake (CprDesk:Mail:ProcessingShareWhileReceiving)
// but never stops; once intake is quiet every stored message becomes a report. Bad settings stop start-up.
using System.Text;
using CprDesk.Intake;
using CprDesk.Tests.Support;
using CprDesk.Web;

namespace CprDesk.Tests.Intake;

public sealed class GiveWayTests
{
    private static RawSubmission Mail(int i) => new(IntakePipeline.EmailChannel, Encoding.UTF8.GetBytes(
        $"From: flood-{i}@example.org\r\nTo: cpr@ca.example\r\nSubject: Report {i}\r\nMessage-ID: <give-way-{i}@example.org>\r\n\r\nKey compromise, number {i}.\r\n"),
        "message/rfc822", "127.0.0.1") { EnvelopeFrom = $"flood-{i}@example.org", EnvelopeTo = ["cpr@ca.example"] };

    /// <summary>Stores one message every 50 ms (well inside Database.IntakeBusyWindow, so intake counts as busy
    /// throughout; the pace is the load's shape, not a wait) until <paramref name="processedWhileStoring"/> reports
    /// were made during the stream or a minute passed; then waits, on the pipeline's signal, until every stored
    /// message is a report.</summary>
    private static async Task<(int Stored, int ProcessedWhileStoring)> StreamAsync(TestHost host, int processedWhileStoring)
    {
        var intake = host.Service<IntakePipeline>();
        var processed = 0;
        var storing = true;
        var whileStoring = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stored = -1;
        void OnProcessed(IntakeResult r)
        {
            if (Volatile.Read(ref storing)) Interlocked.Increment(ref whileStoring);
            if (Interlocked.Increment(ref processed) == Volatile.Read(ref stored)) all.TrySetResult();
        }
        intake.Processed += OnProcessed;
        try
        {
            var until = DateTime.UtcNow.AddSeconds(60);
            var i = 0;
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            while (Volatile.Read(ref whileStoring) < processedWhileStoring && DateTime.UtcNow < until && await pace.WaitForNextTickAsync())
                intake.EnqueueProcessing(await intake.StoreRawAsync(Mail(i++)));
            Volatile.Write(ref storing, false);
            Volatile.Write(ref stored, i);
            if (Volatile.Read(ref processed) >= i) all.TrySetResult();
            await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return (i, Volatile.Read(ref whileStoring));
        }
        finally
        {
            intake.Processed -= OnProcessed;
        }
    }

    [Fact]
    public async Task Processing_gives_way_while_mail_arrives_but_keeps_going_and_catches_up_after()
    {
        await using var host = await TestHost.StartAsync(extra: new Dictionary<string, string?> { ["CprDesk:Mail:ProcessingShareWhileReceiving"] = "0.1" });
        var (stored, whileStoring) = await StreamAsync(host, processedWhileStoring: 10);
        Assert.True(whileStoring >= 10, $"only {whileStoring} of {stored} became reports while mail kept arriving");
        Assert.True(host.Service<IntakePipeline>().PausesForIntake > 0); // it gave way, and still went on
    }

    [Fact]
    public async Task A_share_of_one_never_gives_way()
    {
        await using var host = await TestHost.StartAsync(extra: new Dictionary<string, string?> { ["CprDesk:Mail:ProcessingShareWhileReceiving"] = "1" });
        await StreamAsync(host, processedWhileStoring: 10);
        Assert.Equal(0, host.Service<IntakePipeline>().PausesForIntake);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0.01")]
    [InlineData("1.5")]
    [InlineData("NaN")]
    public void A_share_out_of_range_stops_start_up_with_the_key_named(string share)
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<InvalidOperationException>(() => AppHost.Build([], new Dictionary<string, string?>
        {
            ["CprDesk:DataDirectory"] = dir.Path,
            ["CprDesk:Mail:ProcessingShareWhileReceiving"] = share,
        }));
        Assert.Contains("CprDesk:Mail:ProcessingShareWhileReceiving", ex.Message);
    }
}
