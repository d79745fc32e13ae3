using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CprDesk.Deadlines;
using CprDesk.Evidence;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Evidence;

public sealed class EvidenceFlowTests : IAsyncLifetime, IDisposable
{
    private readonly EvidenceDesk _e = new();
    public Task InitializeAsync() => _e.InitializeAsync();
    public Task DisposeAsync() => Task.CompletedTask;
    public void Dispose() => _e.Dispose();

    [Fact]
    public async Task A_key_shared_by_several_certificates_finds_them_all_and_each_subscriber_gets_a_clock_from_receipt()
    {
        using var ca = TestPki.EcCa();
        using var key = TestPki.EcKey();
        using var other = TestPki.EcKey();
        using var a = TestPki.Leaf(ca, key, "a.example.com", [0x01, 0x0a]);
        using var b = TestPki.Leaf(ca, key, "b.example.com", [0x01, 0x0b]);
        using var expired = TestPki.Leaf(ca, key, "old.example.com", [0x01, 0x0c], TestPki.Epoch.AddDays(30)); // expired by 2026-03
        using var unrelated = TestPki.Leaf(ca, other, "c.example.com", [0x01, 0x0d]);
        var imported = await _e.ImportCsvAsync(EvidenceDesk.Row(a, "alice@subscriber-one.example"), EvidenceDesk.Row(b, "bob@subscriber-two.example"),
            EvidenceDesk.Row(expired, "alice@subscriber-one.example"), EvidenceDesk.Row(unrelated, "carol@subscriber-three.example"));
        Assert.Equal(4, imported.Imported);

        var receivedAt = _e.Desk.Now;
        var ticket = await _e.EmailAsync(TestPki.Email("Our scanner found this key on a public repository:\n" + TestPki.Pem("PRIVATE KEY", key.ExportPkcs8PrivateKey())));
        // The report and its clocks exist before any evidence work.
        Assert.Null((await _e.Desk.Queries.GetAsync(ticket))!.Summary.Deadlines.Single(d => d.Name == ClockNames.PreliminaryReportToSubscriber).Recipient);
        _e.Desk.Time.Advance(TimeSpan.FromHours(3));
        Assert.Equal(1, await _e.NewService().RunOnceAsync());

        var ev = (await _e.Queries.GetAsync(ticket))!;
        var k = Assert.Single(ev.Keys);
        Assert.True(k.Verified);
        Assert.Equal("private-key", k.Proof);
        Assert.Equal(TestPki.Spki(key), k.SpkiSha256);
        Assert.Equal(3, k.Certificates.Count);
        Assert.Equal(new[] { TestPki.Sha256(a), TestPki.Sha256(b), TestPki.Sha256(expired) }.Order(), k.Certificates.Select(c => c.Sha256).Order());
        Assert.True(k.Certificates.Single(c => c.Sha256 == TestPki.Sha256(expired)).Expired);
        Assert.False(k.Certificates.Single(c => c.Sha256 == TestPki.Sha256(a)).Expired);
        Assert.Equal("key-compromise", ev.SuggestedCategory);
        Assert.Contains(ev.SuggestionReasons, r => r.Contains("24 hours"));

        var clocks = (await _e.Desk.Queries.GetAsync(ticket))!.Summary.Deadlines.Where(d => d.Name == ClockNames.PreliminaryReportToSubscriber).ToList();
        Assert.Equal(new[] { "alice@subscriber-one.example", "bob@subscriber-two.example" }, clocks.Select(c => c.Recipient!).Order());
        Assert.All(clocks, c => Assert.Equal(receivedAt.AddHours(24), c.DueAt));
        // The suggestion never changes the category or the revocation clock (strictest until a person classifies).
        var report = (await _e.Desk.Queries.GetAsync(ticket))!;
        Assert.Null(report.Report.Category);
        Assert.Contains(report.Events, e => e.Type == "subscriber.added" && e.Detail.Contains("bob@subscriber-two.example"));
        Assert.Contains(report.Events, e => e.Type == "evidence.matched");
        Assert.Contains(report.Events, e => e.Type == "deadline.set" && e.Detail.Contains("alice@subscriber-one.example"));

        // Encrypted at rest: the row holds ciphertext that opens to the key, and no clear DER.
        await using var db = _e.Desk.Database.Open();
        var row = await db.EvidenceFindings.SingleAsync(f => f.Kind == FindingKinds.PrivateKey);
        Assert.Null(row.Der);
        var pkcs8 = _e.Vault.Decrypt(row.KeyCiphertext!, EvidenceService.KeyAad(row.ReportId, row.SpkiSha256));
        Assert.Equal(key.ExportPkcs8PrivateKey().Length, pkcs8.Length);
        Assert.False(row.KeyCiphertext!.AsSpan().IndexOf(pkcs8.AsSpan(0, 32)) >= 0);
    }

