// Where data lives and how it is opened: the data directory, the SQLite file in WAL mode, schema
// migrations, and the single write path (one writer at a time, each write one transaction).
using System.Data.Common;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CprDesk.Storage;

public sealed class Database : IAsyncDisposable
{
    private readonly WriteGate _writeGate = new();
    private DirectConnection? _direct;

    public Database(string dataDirectory)
    {
        DataDirectory = Path.GetFullPath(dataDirectory);
        DatabasePath = Path.Combine(DataDirectory, "cprdesk.db");
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Options = new DbContextOptionsBuilder<CprDeskDb>()
            .UseSqlite(ConnectionString)
            .AddInterceptors(new DurabilityInterceptor())
            .Options;
    }

    private static readonly AsyncLocal<bool> InteractiveScope = new();

    /// <summary>Marks the writes of the current flow (an HTTP request) as ones a person is waiting on: they queue
    /// behind waiting intake commits but do not hold back for an intake burst like background work does
    /// (see <see cref="WriteGate"/>).</summary>
    public static IDisposable Interactive()
    {
        var before = InteractiveScope.Value;
        InteractiveScope.Value = true;
        return new Restore(() => InteractiveScope.Value = before);
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    public string DataDirectory { get; }
    public string DatabasePath { get; }
    public string ConnectionString { get; }
    public DbContextOptions<CprDeskDb> Options { get; }
    public string Provider => "sqlite";

    public CprDeskDb Open() => new(Options);

    /// <summary>Creates the data directory and applies pending migrations. Returns the versions applied.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct = default)
    {
        if (!Directory.Exists(DataDirectory))
        {
            // Raw reports, private keys sent as evidence and cookie keys live here: owner-only from the start.
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(DataDirectory);
            else Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(ct);
        await ExecAsync(connection, null, "PRAGMA journal_mode=WAL;", ct);
        await ExecAsync(connection, null,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL);", ct);
        var applied = new HashSet<string>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT version FROM schema_migrations";
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) applied.Add(reader.GetString(0));
        }
        var done = new List<string>();
        foreach (var (version, sql) in Scripts(Provider))
        {
            if (applied.Contains(version)) continue;
            await using var tx = await connection.BeginTransactionAsync(ct);
            await ExecAsync(connection, tx, sql, ct);
            await using (var cmd = connection.CreateCommand())
            {
                cmd.Transaction = (SqliteTransaction)tx;
                cmd.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, $t)";
                cmd.Parameters.AddWithValue("$v", version);
                cmd.Parameters.AddWithValue("$t", DateTime.UtcNow.ToString("O"));
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
            done.Add(version);
        }
        return done;
    }

