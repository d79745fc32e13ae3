// Keeps SQLite's write-ahead log short without making a commit pay for it. An automatic checkpoint runs inside the
// commit of whichever connection passes the threshold, while it holds the single writer's turn; copying megabytes into
// the database file and syncing it there held back every SMTP reply waiting on the next commit. Here it runs beside
// the writers instead (PASSIVE: it neither waits for nor blocks them): every 100 ms while the log grows, every second
// while it does not. A checkpoint's writes into the database file are flushed by the next commit's sync (ext4 orders
// them), so while intake commits it waits for a quiet moment, at most MaxDeferral. Connections still checkpoint
// themselves past Database.AutoCheckpointPages, a backstop.
namespace CprDesk.Storage;

public sealed class WalCheckpointService(Database database, ILogger<WalCheckpointService> log) : BackgroundService
{
    /// <summary>How soon the next checkpoint runs after one that found pages to copy.</summary>
    public static readonly TimeSpan Busy = TimeSpan.FromMilliseconds(100);

    /// <summary>…and after one that found none.</summary>
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);

    /// <summary>While intake commits (one within this window), checkpoints wait…</summary>
    public static readonly TimeSpan IntakeQuiet = TimeSpan.FromMilliseconds(200);

    /// <summary>…but never longer than this since the last one.</summary>
    public static readonly TimeSpan MaxDeferral = TimeSpan.FromSeconds(5);

    /// <summary>Checkpoints that copied pages, since start (for tests and diagnostics).</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);
    private long _checkpoints;

    /// <summary>Signalled after each checkpoint attempt (for tests).</summary>
    public event Action? Ran;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long lastLog = -1;
        var lastRun = System.Diagnostics.Stopwatch.GetTimestamp();
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Idle;
            try
            {
                // During an intake burst its writes would sit in front of every 250 (see above): wait, within limits.
                if (database.SinceLastDirectCommit < IntakeQuiet && System.Diagnostics.Stopwatch.GetElapsedTime(lastRun) < MaxDeferral)
                {
                    await Task.Delay(Busy, stoppingToken);
                    continue;
                }
                lastRun = System.Diagnostics.Stopwatch.GetTimestamp();
                var (logPages, done) = await database.CheckpointAsync(stoppingToken);
                // The log restarts from the beginning once a checkpoint caught up and a writer begins again, so "grew"
                // means the page count changed since the last look.
                if (logPages != lastLog)
                {
                    wait = Busy;
                    if (done > 0) Interlocked.Increment(ref _checkpoints);
                }
                lastLog = logPages;
                if (failing) log.LogInformation("WAL checkpoints work again");
                failing = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Connections that commit still checkpoint past the backstop (Database.AutoCheckpointPages).
                if (!failing) log.LogWarning(ex, "A WAL checkpoint failed; retrying every {Seconds} s", Idle.TotalSeconds);
                failing = true;
            }
            Ran?.Invoke();
            // Real time on purpose: this paces disk maintenance, it is not a domain clock (a test's fake clock must not stop it).
            try { await Task.Delay(wait, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