    [Fact]
    public async Task Zip_of_pems_matches_the_inventory_and_shows_the_subscriber()
    {
        using var ca = TestPki.RsaCa();
        using var k1 = RSA.Create(2048);
        using var c1 = TestPki.Leaf(ca, k1, "www.one.example", [0x00, 0x99, 0x01]);
        using var c2 = TestPki.Leaf(ca, k1, "www.two.example", [0x7f, 0x02]);
        await _e.ImportCsvAsync(EvidenceDesk.Row(c1, "ops@one.example"));
        var zip = ExtractionTests.Zip(("1.pem", Encoding.ASCII.GetBytes(c1.ExportCertificatePem())), ("2.pem", Encoding.ASCII.GetBytes(c2.ExportCertificatePem())));
        var ticket = await _e.EmailAsync(TestPki.Email("These were issued to a phishing site.", ("certs.zip", "application/zip", zip)));
        await _e.NewService().RunOnceAsync();
        var ev = (await _e.Queries.GetAsync(ticket))!;
        Assert.Equal(2, ev.Certificates.Count);
        var one = ev.Certificates.Single(c => c.Sha256 == TestPki.Sha256(c1));
        Assert.Equal("ops@one.example", one.Inventory!.SubscriberEmail);
        Assert.Equal("9901", one.Serial);
        Assert.Contains("certs.zip' › 1.pem", one.FoundIn);
        Assert.Null(ev.Certificates.Single(c => c.Sha256 == TestPki.Sha256(c2)).Inventory);
        Assert.Equal("fraud-phishing", ev.SuggestedCategory);
        Assert.Contains(await _e.Desk.Queries.GetAsync(ticket) is { } d ? d.Summary.Deadlines : [], c => c.Recipient == "ops@one.example");
    }

    [Fact]
    public async Task A_report_naming_only_a_crtsh_link_is_matched_through_crtsh()
    {
        await using var crtsh = await LoopbackHttp.StartAsync(path => path.Contains("id=987654") && path.Contains("output=json")
            ? (200, "application/json", """[{"issuer_ca_id":1,"issuer_name":"C=US, O=Test CA","common_name":"shop.example","name_value":"shop.example\nwww.shop.example","id":987654,"entry_timestamp":"2026-01-02T03:04:05.678","not_before":"2026-01-02T00:00:00","not_after":"2026-04-02T00:00:00","serial_number":"00ab12cd34"}]""")
            : (404, "text/plain", "not found"));
        _e.Settings.CrtSh.BaseUrl = crtsh.BaseUrl;
        await _e.ImportCsvAsync($"ab12cd34,{new string('e', 64)},2026-01-02T00:00:00Z,2026-04-02T00:00:00Z,shop.example,shop.example www.shop.example,owner@shop.example,");
        var ticket = await _e.EmailAsync(TestPki.Email("Please look at https://crt.sh/?id=987654 thanks"));
        await _e.NewService().RunOnceAsync();
        var ev = (await _e.Queries.GetAsync(ticket))!;
        var cert = Assert.Single(ev.Certificates);
        Assert.Equal("owner@shop.example", cert.Inventory!.SubscriberEmail);
        Assert.Equal("serial", cert.MatchedBy);
        Assert.Contains("crt.sh ?id=987654", cert.FoundIn);
        Assert.Contains((await _e.Desk.Queries.GetAsync(ticket))!.Summary.Deadlines, c => c.Recipient == "owner@shop.example");
        // Cached: a second report with the same link does not ask crt.sh again.
        var before = crtsh.Requests;
        await _e.EmailAsync(TestPki.Email("Again: https://crt.sh/?id=987654"));
        await _e.NewService().RunOnceAsync();
        Assert.Equal(before, crtsh.Requests);
    }

