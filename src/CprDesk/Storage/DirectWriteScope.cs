// The intake hot path: one raw submission committed with plain, prepared ADO.NET statements on one kept-open
// connection, under the same single-writer gate (and the same audit chain) as every EF Core write. EF Core's
// per-transaction cost (a context, change tracking, a pooled connection's PRAGMA) was most of intake's time.
using System.Text.Json;
using CprDesk.Compliance;
using Microsoft.Data.Sqlite;

namespace CprDesk.Storage;

/// <summary>One direct write transaction. Statements use provider-neutral SQL (<c>ON CONFLICT … DO NOTHING</c>,
/// <c>RETURNING</c>), which SQLite ≥ 3.35 and PostgreSQL both accept.</summary>
public sealed class DirectWriteScope
{
    private readonly DirectConnection _connection;
    private (long Seq, string Head)? _audit;

    internal DirectWriteScope(DirectConnection connection, DateTime now)
    {
        _connection = connection;
        Now = now;
    }

    public DateTime Now { get; }

    /// <summary>A prepared command for <paramref name="sql"/>, reused across transactions, bound to this one.</summary>
    public SqliteCommand Command(string sql) => _connection.Command(sql);

    /// <summary>Appends to the audit hash chain exactly as <see cref="WriteScope.AuditAsync"/> does.</summary>
    public async Task AuditAsync(string actor, string type, string? ticket, object detail)
    {
        if (_audit is null)
        {
            var head = Command("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
            await using var reader = await head.ExecuteReaderAsync();
            _audit = await reader.ReadAsync() ? (reader.GetInt64(0), reader.GetString(1)) : (0, AuditAppender.GenesisHash);
        }
        var e = AuditAppender.NextEvent(_audit.Value.Seq, _audit.Value.Head, Now, actor, type, ticket,
            detail as string ?? JsonSerializer.Serialize(detail, AuditJson.Options));
        var insert = Command("INSERT INTO audit_events (seq, at, actor, ticket, type, detail, prev_hash, hash) VALUES ($seq, $at, $actor, $ticket, $type, $detail, $prev, $hash)");
        insert.Parameters["$seq"].Value = e.Seq;
        insert.Parameters["$at"].Value = e.At;
        insert.Parameters["$actor"].Value = e.Actor;
        insert.Parameters["$ticket"].Value = (object?)e.Ticket ?? DBNull.Value;
        insert.Parameters["$type"].Value = e.Type;
        insert.Parameters["$detail"].Value = e.Detail;
        insert.Parameters["$prev"].Value = e.PrevHash;
        insert.Parameters["$hash"].Value = e.Hash;
        await insert.ExecuteNonQueryAsync();
        _audit = (e.Seq, e.Hash);
    }
}

/// <summary>The kept-open connection behind <see cref="DirectWriteScope"/>, with its prepared commands.</summary>
internal sealed class DirectConnection(string connectionString) : IAsyncDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteConnection? _connection;
    private SqliteTransaction? _transaction;

    public async Task<SqliteTransaction> BeginAsync(CancellationToken ct)
    {
        if (_connection is null)
        {
            _connection = new SqliteConnection(connectionString);
            await _connection.OpenAsync(ct);
            await using var pragma = _connection.CreateCommand();
            pragma.CommandText = Database.ConnectionPragmas;
            await pragma.ExecuteNonQueryAsync(ct);
        }
        _transaction = _connection.BeginTransaction();
        return _transaction;
    }

    public SqliteCommand Command(string sql)
    {
        if (_connection is null || _transaction is null) throw new InvalidOperationException("No direct write transaction is open.");
        if (!_commands.TryGetValue(sql, out var cmd))
        {
            cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            foreach (var name in ParameterNames(sql)) cmd.Parameters.Add(new SqliteParameter(name, null));
            _commands[sql] = cmd;
        }
        cmd.Transaction = _transaction;
        return cmd;
    }

    public void EndTransaction() => _transaction = null;

    /// <summary>After a failed transaction the connection is dropped, so no half-known state is reused.</summary>
    public async Task ResetAsync()
    {
        foreach (var cmd in _commands.Values) await cmd.DisposeAsync();
        _commands.Clear();
        if (_connection is not null) await _connection.DisposeAsync();
        _connection = null;
        _transaction = null;
    }

    public ValueTask DisposeAsync() => new(ResetAsync());

    private static IEnumerable<string> ParameterNames(string sql)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sql.Length; i++)
        {
            if (sql[i] != '$') continue;
            var j = i + 1;
            while (j < sql.Length && (char.IsLetterOrDigit(sql[j]) || sql[j] == '_')) j++;
            if (j > i + 1 && seen.Add(sql[i..j])) yield return sql[i..j];
            i = j - 1;
        }
    }
}
