// The canary schedule through the real host, with the API as the channel (no mail needed): due channels get one
// canary per interval; a channel that refuses the submission is "send-failed" at once and the admins are told.
using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Channels;

public sealed class CanaryScheduleTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(Desk.Start);
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(time: _time, extra: new Dictionary<string, string?>
        {
            ["CprDesk:Canary:Enabled"] = "false", // driven by hand below
            ["CprDesk:Canary:From"] = "canary-sender@ca.example",
        });
        await new Accounts(_host.Service<Database>(), _time).CreateAsync("test", "ops", StaffRole.Admin, "ops@ca.example", null);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Each_channel_gets_one_canary_per_interval_and_a_refused_one_fails_at_once()
    {
        var registry = _host.Service<ChannelRegistry>();
        var api = await registry.AddAsync("test", new ChannelInput(new Uri(_host.BaseUri, "/api/v1/reports").ToString(), Kind: "api", CanaryEveryMinutes: 360));
        var dead = await registry.AddAsync("test", new ChannelInput($"http://127.0.0.1:{ServeProcess.FreePort()}/report", CanaryEveryMinutes: 360));
        await registry.AddAsync("test", new ChannelInput("quiet@ca.example", CanaryEnabled: false));
        var canaries = _host.Service<CanaryService>();

        await canaries.RunOnceAsync();
        await canaries.RunOnceAsync(); // nothing more is due
        _time.Advance(TimeSpan.FromHours(3));
        await canaries.RunOnceAsync(); // still within the 6-hour interval
        var runs = await RunsAsync();
        Assert.Equal(2, runs.Count);
        var apiRun = runs.Single(r => r.ChannelId == api.Id);
        // No mailbox configured: no acknowledgement is seen, so 3 hours in (past its 30-minute limit) it is late already.
        Assert.Equal(CanaryOutcome.Late, apiRun.Outcome);
        Assert.Null(apiRun.AckAt);
        Assert.NotNull(apiRun.Ticket);
        Assert.True(apiRun.ClockStarted);
        var deadRun = runs.Single(r => r.ChannelId == dead.Id);
        Assert.Equal(CanaryOutcome.SendFailed, deadRun.Outcome);
        Assert.Contains("HttpRequestException", deadRun.SendResult);

        _time.Advance(TimeSpan.FromHours(3));
        await canaries.RunOnceAsync();
        runs = await RunsAsync();
        Assert.Equal(4, runs.Count);
        Assert.Equal(2, runs.Count(r => r.ChannelId == api.Id));
        // The first API canary was never acknowledged (no mailbox): lost once its 4 hours ran out.
        Assert.Equal(CanaryOutcome.Lost, runs.Single(r => r.Id == apiRun.Id).Outcome);

        await using var db = _host.Service<Database>().Open();
        var alerts = await db.Outbox.Where(o => o.Recipient == "ops@ca.example").Select(o => o.Subject).ToListAsync();
        Assert.Equal(2, alerts.Count(s => s == $"Canary CPR send-failed: {dead.Address}"));
        Assert.Single(alerts, s => s == $"Canary CPR late: {api.Address}");
        Assert.Single(alerts, s => s == $"Canary CPR lost: {api.Address}");
        Assert.Equal(0, await db.Reports.CountAsync(r => !r.IsCanary));
        Assert.Equal(2, await db.Reports.CountAsync(r => r.IsCanary && r.State == ReportState.Closed));
    }

    private async Task<List<CanaryRunRow>> RunsAsync()
    {
        await using var db = _host.Service<Database>().Open();
        return await db.CanaryRuns.AsNoTracking().OrderBy(r => r.Id).ToListAsync();
    }
}
