using CprDesk.Tests.Support;
using Microsoft.Data.Sqlite;

namespace CprDesk.Tests.Cli;

/// <summary>The command line as a process: exit codes, one-line usage errors, and the audit check.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private Task<CliResult> Run(params string[] args) => Support.Cli.RunAsync([.. args, "--data", _dir.Path]);

    [Theory]
    [InlineData("")]
    [InlineData("frobnicate")]
    [InlineData("user add")]
    [InlineData("serve --port-typo 1")]
    public async Task Usage_errors_are_one_line_and_exit_2(string commandLine)
    {
        var r = await Support.Cli.RunAsync(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("cprdesk: ", r.Stderr);
    }

    [Fact]
    public async Task Bad_option_values_are_usage_errors()
    {
        var r = await Run("user", "add", "bob", "--role", "overlord");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("cprdesk: --role must be admin, staff or auditor.", r.Stderr.Trim());
    }

    [Fact]
    public async Task Users_tokens_reports_and_the_audit_chain_from_the_command_line()
    {
        var migrate = await Run("migrate");
        Assert.Equal(0, migrate.ExitCode);
        Assert.Contains("0001_init", migrate.Stdout);
        Assert.Contains("up to date", (await Run("migrate")).Stdout);

        var add = await Run("user", "add", "alice", "--role", "auditor", "--email", "alice@example.com");
        Assert.Equal(0, add.ExitCode);
        Assert.Matches("(?m)^[A-Za-z0-9]{20}$", add.Stdout);
        Assert.Equal(4, (await Run("user", "add", "alice")).ExitCode); // already exists
        Assert.Contains("alice", (await Run("user", "list")).Stdout);

        var token = await Run("token", "create", "alice", "--name", "monitoring");
        Assert.Equal(0, token.ExitCode);
        Assert.Matches("^cprd_[0-9a-f]{64}$", token.Stdout.Trim());
        Assert.Equal(0, (await Run("token", "revoke", token.Stdout.Trim()[..13])).ExitCode);
        Assert.Equal(3, (await Run("token", "revoke", "cprd_nothere")).ExitCode);
        Assert.Equal(0, (await Run("user", "disable", "alice")).ExitCode);
        Assert.Contains("disabled", (await Run("user", "list")).Stdout);
        Assert.Equal(3, (await Run("user", "reset-password", "nobody")).ExitCode);

        Assert.Equal(3, (await Run("report", "show", "CPR-2026-999999")).ExitCode);

        var verify = await Run("audit", "verify");
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("Audit chain OK", verify.Stdout);

        using (var c = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "cprdesk.db")}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor = 'cli:mallory' WHERE seq = 2;";
            cmd.ExecuteNonQuery();
        }
        var broken = await Run("audit", "verify");
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("BROKEN at event #2", broken.Stdout);
    }
}
