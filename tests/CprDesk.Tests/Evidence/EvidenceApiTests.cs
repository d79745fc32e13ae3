using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CprDesk.Evidence;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Evidence;

/// <summary>The evidence object on the API, the staff page, redaction of keys, and the challenge on the status page, over the real host.</summary>
public sealed class EvidenceApiTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private LoopbackHttp _crlServer = null!;
    private byte[] _crl = [];

    public async Task InitializeAsync()
    {
        _crlServer = await LoopbackHttp.StartAsync(p => p == "/issuing.crl" ? (200, "application/pkix-crl", _crl) : (404, "text/plain", "no"));
        _host = await TestHost.StartAsync(extra: new Dictionary<string, string?> { ["CprDesk:Evidence:FetchCrls"] = "true", ["CprDesk:Evidence:FetchTimeoutSeconds"] = "10" });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _crlServer.DisposeAsync();
    }

    [Fact]
    public async Task Report_api_carries_the_evidence_object_and_keys_are_redacted_for_everyone_but_admins()
    {
        using var ca = TestPki.EcCa("API Issuing CA");
        using var key = TestPki.EcKey();
        using var leaf = TestPki.Leaf(ca, key, "api.example.net", [0x0e, 0x01]);
        _crl = TestPki.Crl(ca, ([0x0e, 0x01], X509RevocationReason.KeyCompromise));
        var database = _host.Service<Database>();
        var dir = Directory.CreateTempSubdirectory("api-ca-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "ca.pem"), ca.ExportCertificatePem());
            await Inventory.ImportDirectoryAsync(database, TimeProvider.System, dir.FullName, true, default);
        }
        finally { dir.Delete(true); }
        var csv = Path.GetTempFileName();
        await File.WriteAllLinesAsync(csv, [Inventory.CsvHeaderWithSpki, EvidenceDesk.Row(leaf, "owner@api.example.net")]);
        await Inventory.ImportCsvAsync(database, TimeProvider.System, csv, default);
        File.Delete(csv);

        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Service<EvidenceService>().JobFinished += id => done.TrySetResult(id);
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        using var anonymous = _host.Client();
        var submitted = await anonymous.PostAsJsonAsync("/api/v1/reports", new
        {
            reporterEmail = "finder@example.org",
            description = $"This key leaked:\n{keyPem}\nThe CA publishes {_crlServer.BaseUrl}/issuing.crl",
            certificates = new[] { leaf.ExportCertificatePem() },
        });
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var created = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        var ticket = created.GetProperty("ticket").GetString()!;
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var (admin, adminPassword, adminToken) = await _host.UserAsync(StaffRole.Admin);
        var (staff, staffPassword, staffToken) = await _host.UserAsync(StaffRole.Staff);
        using var api = _host.Client(staffToken);
        var report = await api.GetFromJsonAsync<JsonElement>($"/api/v1/reports/{ticket}");
        var ev = report.GetProperty("evidence");
        var cert = ev.GetProperty("certificates").EnumerateArray().Single();
        Assert.Equal(TestPki.Sha256(leaf), cert.GetProperty("sha256").GetString());
        Assert.Equal("0e01", cert.GetProperty("serial").GetString());
        Assert.Equal("CN=API Issuing CA, O=CprDesk Tests", cert.GetProperty("issuer").GetString());
        Assert.Equal(TestPki.Spki(key), cert.GetProperty("spkiSha256").GetString());
        Assert.Contains("certificates field 1", cert.GetProperty("foundIn").GetString());
        Assert.Equal("owner@api.example.net", cert.GetProperty("inventory").GetProperty("subscriberEmail").GetString());
        Assert.Equal(leaf.NotAfter.ToUniversalTime(), cert.GetProperty("inventory").GetProperty("notAfter").GetDateTime().ToUniversalTime());
        var k = ev.GetProperty("keys").EnumerateArray().Single(x => x.GetProperty("proof").GetString() == "private-key");
        Assert.Equal(TestPki.Spki(key), k.GetProperty("spkiSha256").GetString());
        Assert.True(k.GetProperty("verified").GetBoolean());
        Assert.Contains("derived", k.GetProperty("reason").GetString());
        var crl = ev.GetProperty("crls").EnumerateArray().Single();
        Assert.Equal($"{_crlServer.BaseUrl}/issuing.crl", crl.GetProperty("url").GetString());
        Assert.False(crl.TryGetProperty("fileName", out _));
        Assert.Equal("CN=API Issuing CA, O=CprDesk Tests", crl.GetProperty("issuer").GetString());
        Assert.True(crl.GetProperty("signatureValid").GetBoolean());
        Assert.Equal(JsonValueKind.Null, crl.GetProperty("error").ValueKind);
        Assert.Equal("key-compromise", ev.GetProperty("suggestedCategory").GetString());
        Assert.NotEmpty(ev.GetProperty("suggestionReasons").EnumerateArray());
        // The suggestion leaves the category alone; the Subscriber found got a clock.
        Assert.Equal(JsonValueKind.Null, report.GetProperty("category").ValueKind);
        Assert.Contains(report.GetProperty("deadlines").EnumerateArray(), d => d.GetProperty("recipient").GetString() == "owner@api.example.net");

        var keyLine = keyPem.Split('\n')[1];
        using var staffPages = await _host.SignedInClientAsync(staff, staffPassword);
        var page = WebUtility.HtmlDecode(await staffPages.GetStringAsync($"/staff/reports/{ticket}"));
        Assert.DoesNotContain(keyLine, page);
        Assert.Contains(KeyRedaction.Placeholder, page);
        Assert.Contains("evidence-keys", page);
        Assert.Contains("owner@api.example.net", page);
        var messageId = await MessageIdAsync(ticket);
        var raw = await staffPages.GetAsync($"/staff/reports/{ticket}/messages/{messageId}/raw");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.True(raw.Headers.Contains("X-CprDesk-Redacted"));
        // The raw body is the submitted JSON, where the encoder may have written '+' as \u002B.
        static string Unjson(string t) => t.Replace("\\u002B", "+").Replace("\\/", "/");
        var redacted = Unjson(await raw.Content.ReadAsStringAsync());
        Assert.DoesNotContain(keyLine, redacted);
        Assert.Contains("finder@example.org", redacted);

        using var adminPages = await _host.SignedInClientAsync(admin, adminPassword);
        Assert.Contains(keyLine, WebUtility.HtmlDecode(await adminPages.GetStringAsync($"/staff/reports/{ticket}")));
        Assert.Contains(keyLine, Unjson(await adminPages.GetStringAsync($"/staff/reports/{ticket}/messages/{messageId}/raw")));

        // Never sent onward: no outgoing mail carries the key.
        await using (var db = database.Open())
            foreach (var o in await db.Outbox.ToListAsync())
                Assert.DoesNotContain(keyLine, Encoding.UTF8.GetString((await BlobStore.GetAsync(db, o.RawSha256))!.Content));

        // The reporter's status page shows the challenge text to sign.
        var status = WebUtility.HtmlDecode(await anonymous.GetStringAsync(created.GetProperty("statusUrl").GetString()));
        Assert.Contains(_host.Service<KeyVault>().ChallengeFor(ticket), status);
        Assert.DoesNotContain(keyLine, status);
    }

    [Fact]
    public async Task Attachment_with_a_key_in_an_encoded_zip_is_refused_to_staff_and_served_to_admins()
    {
        using var key = TestPki.EcKey();
        var zip = ExtractionTests.Zip(("k.pem", Encoding.ASCII.GetBytes(key.ExportECPrivateKeyPem())));
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Service<EvidenceService>().JobFinished += id => done.TrySetResult(id);
        using var form = new MultipartFormDataContent
        {
            { new StringContent("zipper@example.org"), "reporterEmail" },
            { new StringContent("key inside"), "description" },
        };
        var file = new ByteArrayContent(zip);
        file.Headers.ContentType = new("application/zip");
        form.Add(file, "attachments", "keys.zip");
        using var anonymous = _host.Client();
        var page = await anonymous.GetStringAsync("/report");
        form.Add(new StringContent(TestHost.AntiforgeryToken(page)), "__RequestVerificationToken");
        var posted = await anonymous.PostAsync("/report", form);
        Assert.True(posted.IsSuccessStatusCode || posted.StatusCode == HttpStatusCode.Redirect, posted.StatusCode + await posted.Content.ReadAsStringAsync());
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        string ticket;
        long attachmentId;
        await using (var db = _host.Service<Database>().Open())
        {
            var a = await db.Attachments.SingleAsync(x => x.FileName == "keys.zip");
            attachmentId = a.Id;
            ticket = await db.Reports.Where(r => r.Id == a.ReportId).Select(r => r.Ticket).SingleAsync();
        }
        var (staff, staffPassword, _) = await _host.UserAsync(StaffRole.Auditor);
        using var auditor = await _host.SignedInClientAsync(staff, staffPassword);
        var refused = await auditor.GetAsync($"/staff/reports/{ticket}/attachments/{attachmentId}");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("only an admin", await refused.Content.ReadAsStringAsync());
        var (admin, adminPassword, _) = await _host.UserAsync(StaffRole.Admin);
        using var adminClient = await _host.SignedInClientAsync(admin, adminPassword);
        Assert.Equal(zip, await adminClient.GetByteArrayAsync($"/staff/reports/{ticket}/attachments/{attachmentId}"));
    }

    private async Task<long> MessageIdAsync(string ticket)
    {
        await using var db = _host.Service<Database>().Open();
        return await db.Messages.Where(m => db.Reports.Any(r => r.Id == m.ReportId && r.Ticket == ticket)).Select(m => m.Id).FirstAsync();
    }
}
