// The write-ahead log is copied into the database file by WalCheckpointService, beside the writers, rather than inside
// a commit; connections checkpoint themselves only past a large backstop.
using CprDesk.Intake;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Storage;

public sealed class WalCheckpointTests
{
    [Fact]
    public void No_WAL_index_reads_as_unknown()
    {
        using var dir = new TempDir();
        Assert.Null(WalCheckpointService.ReadWalIndex(Path.Combine(dir.Path, "none.db")));
        File.WriteAllBytes(Path.Combine(dir.Path, "zero.db-shm"), new byte[32768]); // not initialised
        Assert.Null(WalCheckpointService.ReadWalIndex(Path.Combine(dir.Path, "zero.db")));
    }

    [Fact]
    public async Task Connections_leave_checkpoints_to_the_service_below_the_backstop()
    {
        using var dir = new TempDir();
        await using var database = new Database(dir.Path);
        await database.MigrateAsync();
        await using var db = database.Open();
        await db.Database.OpenConnectionAsync();
        var pages = await db.Database.SqlQueryRaw<long>("PRAGMA wal_autocheckpoint").ToListAsync();
        Assert.Equal(Database.AutoCheckpointPages, Assert.Single(pages));
    }

    [Fact]
    public async Task Stored_messages_reach_the_database_file_once_intake_is_quiet()
    {
        await using var host = await TestHost.StartAsync();
        var database = host.Service<Database>();
        var service = host.Service<WalCheckpointService>();
        var before = new FileInfo(database.DatabasePath).Length;
        var intake = host.Service<IntakePipeline>();
        var body = new byte[64 * 1024];
        for (var i = 0; i < 20; i++)
        {
            Random.Shared.NextBytes(body); // distinct blobs: none is stored twice
            await intake.StoreRawAsync(new RawSubmission("api", (byte[])body.Clone(), "application/octet-stream", "127.0.0.1"));
        }
        // The service reads how much is waiting from the WAL index: at least these 20 x 16 pages of message bytes.
        var waiting = WalCheckpointService.ReadWalIndex(database.DatabasePath);
        Assert.NotNull(waiting);
        Assert.True(waiting.Value.MaxFrame >= 20 * 16, $"{waiting.Value.MaxFrame} frames in the log");
        // 1.3 MB in the log is far below any connection's own checkpoint (Database.AutoCheckpointPages): only the
        // service moves it into the database file. Wait for its signal, not for time.
        var copied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnRan()
        {
            if (new FileInfo(database.DatabasePath).Length >= before + 20 * body.Length) copied.TrySetResult();
        }
        service.Ran += OnRan;
        try
        {
            OnRan();
            await copied.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            service.Ran -= OnRan;
        }
        Assert.True(service.Checkpoints > 0);
        Assert.True(WalCheckpointService.ReadWalIndex(database.DatabasePath)!.Value.Backfilled > 0);
        var (log, done) = await database.CheckpointAsync();
        Assert.True(done > 0 && done <= log, $"log {log}, checkpointed {done}");
    }
}
