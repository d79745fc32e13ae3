using CprDesk.Compliance.Incidents;
using CprDesk.Tests.Evidence;

namespace CprDesk.Tests.Compliance;

/// <summary>The Appendix lists the inventory certificates the evidence service matched, not only what the reporter pasted.</summary>
public sealed class IncidentInventoryAppendixTests : IAsyncLifetime, IDisposable
{
    private readonly EvidenceDesk _e = new();
    public Task InitializeAsync() => _e.InitializeAsync();
    public Task DisposeAsync() => Task.CompletedTask;
    public void Dispose() => _e.Dispose();

    [Fact]
    public async Task A_compromised_key_report_lists_every_matched_inventory_certificate_in_the_appendix()
    {
        using var ca = TestPki.EcCa();
        using var key = TestPki.EcKey();
        using var other = TestPki.EcKey();
        using var a = TestPki.Leaf(ca, key, "a.example.com", [0x01, 0x0a]);
        using var b = TestPki.Leaf(ca, key, "b.example.com", [0x01, 0x0b]);
        using var unrelated = TestPki.Leaf(ca, other, "c.example.com", [0x01, 0x0d]);
        await _e.ImportCsvAsync(EvidenceDesk.Row(a, "alice@one.example"), EvidenceDesk.Row(b, "bob@two.example"), EvidenceDesk.Row(unrelated, "carol@three.example"));
        var ticket = await _e.EmailAsync(TestPki.Email("This key is public:\n" + TestPki.Pem("PRIVATE KEY", key.ExportPkcs8PrivateKey())));
        Assert.Equal(1, await _e.NewService().RunOnceAsync());

        var (module, _) = IncidentKit.Create(_e.Desk);
        var id = await module.Desk.CreateAsync("user:test", new NewIncident(IncidentKinds.CprResponse, "Key compromise report handled late", null, null, [ticket]));
        var detail = (await module.Desk.GetAsync(id))!;
        var rows = IncidentAppendix.Certificates(detail, _e.Desk.Time.GetUtcNow().UtcDateTime);

        Assert.Equal(new[] { TestPki.Sha256(a), TestPki.Sha256(b) }.Order(), rows.Select(r => r.CertificateSha256!).Order());
        var rowA = rows.Single(r => r.CertificateSha256 == TestPki.Sha256(a));
        Assert.Equal("CN=a.example.com", rowA.Subject);
        Assert.Equal(a.SerialNumber.ToLowerInvariant().TrimStart('0'), rowA.SerialHex!.TrimStart('0'));
        Assert.Contains("a.example.com", rowA.DnsNames);
        var csv = IncidentAppendix.Csv(rows);
        Assert.StartsWith(string.Join(',', IncidentAppendix.Columns) + "\r\n", csv);
        Assert.DoesNotContain(TestPki.Sha256(unrelated), csv);
    }
}
