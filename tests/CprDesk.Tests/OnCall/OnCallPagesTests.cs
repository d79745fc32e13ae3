// The on-call pages through the real host with a signed-in browser-like client (cookies, anti-forgery tokens, forms).
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.OnCall;

public sealed class OnCallPagesTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(Desk.Start); // Friday 2026-03-06 19:45Z
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(time: _time);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static async Task<string> PostAsync(HttpClient client, string page, Dictionary<string, string> form)
    {
        var html = await client.GetStringAsync(page);
        form["__RequestVerificationToken"] = TestHost.AntiforgeryToken(html);
        var response = await client.PostAsync(page.Split('?')[0] + (page.Contains('?') ? "&" : "?") + "handler=" + form["handler"], new FormUrlEncodedContent(form.Where(kv => kv.Key != "handler")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task The_calendar_highlights_a_gap_and_an_absence_that_opens_one_is_saved_only_after_confirming()
    {
        var admin = await _host.UserAsync(StaffRole.Admin);
        var staff = await _host.UserAsync(StaffRole.Staff);
        using var api = _host.Client(admin.Token);
        var put = await api.PutAsJsonAsync("/api/v1/schedules/cpr", new
        {
            layers = new[] { new { name = "solo", priority = 0, participants = new[] { staff.Username }, shift = new { days = 7 }, handOff = "09:00", timeZone = "Europe/Warsaw", start = "2026-02-23" } },
        });
        Assert.True(put.IsSuccessStatusCode);
        using var web = await _host.SignedInClientAsync(staff.Username, staff.Password);

        var calendar = await web.GetStringAsync("/staff/oncall");
        Assert.Contains($"<strong class=\"now\">{staff.Username}</strong>", calendar);
        Assert.DoesNotContain("class=\"gap\"", calendar);
        Assert.Equal(28, Regex.Matches(calendar, "data-day=").Count);

        var form = new Dictionary<string, string>
        {
            ["handler"] = "Save", ["UserName"] = staff.Username, ["From"] = "2026-03-10T00:00", ["To"] = "2026-03-12T00:00", ["Reason"] = "dentist",
        };
        var warned = await PostAsync(web, "/staff/oncall/absences", new(form));
        Assert.Contains("id=\"gap-warning\"", warned);
        Assert.Contains("cpr: 2026-03-10 00:00 – 2026-03-12 00:00 UTC", warned);
        await using (var db = _host.Service<Database>().Open())
            Assert.Empty(await db.Absences.ToListAsync());

        var saved = await PostAsync(web, "/staff/oncall/absences", new(form) { ["confirm"] = "true" });
        Assert.Contains("id=\"saved\"", saved);
        Assert.DoesNotContain("id=\"gap-warning\"", saved);
        await using (var db = _host.Service<Database>().Open())
        {
            var a = Assert.Single(await db.Absences.ToListAsync());
            Assert.Equal(new DateTime(2026, 3, 10, 0, 0, 0, DateTimeKind.Utc), a.FromAt);
            Assert.Equal("user:" + staff.Username, a.CreatedBy);
        }
        calendar = await web.GetStringAsync("/staff/oncall");
        Assert.Contains("class=\"gap\" data-day=\"2026-03-10\"", calendar);
        Assert.Contains("class=\"gap\" data-day=\"2026-03-11\"", calendar);
        Assert.DoesNotContain("class=\"gap\" data-day=\"2026-03-12\"", calendar);

        // Staff may not record someone else's absence; bad input is named.
        var other = await PostAsync(web, "/staff/oncall/absences", new(form) { ["UserName"] = admin.Username, ["confirm"] = "true" });
        Assert.Contains("Only an admin", other);
        var bad = await PostAsync(web, "/staff/oncall/absences", new(form) { ["From"] = "yesterday" });
        Assert.Contains("from:", bad);

        // Contact methods on the page.
        var added = await PostAsync(web, "/staff/oncall/contacts", new() { ["handler"] = "Add", ["kind"] = "webhook", ["target"] = "https://chat.example/me" });
        Assert.Contains("https://chat.example/me", added);
        var refused = await PostAsync(web, "/staff/oncall/contacts", new() { ["handler"] = "Add", ["kind"] = "email", ["target"] = "nope" });
        Assert.Contains("target:", refused);
        var forbidden = await web.GetAsync($"/staff/oncall/contacts?user={admin.Username}");
        Assert.NotEqual(HttpStatusCode.OK, forbidden.StatusCode);
        await using (var db = _host.Service<Database>().Open())
            Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Type == "contact-method.added" && e.Actor == "user:" + staff.Username));
    }
}
