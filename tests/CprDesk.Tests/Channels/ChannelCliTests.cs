// `cprdesk channels` as an operator runs it: a separate process on a data directory.
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Channels;

public sealed class ChannelCliTests : IDisposable
{
    private readonly TempDir _data = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    private Task<CliResult> RunAsync(params string[] args) => Support.Cli.RunAsync([.. args, "--data", _data.Path]);

    [Fact]
    public async Task Channels_are_added_listed_changed_removed_and_checked_for_drift()
    {
        var add = await RunAsync("channels", "add", "cpr@example-trust.test", "--published-in", "cps,ccadb-prm", "--owner", "PKI ops", "--max-silence-hours", "48");
        Assert.True(add.ExitCode == 0, add.Stderr);
        Assert.Equal(0, (await RunAsync("channels", "add", "https://example-trust.test/report-problem", "--published-in", "cps", "ccadb-prm")).ExitCode);
        Assert.Equal(0, (await RunAsync("channels", "add", "revoke@example-trust.test", "--published-in", "ccadb-prm")).ExitCode);
        Assert.Equal(0, (await RunAsync("channels", "set", "revoke@example-trust.test", "--late-after-minutes", "15")).ExitCode);

        var list = await RunAsync("channels", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("cpr@example-trust.test", list.Stdout);
        Assert.Contains("https://example-trust.test/report-problem", list.Stdout);

        var drift = await RunAsync("channels", "drift", "--ccadb", DriftTests.Fixture("ccadb-ca-owners.csv"), "--cps", DriftTests.Fixture("cps.md"),
            "--ca-owner", DriftTests.Owner);
        Assert.Equal(1, drift.ExitCode);
        Assert.Contains("unregistered  new-alias@example-trust.test: published in cps but not in the registry", drift.Stdout);
        Assert.Contains("unregistered  security@example-trust.test", drift.Stdout);
        Assert.Contains("CPS section 1.5.2: https://example-trust.test/report-problem, cpr@example-trust.test, new-alias@example-trust.test", drift.Stdout);

        Assert.Equal(0, (await RunAsync("channels", "remove", "revoke@example-trust.test")).ExitCode);
        await using var db = new Database(_data.Path).Open();
        Assert.Equal(2, await db.Channels.CountAsync());
        Assert.Equal(["channel.added", "channel.added", "channel.added", "channel.changed", "channel.removed"],
            await db.AuditEvents.Where(e => e.Type.StartsWith("channel.")).OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync());
    }

    [Theory]
    [InlineData("channels", "add", "not-an-address")]
    [InlineData("channels", "add", "cpr@ca.example", "--published-in", "billboard")]
    [InlineData("channels", "drift")]
    [InlineData("channels", "drift", "--cps", "/nonexistent/cps.md")]
    public async Task Bad_input_is_one_line_on_stderr_and_exit_2(params string[] args)
    {
        var r = await RunAsync(args);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("cprdesk: ", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task An_unknown_channel_is_exit_3_and_a_duplicate_exit_4()
    {
        Assert.Equal(3, (await RunAsync("channels", "remove", "nobody@ca.example")).ExitCode);
        Assert.Equal(0, (await RunAsync("channels", "add", "cpr@ca.example")).ExitCode);
        Assert.Equal(4, (await RunAsync("channels", "add", "CPR@ca.example")).ExitCode);
    }
}
