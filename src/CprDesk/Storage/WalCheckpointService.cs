// Keeps SQLite's write-ahead log short without making a commit pay for it. An automatic checkpoint runs inside the
// commit of whichever connection passes the threshold, while it holds the single writer's turn; copying megabytes into
// the database file and syncing it there held back every SMTP reply waiting on the next commit. Here it runs beside
// the writers instead (PASSIVE: it neither waits for nor blocks them), on its own connection.
//
// When: a checkpoint's writes into the database file are flushed by the next commit's sync as well (ext4 orders a
// growing file's data before the journal commit), so one in the middle of an intake burst stalled the replies for up
// to 0.7 s. While intake commits it therefore waits until intake is quiet, unless the log already holds
// BusyHighWaterFrames pages not yet copied: a burst is absorbed, a flood still checkpoints every 256 MiB. How much is
// waiting comes from the WAL-index header in the -shm file (mxFrame and nBackfill; https://sqlite.org/walformat.html);
// if that cannot be read, it falls back to checkpointing at least every MaxDeferral. Connections still checkpoint
// themselves past Database.AutoCheckpointPages, a backstop.
using System.Buffers.Binary;

namespace CprDesk.Storage;

public sealed class WalCheckpointService(Database database, ILogger<WalCheckpointService> log) : BackgroundService
{
    /// <summary>How often the log is looked at.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Pages waiting to be copied (256 MiB at 4 KiB) past which a checkpoint runs even while intake is busy.</summary>
    public const long BusyHighWaterFrames = 65536;

    /// <summary>Without a readable WAL index: at least this often, busy or not.</summary>
    public static readonly TimeSpan MaxDeferral = TimeSpan.FromSeconds(3);

    /// <summary>After this long without intake, a log file larger than <see cref="WalFileLimitBytes"/> is cut back
    /// (a TRUNCATE checkpoint; the file otherwise keeps the size of the largest burst, and cutting it on a commit,
    /// as SQLite's journal_size_limit does, stalled that commit).</summary>
    public static readonly TimeSpan QuietBeforeTruncate = TimeSpan.FromSeconds(30);

    public const long WalFileLimitBytes = 64L << 20;

    /// <summary>Checkpoints that found pages to copy, since start (for tests and diagnostics).</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);
    private long _checkpoints;

    /// <summary>Signalled after each look at the log (for tests).</summary>
    public event Action? Ran;

    /// <summary>Frames in the log and frames already copied into the database file, from the WAL-index header in
    /// <c>cprdesk.db-shm</c> (native byte order; version 3007000); null when there is none or it is not one we know.
    /// Read without SQLite's locks, so it may be a moment stale or torn: it only decides when to checkpoint.</summary>
    public static (long MaxFrame, long Backfilled)? ReadWalIndex(string databasePath)
    {
        try
        {
            var header = new byte[100];
            using var shm = new FileStream(databasePath + "-shm", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            if (shm.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) return null;
            var native = BitConverter.IsLittleEndian;
            uint U32(int at) => native ? BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(at));
            if (U32(0) != 3007000 || header[12] != 1) return null; // iVersion, isInit
            long maxFrame = U32(16), backfilled = U32(96); // WalIndexHdr.mxFrame, WalCkptInfo.nBackfill
            return backfilled <= maxFrame ? (maxFrame, backfilled) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastRun = System.Diagnostics.Stopwatch.GetTimestamp();
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var busy = database.IntakeBusy;
                var run = ReadWalIndex(database.DatabasePath) is { } wal
                    ? wal.MaxFrame > wal.Backfilled && (!busy || wal.MaxFrame - wal.Backfilled >= BusyHighWaterFrames)
                    : !busy || System.Diagnostics.Stopwatch.GetElapsedTime(lastRun) >= MaxDeferral;
                if (!run && (database.SinceLastDirectCommit is not { } since || since >= QuietBeforeTruncate))
                {
                    var file = new FileInfo(database.DatabasePath + "-wal");
                    if (file.Exists && file.Length > WalFileLimitBytes)
                    {
                        // Without a busy handler on this connection a reader in the way makes it return at once (and try again).
                        await database.CheckpointAsync(stoppingToken, truncate: true);
                        file.Refresh();
                        if (!file.Exists || file.Length <= WalFileLimitBytes)
                            log.LogInformation("WAL file cut back after {Seconds} s without intake", QuietBeforeTruncate.TotalSeconds);
                    }
                }
                if (run)
                {
                    lastRun = System.Diagnostics.Stopwatch.GetTimestamp();
                    var (logPages, done) = await database.CheckpointAsync(stoppingToken);
                    if (logPages > 0 && done > 0) Interlocked.Increment(ref _checkpoints);
                }
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
                if (!failing) log.LogWarning(ex, "A WAL checkpoint failed; retrying");
                failing = true;
            }
            Ran?.Invoke();
            // Real time on purpose: this paces disk maintenance, it is not a domain clock (a test's fake clock must not stop it).
            try { await Task.Delay(Interval, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
