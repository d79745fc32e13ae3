using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>The public form and the API through the real host on loopback: durable reports, clear errors.</summary>
public sealed class SubmissionTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(maxAttachmentBytes: 256 * 1024);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task The_API_creates_a_durable_report_with_its_clocks_and_the_raw_body()
    {
        var body = """{"reporterEmail":"r@example.org","reporterName":"R","problemType":"key-compromise","certificates":["5F:3C:91:00:AB"],"description":"Key published on a paste site","attachments":[{"fileName":"key.pem","contentBase64":"LS0tLS1CRUdJTg=="}]}""";
        using var client = _host.Client();
        var response = await client.PostAsync("/api/v1/reports", Json(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        var ticket = json.GetProperty("ticket").GetString()!;
        Assert.Matches(@"^CPR-\d{4}-\d{6}$", ticket);
        var receivedAt = json.GetProperty("receivedAt").GetDateTime();
        Assert.StartsWith(_host.BaseUri + "report/status/", json.GetProperty("statusUrl").GetString());
        var deadlines = json.GetProperty("deadlines").EnumerateArray().ToList();
        Assert.Equal(["preliminary-report-to-reporter", "preliminary-report-to-subscriber", "revocation"], deadlines.Select(d => d.GetProperty("name").GetString()));
        Assert.All(deadlines, d => Assert.Equal(receivedAt.AddHours(24), d.GetProperty("dueAt").GetDateTime()));

        // Durable: a fresh connection after the host has stopped sees the report and the exact bytes received.
        var dataDir = _host.DataDirectory;
        await _host.StopAsync();
        await using var db = new Database(dataDir).Open();
        var report = await db.Reports.Include(r => r.Messages).Include(r => r.Attachments).SingleAsync(r => r.Ticket == ticket);
        var message = Assert.Single(report.Messages);
        var raw = await db.Blobs.SingleAsync(b => b.Sha256 == message.RawSha256);
        Assert.Equal(Encoding.UTF8.GetBytes(body), raw.Content);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(raw.Content)), message.RawSha256);
        Assert.Equal("api", message.Channel);
        Assert.Equal("key.pem", Assert.Single(report.Attachments).FileName);
        Assert.Contains(await db.Certificates.Where(c => c.ReportId == report.Id).ToListAsync(), c => c.Kind == "serial" && c.Value == "5f3c9100ab");
    }

    [Fact]
    public async Task The_form_creates_a_report_and_shows_the_ticket_the_receipt_time_and_a_status_link()
    {
        using var client = _host.Client();
        var page = await client.GetStringAsync("/report");
        using var form = new MultipartFormDataContent
        {
            { new StringContent(TestHost.AntiforgeryToken(page)), "__RequestVerificationToken" },
            { new StringContent("form@example.org"), "reporterEmail" },
            { new StringContent("unknown"), "problemType" },
            { new StringContent("aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99\nhttps://crt.sh/?id=123"), "certificates" },
            { new StringContent("<script>alert('x')</script> misissued"), "description" },
        };
        form.Add(new ByteArrayContent([1, 2, 3, 4]), "attachments", "evidence.bin");
        form.Add(new ByteArrayContent(Encoding.ASCII.GetBytes("-----BEGIN CERTIFICATE REQUEST-----")), "attachments", "proof.csr");
        var response = await client.PostAsync("/report", form);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ticket = System.Text.RegularExpressions.Regex.Match(html, "<span id=\"ticket\">(CPR-[0-9-]+)</span>").Groups[1].Value;
        Assert.NotEmpty(ticket);
        Assert.Contains("UTC", html);
        var statusUrl = System.Text.RegularExpressions.Regex.Match(html, "id=\"status-url\" href=\"([^\"]+)\"").Groups[1].Value;

        var status = await client.GetAsync(statusUrl);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var statusHtml = await status.Content.ReadAsStringAsync();
        Assert.Contains(ticket, statusHtml);
        Assert.DoesNotContain("form@example.org", statusHtml);

        var detail = await _host.Service<CprDesk.Reports.ReportQueries>().GetAsync(ticket);
        Assert.Equal(["evidence.bin", "proof.csr"], detail!.Attachments.Select(a => a.FileName));
        Assert.Equal("web-form", detail.Messages.Single().Channel);
        Assert.Contains(detail.Certificates, c => c.Kind == "sha256");
        Assert.Contains(detail.Certificates, c => c.Kind == "crtsh");
    }

    [Fact]
    public async Task A_wrong_status_token_is_not_found()
    {
        using var client = _host.Client();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/report/status/not-a-real-token")).StatusCode);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_is_refused_and_the_text_comes_back()
    {
        using var client = _host.Client();
        using var form = new MultipartFormDataContent
        {
            { new StringContent("typed@example.org"), "reporterEmail" },
            { new StringContent("a long description I do not want to type again"), "description" },
        };
        var response = await client.PostAsync("/report", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("typed@example.org", html);
        Assert.Contains("a long description I do not want to type again", html);
    }

    [Fact]
    public async Task A_form_with_no_description_and_no_certificate_names_the_field_and_keeps_the_input()
    {
        using var client = _host.Client();
        var page = await client.GetStringAsync("/report");
        using var form = new MultipartFormDataContent
        {
            { new StringContent(TestHost.AntiforgeryToken(page)), "__RequestVerificationToken" },
            { new StringContent("kept@example.org"), "reporterEmail" },
        };
        var response = await client.PostAsync("/report", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("Describe the problem", html);
        Assert.Contains("value=\"kept@example.org\"", html);
    }

    [Fact]
    public async Task A_body_over_the_request_limit_is_refused_with_413_before_anything_is_stored()
    {
        using var client = _host.Client();
        var before = await CountAsync();
        var page = await client.GetStringAsync("/report");
        using var form = new MultipartFormDataContent
        {
            { new StringContent(TestHost.AntiforgeryToken(page)), "__RequestVerificationToken" },
            { new StringContent("r@example.org"), "reporterEmail" },
            { new StringContent("d"), "description" },
        };
        form.Add(new ByteArrayContent(new byte[3 * 1024 * 1024]), "attachments", "huge.bin");
        var formResponse = await client.PostAsync("/report", form);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, formResponse.StatusCode);
        Assert.Contains("was not received", await formResponse.Content.ReadAsStringAsync());

        using var api = _host.Client();
        var big = Convert.ToBase64String(new byte[3 * 1024 * 1024]);
        var response = await api.PostAsync("/api/v1/reports", Json($$"""{"reporterEmail":"r@example.org","description":"d","attachments":[{"fileName":"a","contentBase64":"{{big}}"}]}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("at most 256 KB", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task Attachments_over_the_total_get_413_and_no_report_while_the_bytes_are_kept_flagged()
    {
        using var client = _host.Client();
        var before = await CountAsync();
        var big = Convert.ToBase64String(new byte[300 * 1024]);
        var response = await client.PostAsync("/api/v1/reports", Json($$"""{"reporterEmail":"r@example.org","description":"d","attachments":[{"fileName":"a","contentBase64":"{{big}}"}]}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("attachments", problem.GetProperty("field").GetString());
        var after = await CountAsync();
        Assert.Equal(before.Reports, after.Reports);
        Assert.Equal(before.Messages + 1, after.Messages);
    }

    [Theory]
    [InlineData("{not json", "body")]
    [InlineData("""{"reporterEmail":"r@example.org","certificates":"abc"}""", "certificates")]
    [InlineData("""{"description":"no email"}""", "reporterEmail")]
    [InlineData("""{"reporterEmail":"not an email","description":"d"}""", "reporterEmail")]
    [InlineData("""{"reporterEmail":"r@example.org"}""", "description")]
    [InlineData("""{"reporterEmail":"r@example.org","description":"d","problemType":"aliens"}""", "problemType")]
    [InlineData("""{"reporterEmail":"r@example.org","description":"d","attachments":[{"fileName":"a","contentBase64":"!!"}]}""", "attachments[0].contentBase64")]
    public async Task Invalid_JSON_or_fields_get_400_problem_json_naming_the_field(string body, string field)
    {
        using var client = _host.Client();
        var response = await client.PostAsync("/api/v1/reports", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_rejected_submission_is_kept_flagged_with_the_reason()
    {
        using var client = _host.Client();
        await client.PostAsync("/api/v1/reports", Json("""{"reporterEmail":"r@example.org","note":"rejected-marker"}"""));
        await using var db = _host.Service<Database>().Open();
        var rejected = await db.Messages.Where(m => m.Status == "rejected").ToListAsync();
        var m = Assert.Single(rejected, x => Encoding.UTF8.GetString(db.Blobs.Single(b => b.Sha256 == x.RawSha256).Content).Contains("rejected-marker"));
        Assert.Contains("description", m.StatusDetail);
        Assert.Null(m.ReportId);

        // Staff see it on the queue page, with the reason and the raw bytes.
        var (user, password, _) = await _host.UserAsync(StaffRole.Auditor);
        using var staff = await _host.SignedInClientAsync(user, password);
        var queue = await staff.GetStringAsync("/staff");
        Assert.Contains($"/staff/messages/{m.Id}/raw", queue);
        Assert.Contains("rejected-marker", await staff.GetStringAsync($"/staff/messages/{m.Id}/raw"));
    }

    [Fact]
    public async Task Health_metrics_and_the_OpenAPI_document_are_served()
    {
        using var client = _host.Client();
        await client.PostAsync("/api/v1/reports", Json("""{"reporterEmail":"r@example.org","description":"d"}"""));
        var health = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("database").GetString());
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Matches(@"cprdesk_reports\{state=""(New|Acknowledged)""\} [1-9]", metrics); // the acknowledgement may already have gone
        Assert.Matches(@"cprdesk_next_deadline_seconds 86[0-9]{3}", metrics);
        Assert.Contains("cprdesk_deadlines_missed_total 0", metrics);
        var openapi = await client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/v1/reports/{ticket}/actions/{action}", openapi);
    }

    private async Task<(int Reports, int Messages)> CountAsync()
    {
        await using var db = _host.Service<Database>().Open();
        return (await db.Reports.CountAsync(), await db.Messages.CountAsync());
    }
}
