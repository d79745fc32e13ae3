// The registry's expected maximum silence feeds the intake silence alarm: each published channel's value applies to
// the intake channel it arrives on (the shortest when several share one), over CprDesk:Intake:ExpectedSilence, which
// stays the fallback for intake channels the registry says nothing about.
using System.Text.Json;
using CprDesk.Channels;
using CprDesk.Intake.Health;
using CprDesk.Notifications;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Channels;

public sealed class ChannelSilenceTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(Desk.Start);
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(time: _time, extra: new Dictionary<string, string?>
        {
            ["CprDesk:Intake:ExpectedSilence:email"] = "01:00:00",
            ["CprDesk:Intake:ExpectedSilence:web-form"] = "05:00:00",
        });
        await _host.Service<CprDesk.Access.Accounts>().CreateAsync("test", "watch-admin", StaffRole.Admin, "watch-admin@ca.example", null);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Dictionary<string, double?>> ExpectedAsync()
    {
        var response = await _host.Client().GetAsync("/healthz"); // 503 on a fake clock (stale escalation); the section is there
        var intake = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("intake");
        return intake.GetProperty("channels").EnumerateArray().ToDictionary(c => c.GetProperty("channel").GetString()!,
            c => c.GetProperty("expectedSilenceSeconds").ValueKind == JsonValueKind.Null ? null : (double?)c.GetProperty("expectedSilenceSeconds").GetDouble());
    }

    private async Task<List<string>> SilentSubjectsAsync()
    {
        await using var db = _host.Service<Database>().Open();
        return await db.Outbox.Where(o => o.Kind == Outbox.Notification && o.Subject.StartsWith("Intake channel")).OrderBy(o => o.Id).Select(o => o.Subject).ToListAsync();
    }

    [Fact]
    public async Task The_registrys_maximum_silence_drives_the_alarm_and_the_configuration_is_the_fallback()
    {
        var registry = _host.Service<ChannelRegistry>();
        await registry.AddAsync("test", new ChannelInput("cpr@ca.example", MaxSilenceHours: 6, CanaryEnabled: false));
        await registry.AddAsync("test", new ChannelInput("pki@ca.example", MaxSilenceHours: 3, CanaryEnabled: false));
        await registry.AddAsync("test", new ChannelInput("abuse@ca.example", Route: "mailbox-poll", MaxSilenceHours: 48, CanaryEnabled: false));
        await registry.AddAsync("test", new ChannelInput(new Uri(_host.BaseUri, "/api/v1/reports").ToString(), Kind: "api", MaxSilenceHours: 2, CanaryEnabled: false));
        await registry.AddAsync("test", new ChannelInput(new Uri(_host.BaseUri, "/report").ToString(), CanaryEnabled: false)); // no value: config applies

        var expected = await ExpectedAsync();
        Assert.Equal(3 * 3600, expected["email"]); // the registry (shortest of 6 h and 3 h) over the configured 1 h
        Assert.Equal(48 * 3600, expected["imap"]);
        Assert.Equal(2 * 3600, expected["api"]);
        Assert.Equal(5 * 3600, expected["web-form"]); // the configuration, as the registry says nothing

        // (The background service also checks when the fake clock moves; either way each alarm is raised once.)
        var service = _host.Service<IntakeHealthService>();
        _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        await service.RunOnceAsync();
        Assert.Equal(["Intake channel \"api\" is silent"], await SilentSubjectsAsync()); // email: past the configured hour, not past 3 h
        _time.Advance(TimeSpan.FromHours(1));
        await service.RunOnceAsync();
        Assert.Equal(["Intake channel \"api\" is silent", "Intake channel \"email\" is silent"], await SilentSubjectsAsync());

        // Changed on the registry, used at the next check (no restart).
        await registry.UpdateAsync("test", "abuse@ca.example", new ChannelInput(null, MaxSilenceHours: 1));
        await service.RunOnceAsync();
        Assert.Equal("Intake channel \"imap\" is silent", (await SilentSubjectsAsync()).Last());
        Assert.Equal(3600, (await ExpectedAsync())["imap"]);
        Assert.Contains("cprdesk_intake_channel_silent{channel=\"imap\"} 1", await _host.Client().GetStringAsync("/metrics"));
    }
}
