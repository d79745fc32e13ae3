using CprDesk.Compliance;
using CprDesk.Tests.Support;
using Microsoft.Data.Sqlite;

namespace CprDesk.Tests.Compliance;

/// <summary>The chain holds for honest writes and names the first event an edit, deletion or reordering broke.</summary>
public sealed class AuditChainTests : IAsyncLifetime, IDisposable
{
    private readonly Desk _desk = new();

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        var ticket = await _desk.SubmitAsync();
        await _desk.Reports.ClassifyAsync(ticket, "user:a", "3", null);
        await _desk.Reports.RecordPreliminaryReportAsync(ticket, "user:a", "reporter", null, null, "findings", null, send: false);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _desk.Dispose();

    private async Task<AuditVerification> VerifyAsync()
    {
        await using var db = _desk.Database.Open();
        return await AuditLog.VerifyAsync(db);
    }

    /// <summary>Tampering as someone with write access to the file would: triggers dropped first.</summary>
    private void Tamper(string sql)
    {
        using var c = new SqliteConnection(_desk.Database.ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; " + sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public async Task An_untouched_chain_verifies()
    {
        var v = await VerifyAsync();
        Assert.True(v.Ok, v.Problem);
        Assert.True(v.Events >= 8);
    }

    [Fact]
    public void The_database_refuses_to_change_or_delete_an_event()
    {
        using var c = new SqliteConnection(_desk.Database.ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE audit_events SET actor = 'someone else' WHERE seq = 2";
        var ex = Assert.Throws<SqliteException>(() => cmd.ExecuteNonQuery());
        Assert.Contains("append-only", ex.Message);
        cmd.CommandText = "DELETE FROM audit_events WHERE seq = 2";
        Assert.Throws<SqliteException>(() => cmd.ExecuteNonQuery());
    }

    [Fact]
    public async Task An_edited_event_is_named()
    {
        Tamper("UPDATE audit_events SET detail = replace(detail, '\"3\"', '\"12\"') WHERE type = 'report.classified'");
        var seq = ScalarLong("SELECT seq FROM audit_events WHERE type = 'report.classified'");
        var v = await VerifyAsync();
        Assert.False(v.Ok);
        Assert.Equal(seq, v.BrokenAtSeq);
        Assert.Contains("altered", v.Problem);
    }

    [Fact]
    public async Task A_deleted_event_is_named()
    {
        Tamper("DELETE FROM audit_events WHERE seq = 3");
        var v = await VerifyAsync();
        Assert.False(v.Ok);
        Assert.Equal(4, v.BrokenAtSeq);
        Assert.Contains("#3..#3 are missing", v.Problem);
    }

    [Fact]
    public async Task A_deleted_and_renumbered_event_is_named()
    {
        // Hide a deletion by renumbering the later events: the chain of hashes still breaks.
        Tamper("DELETE FROM audit_events WHERE seq = 3; UPDATE audit_events SET seq = seq - 1 WHERE seq > 3;");
        var v = await VerifyAsync();
        Assert.False(v.Ok);
        Assert.Equal(3, v.BrokenAtSeq);
    }

    [Fact]
    public async Task Reordered_events_are_named()
    {
        // Swap the content of events 2 and 3, keeping their positions.
        Tamper("""
            UPDATE audit_events SET seq = -2 WHERE seq = 2;
            UPDATE audit_events SET seq = 2 WHERE seq = 3;
            UPDATE audit_events SET seq = 3 WHERE seq = -2;
            """);
        var v = await VerifyAsync();
        Assert.False(v.Ok);
        Assert.Equal(2, v.BrokenAtSeq);
    }

    private long ScalarLong(string sql)
    {
        using var c = new SqliteConnection(_desk.Database.ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }
}
