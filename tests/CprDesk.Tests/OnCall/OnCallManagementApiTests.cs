// Managing on-call through the real host: contact methods (a person their own, an admin anyone's), teams and their
// channels, deleting schedules and overrides, editing overrides and absences (with the gap warning); access, bad
// input and the audit trail.
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.OnCall;

public sealed class OnCallManagementApiTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private (string Username, string Password, string Token) _admin, _staff, _other, _auditor;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _admin = await _host.UserAsync(StaffRole.Admin);
        _staff = await _host.UserAsync(StaffRole.Staff);
        _other = await _host.UserAsync(StaffRole.Staff);
        _auditor = await _host.UserAsync(StaffRole.Auditor);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<List<AuditEvent>> AuditAsync(string prefix)
    {
        await using var db = _host.Service<Database>().Open();
        return await db.AuditEvents.AsNoTracking().Where(e => e.Type.StartsWith(prefix)).OrderBy(e => e.Seq).ToListAsync();
    }

    private static async Task AssertProblemAsync(HttpResponseMessage r, HttpStatusCode status, string? field = null)
    {
        Assert.Equal(status, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        if (field is not null) Assert.Equal(field, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_person_manages_their_own_contact_methods_an_admin_anyones_and_every_change_is_audited()
    {
        using var me = _host.Client(_staff.Token);
        var url = $"/api/v1/users/{_staff.Username}/contact-methods";
        var added = await me.PostAsJsonAsync(url, new { kind = "webhook", target = "https://chat.example/hook/1", label = "chat" });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var hook = await added.Content.ReadFromJsonAsync<JsonElement>();
        var id = hook.GetProperty("id").GetInt64();
        Assert.Equal(0, hook.GetProperty("position").GetInt32());
        var mail = await (await me.PostAsJsonAsync(url, new { kind = "email", target = "me@ca.example" })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, mail.GetProperty("position").GetInt32());

        var changed = await me.PutAsJsonAsync($"{url}/{id}", new { kind = "webhook", target = "https://chat.example/hook/2", label = "chat", position = 5 });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var listed = await me.GetFromJsonAsync<JsonElement>(url);
        Assert.Equal(["email", "webhook"], listed.EnumerateArray().Select(m => m.GetProperty("kind").GetString()!).ToArray()); // in position order
        Assert.Equal("https://chat.example/hook/2", listed[1].GetProperty("target").GetString());

        // Bad input names the field; a duplicate is a conflict.
        await AssertProblemAsync(await me.PostAsJsonAsync(url, new { kind = "sms", target = "+48123" }), HttpStatusCode.BadRequest, "kind");
        await AssertProblemAsync(await me.PostAsJsonAsync(url, new { kind = "email", target = "not an address" }), HttpStatusCode.BadRequest, "target");
        await AssertProblemAsync(await me.PostAsJsonAsync(url, new { kind = "webhook", target = "ftp://x.example/" }), HttpStatusCode.BadRequest, "target");
        await AssertProblemAsync(await me.PostAsJsonAsync(url, new { kind = "email", target = "me@ca.example" }), HttpStatusCode.Conflict);

        // Another staff member may not touch them; an admin may; an auditor manages only their own.
        using var other = _host.Client(_other.Token);
        await AssertProblemAsync(await other.PostAsJsonAsync(url, new { kind = "email", target = "x@ca.example" }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await other.DeleteAsync($"{url}/{id}"), HttpStatusCode.Forbidden);
        using var auditor = _host.Client(_auditor.Token);
        await AssertProblemAsync(await auditor.GetAsync(url), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Created, (await auditor.PostAsJsonAsync($"/api/v1/users/{_auditor.Username}/contact-methods", new { kind = "email", target = "aud@ca.example" })).StatusCode);
        using var admin = _host.Client(_admin.Token);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"{url}/{id}")).StatusCode);
        await AssertProblemAsync(await admin.DeleteAsync($"{url}/{id}"), HttpStatusCode.NotFound);
        Assert.Single((await me.GetFromJsonAsync<JsonElement>(url)).EnumerateArray());

        var audit = await AuditAsync("contact-method.");
        Assert.Equal(["contact-method.added", "contact-method.added", "contact-method.changed", "contact-method.added", "contact-method.removed"], audit.Select(e => e.Type));
        Assert.Equal("user:" + _admin.Username, audit[^1].Actor);
        Assert.Contains("hook/1", audit[2].Detail); // the change records what was there before
    }

    [Fact]
    public async Task Admins_manage_teams_with_a_channel_and_members()
    {
        using var admin = _host.Client(_admin.Token);
        var put = await admin.PutAsJsonAsync("/api/v1/teams/pki", new { channelWebhook = "https://chat.example/pki", members = new[] { _staff.Username, _other.Username } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var teams = await admin.GetFromJsonAsync<JsonElement>("/api/v1/teams");
        var team = Assert.Single(teams.EnumerateArray());
        Assert.Equal("https://chat.example/pki", team.GetProperty("channelWebhook").GetString());
        Assert.Equal(2, team.GetProperty("members").GetArrayLength());

        await AssertProblemAsync(await admin.PutAsJsonAsync("/api/v1/teams/pki", new { members = new[] { "nobody-here" } }), HttpStatusCode.BadRequest, "members[0]");
        await AssertProblemAsync(await admin.PutAsJsonAsync("/api/v1/teams/pki", new { channelWebhook = "mailto:x@y" }), HttpStatusCode.BadRequest, "channelWebhook");
        using var staff = _host.Client(_staff.Token);
        Assert.Equal(HttpStatusCode.Forbidden, (await staff.PutAsJsonAsync("/api/v1/teams/pki", new { members = Array.Empty<string>() })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await staff.GetAsync("/api/v1/teams")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/v1/teams/pki")).StatusCode);
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("/api/v1/teams")).EnumerateArray());
        Assert.Equal(["team.saved", "team.removed"], (await AuditAsync("team.")).Select(e => e.Type));
    }

    [Fact]
    public async Task Schedules_and_overrides_can_be_deleted_and_overrides_and_absences_edited()
    {
        using var admin = _host.Client(_admin.Token);
        using var staff = _host.Client(_staff.Token);
        var layers = new[] { new { name = "p", priority = 0, participants = new[] { _staff.Username }, shift = new { days = 7 }, handOff = "09:00", timeZone = "UTC", start = "2026-01-05" } };
        Assert.True((await admin.PutAsJsonAsync("/api/v1/schedules/solo", new { layers })).IsSuccessStatusCode);

        var o = await staff.PostAsJsonAsync("/api/v1/overrides", new { schedule = "solo", user = _other.Username, from = "2030-01-01T00:00:00Z", to = "2030-01-02T00:00:00Z" });
        Assert.Equal(HttpStatusCode.Created, o.StatusCode);
        var oid = (await o.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var edited = await staff.PutAsJsonAsync($"/api/v1/overrides/{oid}", new { schedule = "solo", user = _other.Username, from = "2030-01-01T00:00:00Z", to = "2030-01-03T00:00:00Z" });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        await AssertProblemAsync(await staff.PutAsJsonAsync($"/api/v1/overrides/{oid}", new { schedule = "solo", user = _other.Username, from = "2030-01-03T00:00:00Z", to = "2030-01-01T00:00:00Z" }), HttpStatusCode.BadRequest, "to");
        var listed = await staff.GetFromJsonAsync<JsonElement>("/api/v1/overrides");
        Assert.Equal("2030-01-03T00:00:00Z", Assert.Single(listed.EnumerateArray()).GetProperty("to").GetDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"));
        Assert.Equal(HttpStatusCode.OK, (await staff.DeleteAsync($"/api/v1/overrides/{oid}")).StatusCode);
        await AssertProblemAsync(await staff.DeleteAsync($"/api/v1/overrides/{oid}"), HttpStatusCode.NotFound);

        // An absence edited into a gap is refused with the gaps until confirmed.
        var now = DateTime.UtcNow;
        var a = await staff.PostAsJsonAsync("/api/v1/absences", new { user = _staff.Username, from = now.AddDays(60).ToString("O"), to = now.AddDays(61).ToString("O"), reason = "later" });
        Assert.Equal(HttpStatusCode.Created, a.StatusCode);
        var aid = (await a.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var into = new { user = _staff.Username, from = now.AddDays(2).ToString("O"), to = now.AddDays(3).ToString("O"), reason = "sooner" };
        var refused = await staff.PutAsJsonAsync($"/api/v1/absences/{aid}", into);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("solo", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("gaps")[0].GetProperty("schedule").GetString());
        using var other = _host.Client(_other.Token);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.PutAsJsonAsync($"/api/v1/absences/{aid}?confirm=true", into)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await staff.PutAsJsonAsync($"/api/v1/absences/{aid}?confirm=true", into)).StatusCode);
        var absences = await staff.GetFromJsonAsync<JsonElement>("/api/v1/absences");
        Assert.Equal("sooner", Assert.Single(absences.EnumerateArray()).GetProperty("reason").GetString());

        Assert.Equal(HttpStatusCode.Forbidden, (await staff.DeleteAsync("/api/v1/schedules/solo")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/v1/schedules/solo")).StatusCode);
        await AssertProblemAsync(await admin.DeleteAsync("/api/v1/schedules/solo"), HttpStatusCode.NotFound);
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("/api/v1/schedules")).EnumerateArray());

        var types = (await AuditAsync("oncall.")).Select(e => e.Type).ToList();
        Assert.Equal(["oncall.schedule-saved", "oncall.override-added", "oncall.override-changed", "oncall.override-removed",
            "oncall.absence-added", "oncall.absence-changed", "oncall.gap-warning", "oncall.schedule-removed"], types);
    }
}
