
namespace CprDesk.Intake;

/// <summary>Retries, every minute, any stored message that has not become a report (a crash or a fault after the
/// raw commit). The stored bytes are the source of truth, so a retry is safe.</summary>
public sealed class PendingIntakeService(IntakePipeline intake, TimeProvider time, ILogger<PendingIntakeService> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Only what has waited a while and the worker does not hold: it is still on anything newer, and on
                // everything it has queued however old (a backlog longer than a minute).
                var done = await intake.ProcessPendingAsync(stoppingToken, time.GetUtcNow().UtcDateTime - Interval, leaveQueued: true);
                if (done > 0) log.LogWarning("Processed {Count} stored message(s) that had not become reports", done);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