    public async Task<bool> CanConnectAsync(CancellationToken ct)
    {
        try
        {
            await using var db = Open();
            return await db.Database.ExecuteSqlRawAsync("SELECT 1", ct) >= -1;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="work"/> in one transaction; it commits only if the work returns.
    /// Writes are serialised so the audit chain always extends the latest head.</summary>
    public async Task<T> WriteAsync<T>(TimeProvider time, Func<WriteScope, Task<T>> work, CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(priority: false, ct, deferToIntake: !InteractiveScope.Value);
        try
        {
            await using var db = Open();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var scope = new WriteScope(db, time.GetUtcNow().UtcDateTime);
            var result = await work(scope);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            foreach (var after in scope.AfterCommitActions) after();
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Like <see cref="WriteAsync{T}"/> but with prepared ADO.NET statements on a kept-open connection, and
    /// ahead of every waiting ordinary writer: for intake, where someone waits for "stored" before being answered.</summary>
    public async Task<T> WriteDirectAsync<T>(TimeProvider time, Func<DirectWriteScope, Task<T>> work, CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(priority: true, ct);
        try
        {
            _direct ??= new DirectConnection(ConnectionString);
            var tx = await _direct.BeginAsync(ct);
            try
            {
                var result = await work(new DirectWriteScope(_direct, time.GetUtcNow().UtcDateTime));
                await tx.CommitAsync(ct);
                _direct.EndTransaction();
                return result;
            }
            catch
            {
                await _direct.ResetAsync(); // rolls back: closing the connection discards the open transaction
                throw;
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Intake counts as busy for this long after its last commit (for pacing background work: report
    /// processing giving way, WAL checkpoints waiting).</summary>
    public static readonly TimeSpan IntakeBusyWindow = TimeSpan.FromMilliseconds(200);

    /// <summary>Time since the last intake (direct) write finished; null before the first. Monotonic.</summary>
    public TimeSpan? SinceLastDirectCommit => _writeGate.SinceLastPriorityRelease;

    /// <summary>True while intake is still committing (it did within <see cref="IntakeBusyWindow"/>).</summary>
    public bool IntakeBusy => SinceLastDirectCommit < IntakeBusyWindow;

    private readonly SemaphoreSlim _checkpointLock = new(1, 1);
    private SqliteConnection? _checkpointConnection;

    /// <summary>Copies what the write-ahead log holds into the database file without waiting for (or blocking) any
    /// reader or writer (a PASSIVE checkpoint), on a connection of its own. Returns the pages in the log and how many
    /// of them are now in the database file.</summary>
    /// <param name="truncate">Instead: copy everything and cut the log file to zero bytes (it otherwise keeps its
    /// largest size); writers wait while it runs, and it gives up at once if a reader is in the way. For quiet times.</param>
    public async Task<(long LogPages, long CheckpointedPages)> CheckpointAsync(CancellationToken ct = default, bool truncate = false)
    {
        await _checkpointLock.WaitAsync(ct);
        try
        {
            if (_checkpointConnection is null)
            {
                var c = new SqliteConnection(ConnectionString);
                await c.OpenAsync(ct);
                await ExecAsync(c, null, ConnectionPragmas, ct);
                _checkpointConnection = c;
            }
            await using var cmd = _checkpointConnection.CreateCommand();
            cmd.CommandText = truncate ? "PRAGMA wal_checkpoint(TRUNCATE);" : "PRAGMA wal_checkpoint(PASSIVE);";
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? (reader.GetInt64(1), reader.GetInt64(2)) : (0, 0);
        }
        catch
        {
            if (_checkpointConnection is not null) await _checkpointConnection.DisposeAsync();
            _checkpointConnection = null;
            throw;
        }
        finally
        {
            _checkpointLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writeGate.WaitAsync(priority: true, CancellationToken.None);
        try
        {
            if (_direct is not null) await _direct.DisposeAsync();
            _direct = null;
        }
        finally
        {
            _writeGate.Release();
        }
        await _checkpointLock.WaitAsync();
        try
        {
            if (_checkpointConnection is not null) await _checkpointConnection.DisposeAsync();
            _checkpointConnection = null;
        }
        finally
        {
            _checkpointLock.Release();
        }
    }

    private static IEnumerable<(string Version, string Sql)> Scripts(string provider)
    {
        var asm = Assembly.GetExecutingAssembly();
        var prefix = $"migrations/{provider}/";
        // Resource names carry the folder with the build machine's separator.
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.Replace('\\', '/').StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (Path.GetFileNameWithoutExtension(name[prefix.Length..]), reader.ReadToEnd());
        }
    }

    private static async Task ExecAsync(SqliteConnection c, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = c.CreateCommand();
        cmd.Transaction = (SqliteTransaction?)tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>WAL size (pages, 512 MiB at 4 KiB) past which a connection that commits checkpoints the log itself: a
    /// backstop. Below it <see cref="WalCheckpointService"/> does, beside the writers. SQLite's automatic checkpoint
    /// (default: past 1,000 pages) runs inside the commit, while the single writer's turn is held, and copying megabytes
    /// into the database file and syncing it there held back every SMTP reply waiting on the next commit. The service
    /// lets at most <see cref="WalCheckpointService.BusyHighWaterFrames"/> pages wait while intake is busy.</summary>
    public const int AutoCheckpointPages = 131072;

    /// <summary>Every connection syncs fully on commit ("stored" means on disk before we answer) and leaves the
    /// checkpoints to <see cref="WalCheckpointService"/> (see <see cref="AutoCheckpointPages"/>).</summary>
    internal static readonly string ConnectionPragmas = $"PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint={AutoCheckpointPages};";

    private sealed class DurabilityInterceptor : DbConnectionInterceptor
    {
        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = ConnectionPragmas;
            cmd.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken ct = default)
        {
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = ConnectionPragmas;
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }
}

/// <summary>One write transaction: the context, the instant it runs at, and the audit log to append to.</summary>
public sealed class WriteScope(CprDeskDb db, DateTime now)
{
    private Compliance.AuditAppender? _audit;
    internal List<Action> AfterCommitActions { get; } = [];
    public CprDeskDb Db { get; } = db;

    /// <summary>Runs once the transaction has committed (never if it rolls back).</summary>
    public void AfterCommit(Action action) => AfterCommitActions.Add(action);
    public DateTime Now { get; } = now;

    public async Task AuditAsync(string actor, string type, string? ticket, object detail)
    {
        _audit ??= await Compliance.AuditAppender.StartAsync(Db);
        _audit.Append(Now, actor, type, ticket, detail);
    }
}