    [Fact]
    public async Task Crtsh_unreachable_leaves_the_report_and_its_findings_intact()
    {
        _e.Settings.CrtSh.BaseUrl = "http://127.0.0.1:9"; // discard port: refused at once
        _e.Settings.CrtSh.TimeoutSeconds = 5;
        var ticket = await _e.EmailAsync(TestPki.Email("https://crt.sh/?sha256=" + new string('a', 64)));
        await _e.NewService().RunOnceAsync();
        var ev = (await _e.Queries.GetAsync(ticket))!;
        Assert.Contains(ev.Identifiers, f => f.Kind == "crtsh" && f.Value == "sha256=" + new string('a', 64));
        Assert.Equal(0, ev.Progress!.Pending);
    }

    [Fact]
    public async Task Restart_resumes_a_job_that_stopped_half_way_without_duplicates()
    {
        var ticket = await _e.EmailAsync(TestPki.Email(TestPki.FixtureText("leaf-rsa.pem") + "\n" + TestPki.FixtureText("leaf-ec.pem")));
        // A crash after the job row and one chunk were written, before the job was marked done.
        await _e.Desk.Database.WriteAsync(_e.Desk.Time, async s =>
        {
            var m = await s.Db.Messages.SingleAsync();
            s.Db.EvidenceJobs.Add(new EvidenceJob { MessageId = m.Id, ReportId = m.ReportId!.Value, Status = "pending", Total = 2, Done = 1, CreatedAt = s.Now, UpdatedAt = s.Now });
            s.Db.EvidenceFindings.Add(new EvidenceFinding { ReportId = m.ReportId!.Value, MessageId = m.Id, Kind = FindingKinds.Certificate, Value = "partial", Location = "x", CreatedAt = s.Now });
            return true;
        });
        Assert.Equal(1, await _e.NewService().RunOnceAsync());
        var ev = (await _e.Queries.GetAsync(ticket))!;
        Assert.Equal(2, ev.Certificates.Count);
        Assert.Equal(0, ev.Progress!.Pending);
        Assert.Equal(0, await _e.NewService().RunOnceAsync()); // nothing left to do
    }

    [Fact]
    public async Task Bulk_report_of_many_keys_exists_at_once_and_is_processed_in_chunks_with_progress()
    {
        const int n = 2500;
        var pem = new StringBuilder();
        var spkis = new List<string>();
        for (var i = 0; i < n; i++)
        {
            using var k = TestPki.EcKey();
            pem.Append(k.ExportPkcs8PrivateKeyPem()).Append('\n');
            spkis.Add(TestPki.Spki(k));
        }
        await _e.ImportCsvAsync(Enumerable.Range(0, 5).Select(i => $"{i + 1:x4},{Convert.ToHexStringLower(SHA256.HashData([(byte)i]))},2026-01-01T00:00:00Z,2026-06-01T00:00:00Z,k{i}.example,k{i}.example,sub{i}@bulk.example,{spkis[i * 400]}").ToArray());
        var ticket = await _e.EmailAsync(TestPki.Email("All of these keys are compromised.", ("keys.pem", "application/x-pem-file", Encoding.ASCII.GetBytes(pem.ToString()))));
        Assert.NotEmpty((await _e.Desk.Queries.GetAsync(ticket))!.Summary.Deadlines); // clocks from the first second
        var service = _e.NewService();
        await service.RunOnceAsync();
        await using (var db = _e.Desk.Database.Open())
        {
            var job = await db.EvidenceJobs.SingleAsync();
            Assert.Equal("done", job.Status);
            Assert.Equal(n, job.Total);
            Assert.Equal(n, job.Done);
            Assert.Equal(n, await db.EvidenceFindings.CountAsync(f => f.Kind == FindingKinds.PrivateKey && f.Verified == true));
        }
        var ev = (await _e.Queries.GetAsync(ticket))!;
        Assert.Equal(n, ev.Keys.Count);
        Assert.Equal(5, ev.Keys.Count(k => k.Certificates.Count == 1));
        Assert.Equal(5, (await _e.Desk.Queries.GetAsync(ticket))!.Summary.Deadlines.Count(d => d.Recipient?.EndsWith("@bulk.example") == true));
    }

