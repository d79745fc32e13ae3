// The on-call API through the real host: schedules, who is on call, overrides, absences and the gap warning, access and audit.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.OnCall;

public sealed class OnCallApiTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private (string Username, string Password, string Token) _admin, _staff, _auditor;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _admin = await _host.UserAsync(StaffRole.Admin);
        _staff = await _host.UserAsync(StaffRole.Staff);
        _auditor = await _host.UserAsync(StaffRole.Auditor);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static StringContent Body(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    private static string NewName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    /// <summary>Weekly hand-offs at 09:00 Warsaw time from Monday 2026-01-05: 08:00Z in winter, 07:00Z in summer.</summary>
    private static object Weekly(params string[] participants) => new
    {
        layers = new[]
        {
            new { name = "primary", priority = 0, participants, shift = new { days = 7 }, handOff = "09:00", timeZone = "Europe/Warsaw", start = "2026-01-05" },
        },
    };

    private async Task<string[]> StaffAsync(int n)
    {
        var names = new string[n];
        for (var i = 0; i < n; i++) names[i] = (await _host.UserAsync(StaffRole.Staff)).Username;
        return names;
    }

    private async Task<JsonElement> OnCallAsync(HttpClient client, string schedule, string at)
    {
        var response = await client.GetAsync($"/api/v1/oncall?at={at}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("schedules").EnumerateArray().Single(s => s.GetProperty("name").GetString() == schedule);
    }

    private static string? Primary(JsonElement schedule) =>
        schedule.GetProperty("onCall").EnumerateArray().Select(p => p.GetProperty("user").GetString()).SingleOrDefault();

    private async Task<List<string>> AuditTypesAsync()
    {
        await using var db = _host.Service<Database>().Open();
        return await db.AuditEvents.Where(e => e.Type.StartsWith("oncall.")).OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync();
    }

    [Fact]
    public async Task A_weekly_Warsaw_schedule_hands_off_at_nine_local_across_DST_and_an_absence_passes_to_the_next_person()
    {
        var (a, b, c) = await StaffAsync(3) is var p ? (p[0], p[1], p[2]) : default;
        var name = NewName("tls-");
        using var admin = _host.Client(_admin.Token);
        var put = await admin.PutAsync($"/api/v1/schedules/{name}", Body(Weekly(a, b, c)));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var stored = await put.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Europe/Warsaw", stored.GetProperty("layers")[0].GetProperty("timeZone").GetString());

        using var staff = _host.Client(_staff.Token);
        var listed = await staff.GetFromJsonAsync<JsonElement>("/api/v1/schedules");
        Assert.Contains(listed.EnumerateArray(), s => s.GetProperty("name").GetString() == name);

        var wednesday = await OnCallAsync(staff, name, "2026-01-07T12:00:00Z");
        Assert.Equal(a, Primary(wednesday));
        Assert.Equal(b, wednesday.GetProperty("secondary").GetString());
        Assert.Equal(new DateTime(2026, 1, 12, 8, 0, 0, DateTimeKind.Utc),
            wednesday.GetProperty("onCall")[0].GetProperty("until").GetDateTime().ToUniversalTime());
        Assert.Equal(a, Primary(await OnCallAsync(staff, name, "2026-01-12T07:59:59Z")));
        Assert.Equal(b, Primary(await OnCallAsync(staff, name, "2026-01-12T08:00:00Z")));
        // Shift 25 (b) hands over to shift 26 (c) at 09:00 CEST, 07:00Z.
        Assert.Equal(b, Primary(await OnCallAsync(staff, name, "2026-07-06T06:59:59Z")));
        Assert.Equal(c, Primary(await OnCallAsync(staff, name, "2026-07-06T07:00:00Z")));

        // An admin records a's absence; b covers for a.
        var absence = await admin.PostAsync("/api/v1/absences", Body(new { user = a, from = "2026-01-07T00:00:00Z", to = "2026-01-08T00:00:00Z", reason = "sick" }));
        Assert.Equal(HttpStatusCode.Created, absence.StatusCode);
        var covered = await OnCallAsync(staff, name, "2026-01-07T12:00:00Z");
        Assert.Equal(b, Primary(covered));
        Assert.Equal(a, covered.GetProperty("onCall")[0].GetProperty("coveringFor").GetString());

        // An override beats the rotation.
        var over = await staff.PostAsync("/api/v1/overrides", Body(new { schedule = name, user = c, from = "2026-01-07T10:00:00Z", to = "2026-01-07T14:00:00Z" }));
        Assert.Equal(HttpStatusCode.Created, over.StatusCode);
        var overridden = await OnCallAsync(staff, name, "2026-01-07T12:00:00Z");
        Assert.Equal(c, Primary(overridden));
        Assert.Equal("override", overridden.GetProperty("onCall")[0].GetProperty("layer").GetString());

        // Removing the absence puts a back (outside the override).
        var id = (await absence.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/absences/{id}")).StatusCode);
        Assert.Equal(a, Primary(await OnCallAsync(staff, name, "2026-01-07T09:00:00Z")));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/v1/absences/{id}")).StatusCode);

        var types = await AuditTypesAsync();
        foreach (var type in new[] { "oncall.schedule-saved", "oncall.absence-added", "oncall.override-added", "oncall.absence-removed" })
            Assert.Contains(type, types);
    }

    [Fact]
    public async Task An_absence_that_leaves_nobody_on_call_is_refused_until_confirmed_and_then_shows_as_a_gap()
    {
        var solo = (await StaffAsync(1))[0];
        var name = NewName("solo-");
        using var admin = _host.Client(_admin.Token);
        var put = await admin.PutAsync($"/api/v1/schedules/{name}", Body(new
        {
            layers = new[] { new { name = "all", priority = 0, participants = new[] { solo }, shift = new { days = 1 }, handOff = "00:00", timeZone = "Europe/Warsaw", start = "2026-01-01" } },
        }));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var now = DateTime.UtcNow;
        var from = new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, DateTimeKind.Utc).AddDays(1);
        var to = from.AddDays(1);
        var absence = new { user = solo, from = from.ToString("O"), to = to.ToString("O"), reason = "leave" };

        var refused = await admin.PostAsync("/api/v1/absences", Body(absence));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("confirm=true", problem.GetProperty("detail").GetString());
        Assert.Contains(name, problem.GetProperty("detail").GetString());
        var gap = Assert.Single(problem.GetProperty("gaps").EnumerateArray());
        Assert.Equal(name, gap.GetProperty("schedule").GetString());
        Assert.Equal(from, gap.GetProperty("from").GetDateTime().ToUniversalTime());
        Assert.Equal(to, gap.GetProperty("to").GetDateTime().ToUniversalTime());

        using var before = _host.Client(_auditor.Token);
        var noGaps = await before.GetFromJsonAsync<JsonElement>("/api/v1/coverage-gaps");
        Assert.DoesNotContain(noGaps.EnumerateArray(), g => g.GetProperty("schedule").GetString() == name);

        var saved = await admin.PostAsync("/api/v1/absences?confirm=true", Body(absence));
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        var gaps = await before.GetFromJsonAsync<JsonElement>("/api/v1/coverage-gaps?days=28");
        var listed = Assert.Single(gaps.EnumerateArray(), g => g.GetProperty("schedule").GetString() == name);
        Assert.Equal(from, listed.GetProperty("from").GetDateTime().ToUniversalTime());
        Assert.Equal(to, listed.GetProperty("to").GetDateTime().ToUniversalTime());

        await using var db = _host.Service<Database>().Open();
        var added = await db.AuditEvents.Where(e => e.Type == "oncall.absence-added").OrderByDescending(e => e.Seq).FirstAsync();
        Assert.Contains(name, added.Detail);
        Assert.Contains("gapsCreated", added.Detail);
        Assert.Equal($"user:{_admin.Username}", added.Actor);

        // The queue page shows who is on call now and the gap coming up.
        using var page = await _host.SignedInClientAsync(_admin.Username, _admin.Password);
        var html = await page.GetStringAsync("/staff");
        Assert.Matches($@"{name}:\s+<strong>{solo}</strong>", html);
        Assert.Contains("Coverage gaps in the next 7 days", html);
        Assert.Contains($"{name}: {from:yyyy-MM-dd HH:mm}", html);
    }

    [Fact]
    public async Task Only_admins_edit_schedules_and_only_admins_record_absences_for_others()
    {
        var (a, b) = await StaffAsync(2) is var p ? (p[0], p[1]) : default;
        using var auditor = _host.Client(_auditor.Token);
        var denied = await auditor.PutAsync($"/api/v1/schedules/{NewName("x-")}", Body(Weekly(a, b)));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        using var staff = _host.Client(_staff.Token);
        Assert.Equal(HttpStatusCode.Forbidden, (await staff.PutAsync($"/api/v1/schedules/{NewName("x-")}", Body(Weekly(a, b)))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsync("/api/v1/absences", Body(new { user = _auditor.Username, from = "2026-01-07T00:00:00Z", to = "2026-01-08T00:00:00Z" }))).StatusCode);

        var forOther = await staff.PostAsync("/api/v1/absences", Body(new { user = a, from = "2026-01-07T00:00:00Z", to = "2026-01-08T00:00:00Z", reason = "x" }));
        Assert.Equal(HttpStatusCode.Forbidden, forOther.StatusCode);
        Assert.Equal("application/problem+json", forOther.Content.Headers.ContentType?.MediaType);
        var own = await staff.PostAsync("/api/v1/absences", Body(new { user = _staff.Username, from = "2026-01-07T00:00:00Z", to = "2026-01-08T00:00:00Z", reason = "dentist" }));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.Client().GetAsync("/api/v1/oncall")).StatusCode);
    }

    [Theory]
    [InlineData("timeZone", "Europe/Warsw", "layers[0].timeZone")]
    [InlineData("handOff", "9 o'clock", "layers[0].handOff")]
    [InlineData("start", "05/01/2026", "layers[0].start")]
    [InlineData("participants", "nobody-here", "layers[0].participants[0]")]
    public async Task A_bad_schedule_is_refused_naming_the_field(string property, string value, string field)
    {
        var user = (await StaffAsync(1))[0];
        var layer = new Dictionary<string, object>
        {
            ["name"] = "primary", ["priority"] = 0, ["participants"] = new[] { user }, ["shift"] = new { days = 7 },
            ["handOff"] = "09:00", ["timeZone"] = "Europe/Warsaw", ["start"] = "2026-01-05",
        };
        layer[property] = property == "participants" ? new[] { value } : value;
        using var admin = _host.Client(_admin.Token);
        var response = await admin.PutAsync($"/api/v1/schedules/{NewName("bad-")}", Body(new { layers = new[] { layer } }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("/api/v1/coverage-gaps?days=0", "days")]
    [InlineData("/api/v1/coverage-gaps?days=367", "days")]
    [InlineData("/api/v1/oncall?at=yesterday", "at")]
    public async Task Bad_query_parameters_are_refused_naming_them(string url, string field)
    {
        using var client = _host.Client(_auditor.Token);
        var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Bad_absence_and_override_bodies_are_refused_naming_the_field()
    {
        using var admin = _host.Client(_admin.Token);
        async Task<string?> FieldOf(HttpResponseMessage r)
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString();
        }
        Assert.Equal("to", await FieldOf(await admin.PostAsync("/api/v1/absences",
            Body(new { user = _staff.Username, from = "2026-01-08T00:00:00Z", to = "2026-01-07T00:00:00Z" }))));
        Assert.Equal("user", await FieldOf(await admin.PostAsync("/api/v1/absences",
            Body(new { user = "ghost", from = "2026-01-07T00:00:00Z", to = "2026-01-08T00:00:00Z" }))));
        Assert.Equal("body", await FieldOf(await admin.PostAsync("/api/v1/absences", new StringContent("{not json", Encoding.UTF8, "application/json"))));
        Assert.Equal("schedule", await FieldOf(await admin.PostAsync("/api/v1/overrides",
            Body(new { schedule = "no-such", user = _staff.Username, from = "2026-01-07T00:00:00Z", to = "2026-01-08T00:00:00Z" }))));
    }
}
