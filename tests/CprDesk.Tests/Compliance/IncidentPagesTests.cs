// The staff pages for incidents through the real host: the list, the incident page (clocks, action items, draft,
// validation), the weekly review form, and the dashboard's warning when the IRG template in use is superseded.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Compliance;

public sealed class IncidentPagesTests
{
    private static StringContent Json(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Staff_see_incidents_review_bugs_and_are_warned_of_a_superseded_template()
    {
        // IRG 3.2 as shipped, but marked superseded on 2026-01-15: more than 30 days before "now" (2026-03-06).
        using var templates = new TempDir();
        var shipped = Path.Combine(AppContext.BaseDirectory, "rules", "irg", "3.2");
        var copy = Directory.CreateDirectory(Path.Combine(templates.Path, "3.2")).FullName;
        foreach (var f in Directory.GetFiles(shipped)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var manifest = File.ReadAllText(Path.Combine(copy, "manifest.json")).Replace("\"supersededOn\": null", "\"supersededOn\": \"2026-01-15\"");
        File.WriteAllText(Path.Combine(copy, "manifest.json"), manifest);
        var time = new FakeTimeProvider(Desk.Start);
        await using var host = await TestHost.StartAsync(time: time, extra: new Dictionary<string, string?>
        {
            ["CprDesk:Incidents:CaOwnerName"] = "Example CA",
            ["CprDesk:Incidents:CaOwnerCcadbId"] = "A000123",
            ["CprDesk:Incidents:TemplatesDirectory"] = templates.Path,
        });
        var (user, password, token) = await host.UserAsync(StaffRole.Staff);
        using var api = host.Client(token);
        var created = await api.PostAsync("/api/v1/incidents", Json(new { kind = "cpr-response", title = "Late <preliminary> report" }));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var rc = (await (await api.PostAsync($"/api/v1/incidents/{id}/findings", Json(new { kind = "root-cause", title = "No weekend rota" }))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var item = (await (await api.PostAsync($"/api/v1/incidents/{id}/action-items", Json(new { title = "Weekend rota", kind = "Prevent", findings = new[] { rc } }))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await api.PostAsync("/api/v1/bugzilla/import", new StringContent(BugzillaWatchTests.Fixture("bugzilla-bugs.json"), Encoding.UTF8, "application/json"));

        var validation = await api.GetFromJsonAsync<JsonElement>($"/api/v1/incidents/{id}/validation?kind=preliminary");
        Assert.Contains(validation.GetProperty("problems").EnumerateArray(), p => p.GetProperty("field").GetString() == "templateVersion");

        using var browser = await host.SignedInClientAsync(user, password);
        var dashboard = await browser.GetStringAsync("/staff");
        Assert.Contains("id=\"template-warning\"", dashboard);
        Assert.Contains("IRG template 3.2 was superseded on 2026-01-15, more than 30 days ago", dashboard);
        Assert.Contains($"href=\"/staff/incidents/{id}\"", dashboard);

        var list = await browser.GetStringAsync("/staff/incidents");
        Assert.Contains("Late &lt;preliminary&gt; report", list);
        Assert.Contains("eMudhra: Invalid CRL signatures", list);

        var page = await browser.GetStringAsync($"/staff/incidents/{id}");
        Assert.Contains("Example CA: Late &lt;preliminary&gt; report", page);
        Assert.Contains("incident-initial-report", page);
        Assert.Contains("## Full Incident Report", page);
        Assert.Contains("id=\"validation\"", page);
        Assert.Contains("Weekend rota", page);
        Assert.Contains("### Report Closure Summary", await browser.GetStringAsync($"/staff/incidents/{id}?kind=closure"));

        // A person changes an action item's status on the page: audited, and the 3-day update clock starts.
        var form = await browser.PostAsync($"/staff/incidents/{id}?handler=Status", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["item"] = item.ToString(), ["status"] = "Delayed", ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(page),
        }));
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Contains("the 3-day update clock started", await form.Content.ReadAsStringAsync());
        var incident = await api.GetFromJsonAsync<JsonElement>($"/api/v1/incidents/{id}");
        Assert.Equal("Delayed", incident.GetProperty("actionItems")[0].GetProperty("status").GetString());

        // The weekly review from the list page.
        var review = await browser.PostAsync("/staff/incidents?handler=Review", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["bug"] = "1970728", ["verdict"] = "not-relevant", ["note"] = "We sign CRLs with one key only.", ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(list),
        }));
        Assert.Contains("Bug 1970728 reviewed.", await review.Content.ReadAsStringAsync());
        var queue = await api.GetFromJsonAsync<JsonElement>("/api/v1/bugzilla/review");
        Assert.DoesNotContain(queue.EnumerateArray(), b => b.GetProperty("id").GetInt64() == 1970728);
    }
}
