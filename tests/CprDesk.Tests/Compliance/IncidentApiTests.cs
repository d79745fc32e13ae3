// Incidents through the real host and the CLI as a process: create, edit, findings and action items, validation
// before posting (problem+json naming each problem), the Markdown draft, the appendix CSV, the Bugzilla import and
// review, access by role.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;

namespace CprDesk.Tests.Compliance;

public sealed class IncidentApiTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(extra: new Dictionary<string, string?>
    {
        ["CprDesk:Incidents:CaOwnerName"] = "Example CA",
        ["CprDesk:Incidents:CaOwnerCcadbId"] = "A000123",
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static StringContent Json(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_person_builds_an_incident_and_it_is_refused_for_posting_until_valid()
    {
        var (_, _, staffToken) = await _host.UserAsync(StaffRole.Staff);
        var (_, _, auditorToken) = await _host.UserAsync(StaffRole.Auditor);
        using var staff = _host.Client(staffToken);
        using var auditor = _host.Client(auditorToken);
        using var anon = _host.Client();
        var pem = IncidentKit.Certificate(DateTimeOffset.UtcNow.AddDays(-5)).Pem;
        var created = await anon.PostAsync("/api/v1/reports", Json(new { reporterEmail = "r@example.org", reporterName = "Rae Porter", description = "key leaked", certificates = new[] { pem } }));
        var ticket = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;

        // Bad input names the field.
        var bad = await staff.PostAsync("/api/v1/incidents", Json(new { kind = "cpr-response", title = "x", source = "Rumour" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Equal("source", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsync("/api/v1/incidents", Json(new { title = "x" }))).StatusCode);

        var response = await staff.PostAsync("/api/v1/incidents", Json(new { kind = "cpr-response", title = "Late preliminary report", source = "Self Reported", reports = new[] { ticket } }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var incident = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = incident.GetProperty("id").GetInt64();
        Assert.Equal("Example CA: Late preliminary report", incident.GetProperty("bugSummary").GetString());
        Assert.Equal(ticket, incident.GetProperty("reports")[0].GetProperty("ticket").GetString());
        Assert.Contains(incident.GetProperty("clocks").EnumerateArray(), c => c.GetProperty("name").GetString() == "incident-initial-report" && c.GetProperty("state").GetString() == "open");

        // The reporter's name in a field without consent, and a "didn't go well" item without an action item.
        var patched = await staff.PatchAsync($"/api/v1/incidents/{id}", Json(new { fields = new Dictionary<string, string> { ["incidentDescription"] = "Rae Porter told us about a leaked key." } }));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal("fields.nope", (await (await staff.PatchAsync($"/api/v1/incidents/{id}", Json(new { fields = new Dictionary<string, string> { ["nope"] = "x" } })))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var rc = (await (await staff.PostAsync($"/api/v1/incidents/{id}/findings", Json(new { kind = "root-cause", title = "Nobody on call at weekends",
            detail = new { description = "The rota had no weekend layer.", methodology = "5-Whys" } }))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var dgw = (await (await staff.PostAsync($"/api/v1/incidents/{id}/findings", Json(new { kind = "didnt-go-well", title = "The acknowledgement was mistaken for a reply" })))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var badKind = await staff.PostAsync($"/api/v1/incidents/{id}/action-items", Json(new { title = "Rota", kind = "Hope", findings = new[] { rc } }));
        Assert.Equal("kind", (await badKind.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var item = await staff.PostAsync($"/api/v1/incidents/{id}/action-items", Json(new { title = "Weekend rota", kind = "Prevent", findings = new[] { rc }, owner = "carol", dueOn = "2026-12-01" }));
        Assert.Equal(HttpStatusCode.Created, item.StatusCode);

        var refused = await staff.PostAsync($"/api/v1/incidents/{id}/posts", Json(new { kind = "full" }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        var problems = problem.GetProperty("problems").EnumerateArray().Select(p => (p.GetProperty("field").GetString(), p.GetProperty("message").GetString())).ToList();
        Assert.Contains(problems, p => p.Item1 == "fields.incidentDescription" && p.Item2!.Contains("names the reporter"));
        Assert.Contains(problems, p => p.Item1 == $"findings[{dgw}]" && p.Item2!.Contains("no corresponding action item"));
        Assert.Equal(2, problems.Count);

        // Fix both; then it posts, and the status and clocks move.
        await staff.PatchAsync($"/api/v1/incidents/{id}", Json(new { reporterConsent = true }));
        await staff.PostAsync($"/api/v1/incidents/{id}/action-items", Json(new { title = "Separate preliminary report step", kind = "Mitigate", findings = new[] { dgw } }));
        var validation = await auditor.GetFromJsonAsync<JsonElement>($"/api/v1/incidents/{id}/validation?kind=full");
        Assert.True(validation.GetProperty("ok").GetBoolean(), validation.ToString());
        var posted = await staff.PostAsync($"/api/v1/incidents/{id}/posts", Json(new { kind = "full" }));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var after = await posted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("full-reported", after.GetProperty("status").GetString());
        Assert.Contains(after.GetProperty("clocks").EnumerateArray(), c => c.GetProperty("name").GetString() == "incident-full-report" && c.GetProperty("state").GetString() == "met");

        // The draft as Markdown, the appendix as CSV; readable by an auditor.
        var draft = await auditor.GetAsync($"/api/v1/incidents/{id}/draft?kind=full");
        Assert.Equal("text/markdown", draft.Content.Headers.ContentType?.MediaType);
        var markdown = await draft.Content.ReadAsStringAsync();
        Assert.StartsWith("## Full Incident Report", markdown);
        Assert.Contains("**Contributing Factor #1: Nobody on call at weekends**\n- **Description:** The rota had no weekend layer.", markdown);
        Assert.Contains("- **Root Cause Analysis methodology used:** 5-Whys", markdown);
        Assert.Contains("| Weekend rota | Prevent | Root Cause # 1 | N/A | 2026-12-01 | Ongoing |", markdown);
        Assert.StartsWith("### Report Closure Summary", await auditor.GetStringAsync($"/api/v1/incidents/{id}/draft?kind=closure"));
        Assert.Equal("kind", (await (await auditor.GetAsync($"/api/v1/incidents/{id}/draft?kind=final")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        var csv = await auditor.GetAsync($"/api/v1/incidents/{id}/appendix.csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n");
        Assert.Equal("Precertificate SHA-256 hash,Certificate SHA-256 hash,Subject,Issuer,Not before,Not after,Serial #,dNSNames,Is revoked?,Revocation date,Revocation reason", lines[0]);
        Assert.Contains("shop.example.com www.shop.example.com,Planned,", lines[1]);
        Assert.Equal(HttpStatusCode.NotFound, (await auditor.GetAsync("/api/v1/incidents/999")).StatusCode);

        // The CLI prints the same draft from the same data directory; a bad kind is one line and exit 2.
        var cli = await Support.Cli.RunAsync("incident", "draft", id.ToString(), "--kind", "full", "--data", _host.DataDirectory);
        Assert.Equal(0, cli.ExitCode);
        Assert.StartsWith("## Full Incident Report", cli.Stdout);
        Assert.Contains("| Weekend rota | Prevent | Root Cause # 1 |", cli.Stdout);
        var wrong = await Support.Cli.RunAsync("incident", "draft", id.ToString(), "--kind", "final", "--data", _host.DataDirectory);
        Assert.Equal(2, wrong.ExitCode);
        Assert.Equal("cprdesk: kind must be one of: preliminary, full, closure.", wrong.Stderr.Trim());
    }

    [Fact]
    public async Task Bugzilla_import_review_and_related_through_the_API_and_the_CLI()
    {
        var (_, _, staffToken) = await _host.UserAsync(StaffRole.Staff);
        using var staff = _host.Client(staffToken);
        var cli = await Support.Cli.RunAsync("bugzilla", "import", Path.Combine(AppContext.BaseDirectory, "Compliance", "Fixtures", "bugzilla-bugs.json"),
            Path.Combine(AppContext.BaseDirectory, "Compliance", "Fixtures", "bugzilla-comments.json"), "--data", _host.DataDirectory);
        Assert.Equal(0, cli.ExitCode);
        Assert.Contains("bugzilla-bugs.json: 8 bug(s) (8 new)", cli.Stdout);
        var notJson = await staff.PostAsync("/api/v1/bugzilla/import", new StringContent("{\"nope\":1}", Encoding.UTF8, "application/json"));
        Assert.Equal("bugs", (await notJson.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        var queue = await staff.GetFromJsonAsync<JsonElement>("/api/v1/bugzilla/review");
        Assert.Equal(7, queue.GetArrayLength());
        var kir = queue.EnumerateArray().Single(b => b.GetProperty("id").GetInt64() == 1967929);
        Assert.Equal("2025-05-23", kir.GetProperty("nextUpdate").GetString());
        Assert.Contains("CPR", kir.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        var reviewed = await staff.PostAsync("/api/v1/bugzilla/bugs/1967929/review", Json(new { verdict = "relevant", note = "Check our general web form does not route CPRs." }));
        Assert.Equal(HttpStatusCode.OK, reviewed.StatusCode);
        Assert.Equal(6, (await staff.GetFromJsonAsync<JsonElement>("/api/v1/bugzilla/review")).GetArrayLength());

        var created = await staff.PostAsync("/api/v1/incidents", Json(new { kind = "cpr-response", title = "Failure to respond to a Certificate Problem Report within 24 hours" }));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var related = await staff.GetFromJsonAsync<JsonElement>($"/api/v1/incidents/{id}/related");
        var ids = related.EnumerateArray().Select(r => r.GetProperty("bug").GetInt64()).ToList();
        Assert.Contains(1970727L, ids);
        Assert.DoesNotContain(1970728L, ids);
        var relatedCli = await Support.Cli.RunAsync("bugzilla", "related", "--incident", id.ToString(), "--data", _host.DataDirectory);
        Assert.Equal(0, relatedCli.ExitCode);
        Assert.Contains("| [1970727](https://bugzilla.mozilla.org/show_bug.cgi?id=1970727) | 2025-06-05 |  |", relatedCli.Stdout);
        Assert.DoesNotContain("1970728", relatedCli.Stdout);
    }
}
