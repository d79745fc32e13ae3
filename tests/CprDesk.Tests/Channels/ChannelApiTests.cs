// The registry through the real host: admins edit, others read; bad input is a 400 naming the field; every change audited.
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Channels;

public sealed class ChannelApiTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private (string Username, string Password, string Token) _admin, _staff;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _admin = await _host.UserAsync(StaffRole.Admin);
        _staff = await _host.UserAsync(StaffRole.Staff);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Admins_add_change_and_remove_channels_and_every_change_is_audited()
    {
        var admin = _host.Client(_admin.Token);
        var added = await admin.PostAsJsonAsync("/api/v1/channels", new
        {
            address = "CPR@CA.example", owner = "PKI operations", purpose = "CPRs by email", publishedIn = new[] { "cps", "ccadb-prm" },
            route = "smtp-relay", maxSilenceHours = 72,
        });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var id = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var form = await admin.PostAsJsonAsync("/api/v1/channels", new { url = "https://ca.example/report/", publishedIn = new[] { "website" } });
        Assert.Equal(HttpStatusCode.Created, form.StatusCode);

        var patched = await admin.PatchAsJsonAsync($"/api/v1/channels/{id}", new { aliasMembers = new[] { "alice@ca.example", "bob@ca.example" }, lateAfterMinutes = 20 });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);

        var list = await _host.Client(_staff.Token).GetFromJsonAsync<JsonElement>("/api/v1/channels");
        var email = list.EnumerateArray().Single(c => c.GetProperty("kind").GetString() == "email");
        Assert.Equal("cpr@ca.example", email.GetProperty("address").GetString());
        Assert.Equal(72, email.GetProperty("maxSilenceHours").GetInt32());
        Assert.True(email.GetProperty("groupAlias").GetBoolean());
        Assert.Equal(JsonValueKind.Null, email.GetProperty("lastCanary").ValueKind);
        Assert.Equal(0, email.GetProperty("driftFindings").GetArrayLength());
        var web = list.EnumerateArray().Single(c => c.GetProperty("kind").GetString() == "web-form");
        Assert.Equal("https://ca.example/report", web.GetProperty("url").GetString());
        Assert.Equal("web", web.GetProperty("route").GetString());

        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync("/api/v1/channels", new { address = "cpr@ca.example" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/v1/channels/cpr@ca.example")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/v1/channels/{id}")).StatusCode);

        await using var db = _host.Service<Database>().Open();
        var events = await db.AuditEvents.Where(e => e.Type.StartsWith("channel.")).Select(e => new { e.Type, e.Actor }).ToListAsync();
        Assert.Equal(["channel.added", "channel.added", "channel.changed", "channel.removed"], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal($"user:{_admin.Username}", e.Actor));
    }

    [Theory]
    [InlineData("{\"address\":\"not an address\"}", "address")]
    [InlineData("{\"address\":\"cpr@ca.example\",\"publishedIn\":[\"billboard\"]}", "publishedIn")]
    [InlineData("{\"address\":\"cpr@ca.example\",\"route\":\"web\"}", "route")]
    [InlineData("{\"url\":\"ftp://ca.example/x\",\"kind\":\"web-form\"}", "address")]
    [InlineData("{\"address\":\"cpr@ca.example\",\"lateAfterMinutes\":0}", "lateAfterMinutes")]
    [InlineData("{\"address\":\"cpr@ca.example\",\"aliasMembers\":[\"nobody\"]}", "aliasMembers")]
    [InlineData("{\"address\":5}", "address")]
    public async Task Bad_input_is_a_400_naming_the_field_and_nothing_is_stored(string body, string field)
    {
        var response = await _host.Client(_admin.Token).PostAsync("/api/v1/channels", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        await using var db = _host.Service<Database>().Open();
        Assert.Equal(0, await db.Channels.CountAsync());
    }

    [Fact]
    public async Task Only_admins_change_the_registry_and_anonymous_callers_read_nothing()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.Client(_staff.Token).PostAsJsonAsync("/api/v1/channels", new { address = "cpr@ca.example" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.Client().GetAsync("/api/v1/channels")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client(_staff.Token).GetAsync("/api/v1/channels")).StatusCode);
    }
}