    [Fact]
    public async Task A_challenge_signature_made_with_the_key_is_a_verified_proof_and_a_wrong_one_is_not()
    {
        using var ca = TestPki.EcCa();
        using var key = TestPki.EcKey();
        using var leaf = TestPki.Leaf(ca, key, "signed.example", [0x42]);
        var ticket = await _e.EmailAsync(TestPki.Email("I can prove I hold the key of:\n" + leaf.ExportCertificatePem()));
        var challenge = _e.Vault.ChallengeFor(ticket);
        var good = key.SignData(Encoding.UTF8.GetBytes(challenge), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var replyText = Encoding.UTF8.GetString(TestPki.Email($"Signature:\n{TestPki.Pem("CPRDESK CHALLENGE SIGNATURE", good)}")).Replace("Subject: Certificate problem", $"Subject: Re: [{ticket}] proof");
        await _e.EmailAsync(Encoding.UTF8.GetBytes(replyText));
        using var other = TestPki.EcKey();
        var bad = other.SignData(Encoding.UTF8.GetBytes(challenge), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        await _e.EmailAsync(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(TestPki.Email($"{TestPki.Pem("CPRDESK CHALLENGE SIGNATURE", bad)}")).Replace("Subject: Certificate problem", $"Subject: Re: [{ticket}] again")));
        await _e.NewService().RunOnceAsync();
        var keys = (await _e.Queries.GetAsync(ticket))!.Keys.Where(k => k.Proof == FindingKinds.ChallengeSignature).ToList();
        Assert.Equal(2, keys.Count);
        Assert.Contains(keys, k => k.Verified && k.SpkiSha256 == TestPki.Spki(key));
        Assert.Contains(keys, k => !k.Verified && k.Reason!.Contains("does not verify"));
        Assert.Equal("key-compromise", (await _e.Queries.GetAsync(ticket))!.SuggestedCategory);
    }

    [Fact]
    public async Task A_wrong_key_crl_attached_to_a_report_is_flagged_and_suggests_a_crl_problem()
    {
        using var ca = TestPki.EcCa("Seed ECDSA CA");
        using var impostor = TestPki.EcCa("Seed ECDSA CA"); // same name, another key
        var dir = Directory.CreateTempSubdirectory("ca-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "ca.pem"), ca.ExportCertificatePem());
            Assert.Equal(1, (await Inventory.ImportDirectoryAsync(_e.Desk.Database, _e.Desk.Time, dir.FullName, true, default)).Imported);
        }
        finally { dir.Delete(true); }
        var crl = TestPki.Crl(impostor, ([0x05], X509RevocationReason.KeyCompromise));
        var ticket = await _e.EmailAsync(TestPki.Email("Your CRL does not verify.", ("seed.crl", "application/pkix-crl", crl)));
        await _e.NewService().RunOnceAsync();
        var ev = (await _e.Queries.GetAsync(ticket))!;
        var c = Assert.Single(ev.Crls);
        Assert.False(c.SignatureValid);
        Assert.Contains("seed.crl", c.Error);
        Assert.Contains("CN=Seed ECDSA CA", c.Error);
        Assert.Contains("ECDSA verification failure", c.Error);
        Assert.Equal("crl-ocsp-problem", ev.SuggestedCategory);
    }
}
