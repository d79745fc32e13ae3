// Notifications through the real host: the report API lists what the escalation engine sent, and /healthz
// shows the engine's heartbeat.
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Escalation;
using CprDesk.Storage;
using CprDesk.Tests.Support;

namespace CprDesk.Tests.Escalation;

public sealed class EscalationApiTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_report_API_lists_the_notifications_sent_and_healthz_shows_the_engine_alive()
    {
        await _host.Service<CprDesk.Access.Accounts>().CreateAsync("test", "oncall-admin", StaffRole.Admin, "oncall-admin@ca.example", null);
        var (_, _, token) = await _host.UserAsync(StaffRole.Auditor);
        using var anon = _host.Client();
        var created = await anon.PostAsync("/api/v1/reports", new StringContent("""{"reporterEmail":"r@example.org","description":"key leaked"}""", Encoding.UTF8, "application/json"));
        var ticket = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;

        // No schedule: primary and secondary find nobody, so the admins' step fires at once.
        await _host.Service<EscalationEngine>().RunOnceAsync();

        using var auditor = _host.Client(token);
        var report = await auditor.GetFromJsonAsync<JsonElement>($"/api/v1/reports/{ticket}");
        var notifications = report.GetProperty("notifications").EnumerateArray().ToList();
        var n = Assert.Single(notifications, x => x.GetProperty("recipient").GetString() == "oncall-admin@ca.example");
        Assert.Equal("ownership step 2", n.GetProperty("step").GetString());
        Assert.Equal("email", n.GetProperty("channel").GetString());
        Assert.Contains(n.GetProperty("status").GetString(), new[] { "queued", "sent" });
        Assert.Contains(report.GetProperty("events").EnumerateArray(), e => e.GetProperty("type").GetString() == "escalation.no-one-on-call");

        var health = await anon.GetFromJsonAsync<JsonElement>("/healthz");
        Assert.Equal("ok", health.GetProperty("escalation").GetString());
    }
}
