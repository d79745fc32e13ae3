// The canary token: only a token we made, for a run still waiting, closes a report; anything else stays a real CPR.
using CprDesk.Channels;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Channels;

public sealed class CanaryTokenTests : IAsyncLifetime
{
    private readonly Desk _desk = new();
    private readonly CanaryToken _tokens = new(System.Text.Encoding.ASCII.GetBytes("a server secret of enough length"));

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        _desk.Intake.CreationHooks.Add(new CanaryIntake(_tokens, NullLogger<CanaryIntake>.Instance).RecogniseAsync);
    }

    public Task DisposeAsync()
    {
        _desk.Dispose();
        return Task.CompletedTask;
    }

    private Task<CanaryRunRow> RunAsync() => _desk.Database.WriteAsync(_desk.Time, async s =>
    {
        var run = new CanaryRunRow { Address = "https://ca.example/api", Kind = "api", SentAt = s.Now, LateAt = s.Now.AddMinutes(30), LostAt = s.Now.AddHours(4), SendResult = "201" };
        s.Db.CanaryRuns.Add(run);
        await s.Db.SaveChangesAsync();
        return run;
    });

    private async Task<Report> ReportAsync(string ticket)
    {
        await using var db = _desk.Database.Open();
        return await db.Reports.Include(r => r.Deadlines).SingleAsync(r => r.Ticket == ticket);
    }

    [Fact]
    public async Task A_valid_token_for_a_waiting_run_makes_a_closed_canary_report_with_its_clocks_started()
    {
        var run = await RunAsync();
        var ticket = await _desk.SubmitAsync($"Canary token: {_tokens.For(run.Id)}");
        var report = await ReportAsync(ticket);
        Assert.True(report.IsCanary);
        Assert.Equal(ReportState.Closed, report.State);
        Assert.Equal(3, report.Deadlines.Count);
        Assert.All(report.Deadlines, d => Assert.Equal(_desk.Now, d.WaivedAt));
        await using var db = _desk.Database.Open();
        var saved = await db.CanaryRuns.SingleAsync(r => r.Id == run.Id);
        Assert.Equal(ticket, saved.Ticket);
        Assert.True(saved.ClockStarted);
        Assert.Equal(_desk.Now, saved.ReceivedAt);
        Assert.True(await db.Outbox.AnyAsync(o => o.ReportId == report.Id && o.Kind == "acknowledgement"));
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Ticket == ticket && e.Type == "canary.received"));
        Assert.Empty(await _desk.Queries.ListAsync(null, null, includeClosed: true));
        var (byState, nearest, missed) = await _desk.Queries.MetricsAsync();
        Assert.All(byState.Values, v => Assert.Equal(0, v));
        Assert.Null(nearest);
        Assert.Equal(0, missed);
    }

    [Fact]
    public async Task A_forged_token_leaves_a_real_report_open_and_is_audited()
    {
        var run = await RunAsync();
        var genuine = _tokens.For(run.Id);
        var forged = genuine[..^1] + (genuine[^1] == '0' ? '1' : '0');
        var ticket = await _desk.SubmitAsync($"Please close this: {forged}");
        var report = await ReportAsync(ticket);
        Assert.False(report.IsCanary);
        Assert.Equal(ReportState.New, report.State);
        Assert.All(report.Deadlines, d => Assert.Null(d.WaivedAt));
        // A token made with another secret is just as useless.
        var other = new CanaryToken(System.Text.Encoding.ASCII.GetBytes("somebody else's secret value")).For(run.Id);
        Assert.False((await ReportAsync(await _desk.SubmitAsync(other))).IsCanary);
        await using var db = _desk.Database.Open();
        Assert.Equal(2, await db.AuditEvents.CountAsync(e => e.Type == "canary.token-rejected" && e.Detail.Contains("bad-mac")));
        Assert.Null((await db.CanaryRuns.SingleAsync(r => r.Id == run.Id)).ReportId);
        Assert.Equal(2, (await _desk.Queries.ListAsync(null, null, includeClosed: false)).Count);
    }

    [Fact]
    public async Task A_replayed_token_or_one_for_a_decided_run_is_a_real_report()
    {
        var run = await RunAsync();
        var token = _tokens.For(run.Id);
        Assert.True((await ReportAsync(await _desk.SubmitAsync(token))).IsCanary);
        // Someone who saw the canary quotes it in a real report: it stays open.
        var replay = await ReportAsync(await _desk.SubmitAsync($"Real problem. (quoting {token})"));
        Assert.False(replay.IsCanary);
        Assert.Equal(ReportState.New, replay.State);

        var decided = await RunAsync();
        await _desk.Database.WriteAsync(_desk.Time, async s =>
        {
            (await s.Db.CanaryRuns.SingleAsync(r => r.Id == decided.Id)).Outcome = CanaryOutcome.Lost;
            return true;
        });
        Assert.False((await ReportAsync(await _desk.SubmitAsync(_tokens.For(decided.Id)))).IsCanary);
        Assert.False((await ReportAsync(await _desk.SubmitAsync(_tokens.For(999_999)))).IsCanary);
        await using var db = _desk.Database.Open();
        var reasons = await db.AuditEvents.Where(e => e.Type == "canary.token-rejected").Select(e => e.Detail).ToListAsync();
        Assert.Contains(reasons, d => d.Contains("run-already-has-a-report"));
        Assert.Contains(reasons, d => d.Contains("run-lost"));
        Assert.Contains(reasons, d => d.Contains("no-such-run"));
    }

    [Fact]
    public void Tokens_are_bound_to_the_run_id()
    {
        var a = _tokens.For(7);
        Assert.Equal((7L, true), _tokens.Find(System.Text.Encoding.ASCII.GetBytes($"x {a} y")));
        var swapped = a.Replace("-7-", "-8-", StringComparison.Ordinal);
        Assert.Equal((8L, false), _tokens.Find(System.Text.Encoding.ASCII.GetBytes(swapped)));
        Assert.Null(_tokens.Find("no token here"u8));
    }
}
