using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;

namespace CprDesk.Tests.Web;

/// <summary>Who may do what, over HTTP: anonymous, auditor, staff and admin against every endpoint.</summary>
public sealed class AccessTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private readonly Dictionary<string, (string Username, string Password, string Token)> _users = [];
    private string _ticket = "";

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        foreach (var role in new[] { StaffRole.Admin, StaffRole.Staff, StaffRole.Auditor })
            _users[role.ToString().ToLowerInvariant()] = await _host.UserAsync(role);
        _ticket = await NewReportAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<string> NewReportAsync(string description = "A report")
    {
        using var client = _host.Client();
        var r = await client.PostAsync("/api/v1/reports", new StringContent(JsonSerializer.Serialize(new { reporterEmail = "r@example.org", description }), Encoding.UTF8, "application/json"));
        return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;
    }

    private HttpClient ClientAs(string who) => who == "anonymous" ? _host.Client() : _host.Client(_users[who].Token);

    private static StringContent Body(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("anonymous", 401, 401, 401)]
    [InlineData("auditor", 200, 200, 403)]
    [InlineData("staff", 200, 200, 200)]
    [InlineData("admin", 200, 200, 200)]
    public async Task API_authorization_matrix(string who, int list, int get, int act)
    {
        using var client = ClientAs(who);
        Assert.Equal(list, (int)(await client.GetAsync("/api/v1/reports")).StatusCode);
        Assert.Equal(get, (int)(await client.GetAsync($"/api/v1/reports/{_ticket}")).StatusCode);
        foreach (var (action, body) in new (string, object)[]
                 {
                     ("classify", new { reason = "12" }),
                     ("assign", new { assignee = _users["staff"].Username }),
                     ("preliminary-report", new { recipient = "reporter", text = "We are investigating; findings so far: …" }),
                     ("subscriber", new { email = "subscriber@example.net" }),
                 })
        {
            var response = await client.PostAsync($"/api/v1/reports/{_ticket}/actions/{action}", Body(body));
            Assert.True(act == (int)response.StatusCode, $"{who} {action}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        // Anonymous submission is open to everyone, signed in or not.
        var submit = await client.PostAsync("/api/v1/reports", Body(new { reporterEmail = "x@example.org", description = "d" }));
        Assert.Equal(HttpStatusCode.Created, submit.StatusCode);
    }

    [Theory]
    [InlineData("revocation")]
    [InlineData("close")]
    [InlineData("reopen")]
    public async Task Auditors_may_not_act(string action)
    {
        using var client = ClientAs("auditor");
        var response = await client.PostAsync($"/api/v1/reports/{_ticket}/actions/{action}", Body(new { }));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_staff_token_runs_a_report_to_closure_and_every_step_is_an_event()
    {
        var ticket = await NewReportAsync();
        using var client = ClientAs("staff");
        async Task<JsonElement> Act(string action, object body)
        {
            var r = await client.PostAsync($"/api/v1/reports/{ticket}/actions/{action}", Body(body));
            Assert.True(r.IsSuccessStatusCode, $"{action}: {await r.Content.ReadAsStringAsync()}");
            return await r.Content.ReadFromJsonAsync<JsonElement>();
        }
        await Act("assign", new { assignee = _users["staff"].Username });
        await Act("classify", new { reason = "3", note = "private key attached" });
        await Act("preliminary-report", new { recipient = "reporter", text = "Key compromise confirmed.", send = false });
        await Act("preliminary-report", new { recipient = "subscriber", to = "owner@example.net", text = "Your key is compromised.", send = false });
        await Act("revocation", new { note = "CRL published" });
        var closed = await Act("close", new { note = "done" });
        Assert.Equal("Closed", closed.GetProperty("state").GetString());
        Assert.Equal("Revoked", closed.GetProperty("resolution").GetString());
        Assert.Equal("keyCompromise", closed.GetProperty("crlReason").GetString());
        var deadlines = closed.GetProperty("deadlines").EnumerateArray().ToList();
        Assert.All(deadlines, d => Assert.Equal("met", d.GetProperty("state").GetString()));
        Assert.Contains(deadlines, d => d.GetProperty("recipient").GetString() == "owner@example.net");
        var types = closed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        foreach (var t in new[] { "report.created", "report.assigned", "report.classified", "preliminary-report.recorded", "revocation.recorded", "report.closed", "deadline.met", "report.state-changed" })
            Assert.Contains(t, types);
        Assert.All(closed.GetProperty("events").EnumerateArray(), e => Assert.Matches("^[0-9a-f]{64}$", e.GetProperty("hash").GetString()));

        var list = await client.GetFromJsonAsync<JsonElement>("/api/v1/reports?state=Closed");
        Assert.Contains(list.EnumerateArray(), r => r.GetProperty("ticket").GetString() == ticket);
    }

    [Fact]
    public async Task Unknown_tickets_actions_and_filters_are_clear_errors()
    {
        using var client = ClientAs("staff");
        var missing = await client.GetAsync("/api/v1/reports/CPR-2026-999999");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/api/v1/reports/CPR-2026-999999/actions/classify", Body(new { reason = "3" }))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/api/v1/reports/{_ticket}/actions/delete", Body(new { }))).StatusCode);
        var bad = await client.PostAsync($"/api/v1/reports/{_ticket}/actions/classify", new StringContent("{oops", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var badReason = await client.PostAsync($"/api/v1/reports/{_ticket}/actions/classify", Body(new { reason = "42" }));
        Assert.Equal("reason", (await badReason.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/reports?state=Lost")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/reports?dueBefore=tomorrow")).StatusCode);
        var due = await client.GetFromJsonAsync<JsonElement>($"/api/v1/reports?dueBefore={Uri.EscapeDataString(DateTime.UtcNow.AddDays(2).ToString("O"))}");
        Assert.Contains(due.EnumerateArray(), r => r.GetProperty("ticket").GetString() == _ticket);
        var none = await client.GetFromJsonAsync<JsonElement>($"/api/v1/reports?dueBefore={Uri.EscapeDataString(DateTime.UtcNow.AddHours(-1).ToString("O"))}");
        Assert.DoesNotContain(none.EnumerateArray(), r => r.GetProperty("ticket").GetString() == _ticket);
    }

    [Fact]
    public async Task A_revoked_or_unknown_token_is_refused()
    {
        using var bogus = _host.Client("cprd_" + new string('0', 64));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bogus.GetAsync("/api/v1/reports")).StatusCode);
        var accounts = _host.Service<CprDesk.Access.Accounts>();
        var (user, _) = await accounts.CreateAsync("test", "shortlived", StaffRole.Staff, null, null);
        var token = await accounts.CreateTokenAsync("test", user.Username, null);
        using var client = _host.Client(token.Token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/reports")).StatusCode);
        await accounts.RevokeTokenAsync("test", token.Prefix);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/reports")).StatusCode);
    }

    [Theory]
    [InlineData("anonymous", HttpStatusCode.Redirect)]
    [InlineData("auditor", HttpStatusCode.OK)]
    [InlineData("staff", HttpStatusCode.OK)]
    [InlineData("admin", HttpStatusCode.OK)]
    public async Task Dashboard_pages_need_a_signed_in_account(string who, HttpStatusCode expected)
    {
        using var client = who == "anonymous" ? _host.Client() : await _host.SignedInClientAsync(_users[who].Username, _users[who].Password);
        var queue = await client.GetAsync("/staff");
        Assert.Equal(expected, queue.StatusCode);
        var report = await client.GetAsync($"/staff/reports/{_ticket}");
        Assert.Equal(expected, report.StatusCode);
        if (who == "anonymous")
        {
            Assert.Equal("/staff/login", PathOf(queue.Headers.Location!));
            Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/staff/messages/1/raw")).StatusCode);
        }
        else
        {
            Assert.Contains(_ticket, await queue.Content.ReadAsStringAsync());
            var html = await report.Content.ReadAsStringAsync();
            Assert.Equal(who != "auditor", html.Contains("Send preliminary report"));
            var detail = await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(_ticket);
            var raw = await client.GetAsync($"/staff/reports/{_ticket}/messages/{detail!.Messages[0].Id}/raw");
            Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
            Assert.Contains("r@example.org", await raw.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/staff/messages/{detail.Messages[0].Id}/raw")).StatusCode);
        }
    }

    [Fact]
    public async Task An_auditor_posting_a_dashboard_action_is_forbidden()
    {
        var (u, p, _) = _users["auditor"];
        using var client = await _host.SignedInClientAsync(u, p);
        var page = await client.GetStringAsync($"/staff/reports/{_ticket}");
        var response = await client.PostAsync($"/staff/reports/{_ticket}?handler=Classify", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["reason"] = "3", ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(page),
        }));
        Assert.True(response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Redirect, response.StatusCode.ToString());
        if (response.StatusCode == HttpStatusCode.Redirect) Assert.Equal("/staff/denied", PathOf(response.Headers.Location!));
        var detail = await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(_ticket);
        Assert.DoesNotContain(detail!.Events, e => e.Type == "report.classified" && e.Actor == $"user:{u}");
    }

    [Fact]
    public async Task Dashboard_actions_without_the_antiforgery_token_are_rejected()
    {
        var (u, p, _) = _users["staff"];
        using var client = await _host.SignedInClientAsync(u, p);
        var ticket = await NewReportAsync();
        var forged = await client.PostAsync($"/staff/reports/{ticket}?handler=Classify", new FormUrlEncodedContent(new Dictionary<string, string> { ["reason"] = "12" }));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var after = await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket);
        Assert.Null(after!.Report.RevocationReason);

        var page = await client.GetStringAsync($"/staff/reports/{ticket}");
        var real = await client.PostAsync($"/staff/reports/{ticket}?handler=Classify", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["reason"] = "12", ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(page),
        }));
        Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        Assert.Equal("12", (await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket))!.Report.RevocationReason);
    }

    [Fact]
    public async Task Markup_in_any_field_is_shown_escaped()
    {
        const string evil = "<script>alert('pwned')</script><img src=x onerror=alert(1)>";
        using var anon = _host.Client();
        var r = await anon.PostAsync("/api/v1/reports", Body(new { reporterEmail = "r@example.org", reporterName = evil, description = evil, certificates = new[] { evil } }));
        var created = await r.Content.ReadFromJsonAsync<JsonElement>();
        var ticket = created.GetProperty("ticket").GetString()!;
        var (u, p, _) = _users["staff"];
        using var client = await _host.SignedInClientAsync(u, p);
        foreach (var html in new[] { await client.GetStringAsync($"/staff/reports/{ticket}"), await client.GetStringAsync("/staff"), await anon.GetStringAsync(created.GetProperty("statusUrl").GetString()) })
        {
            Assert.DoesNotContain("<script>alert", html);
            Assert.DoesNotContain("<img src=x", html);
        }
        Assert.Contains("&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;", await client.GetStringAsync($"/staff/reports/{ticket}"));
    }

    private static string PathOf(Uri location) => location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString.Split('?')[0];

    [Theory]
    [InlineData("", "")]
    [InlineData("admin", "")]
    [InlineData("", "secret")]
    public async Task An_empty_sign_in_form_is_a_clear_error_not_a_fault(string username, string password)
    {
        using var client = _host.Client();
        var form = await client.GetStringAsync("/staff/login");
        var response = await client.PostAsync("/staff/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Username"] = username, ["Password"] = password, ["__RequestVerificationToken"] = TestHost.AntiforgeryToken(form),
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Enter your username and password", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_account()
    {
        var accounts = _host.Service<CprDesk.Access.Accounts>();
        var (user, oneTime) = await accounts.CreateAsync("test", "lockme", StaffRole.Staff, null, null);
        for (var i = 0; i < CprDesk.Access.Accounts.MaxFailedSignIns; i++)
            Assert.Null((await accounts.SignInAsync("lockme", "wrong", null)).User);
        var locked = await accounts.SignInAsync("lockme", oneTime, null);
        Assert.Null(locked.User);
        Assert.Contains("locked", locked.Error);
        var fresh = await accounts.ResetPasswordAsync("test", "lockme"); // an admin's reset clears the lock
        Assert.Equal(user.Id, (await accounts.SignInAsync("lockme", fresh, null)).User?.Id);
    }
}
