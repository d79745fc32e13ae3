using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Evidence;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Evidence;

/// <summary>`cprdesk inventory import` and `cprdesk crl verify` as processes.</summary>
public sealed class EvidenceCliTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly TempDir _files = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        _files.Dispose();
    }

    private Task<CliResult> Run(params string[] args) => Support.Cli.RunAsync([.. args, "--data", _dir.Path]);

    private string Write(string name, string text)
    {
        var p = Path.Combine(_files.Path, name);
        File.WriteAllText(p, text);
        return p;
    }

    [Fact]
    public async Task Csv_import_reports_bad_rows_by_line_and_imports_the_good_ones()
    {
        var sha = new string('a', 64);
        var csv = Write("inv.csv", string.Join('\n',
            Inventory.CsvHeader,
            $"00:8F:01,{sha.ToUpperInvariant()},2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,www.example.com,www.example.com example.com,ops@example.com",
            $"zz,{new string('b', 64)},2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,x,x,ops@example.com",
            $"0a,{new string('c', 63)},2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,x,x,ops@example.com",
            $"0b,{new string('d', 64)},yesterday,2026-04-01T00:00:00Z,x,x,ops@example.com",
            $"0c,{new string('e', 64)},2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,\"Example, Inc. host\",x,not-an-address",
            $"0d,{new string('f', 64)},2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,\"Example, Inc. host\",a.example b.example,",
            "") + "\n");
        var r = await Run("inventory", "import", csv);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Imported 2 certificate(s)", r.Stdout);
        var lines = r.Stderr.Trim().Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Contains($"{csv}:3: serial 'zz' is not hex", lines[0]);
        Assert.Contains($"{csv}:4: sha256", lines[1]);
        Assert.Contains($"{csv}:5: not_before 'yesterday'", lines[2]);
        Assert.Contains($"{csv}:6: subscriber_email 'not-an-address'", lines[3]);
        await using var db = new Database(_dir.Path).Open();
        var rows = await db.Inventory.OrderBy(i => i.Serial).ToListAsync();
        Assert.Equal(["8f01", "0d"], rows.Select(x => x.Serial).OrderByDescending(x => x).ToArray());
        Assert.Equal(sha, rows.Single(x => x.Serial == "8f01").Sha256);
        Assert.Equal("Example, Inc. host", rows.Single(x => x.Serial == "0d").SubjectCn);
        Assert.Equal(new DateTime(2026, 4, 1, 0, 0, 0, DateTimeKind.Utc), rows.Single(x => x.Serial == "8f01").NotAfter);
        Assert.Contains(await db.AuditEvents.ToListAsync(), e => e.Type == "inventory.imported");
    }

    [Fact]
    public async Task Wrong_header_and_missing_file_are_usage_errors()
    {
        var csv = Write("bad.csv", "serial,sha256\n01,aa\n");
        var r = await Run("inventory", "import", csv);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("must be exactly 'serial,sha256,not_before,not_after,subject_cn,sans,subscriber_email'", r.Stderr);
        var missing = await Run("inventory", "import", Path.Combine(_files.Path, "nope.csv"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such file or directory", missing.Stderr);
    }

    [Fact]
    public async Task Crl_verify_with_issuer_from_the_inventory_or_from_a_file()
    {
        using var ca = TestPki.RsaCa("CLI RSA CA");
        using var ecCa = TestPki.EcCa("CLI ECDSA CA");
        using var wrong = TestPki.EcCa("CLI ECDSA CA");
        var caDir = Directory.CreateDirectory(Path.Combine(_files.Path, "cas")).FullName;
        File.WriteAllText(Path.Combine(caDir, "rsa.pem"), ca.ExportCertificatePem());
        File.WriteAllBytes(Path.Combine(caDir, "ec.der"), ecCa.RawData);
        var imported = await Run("inventory", "import", caDir, "--ca");
        Assert.Equal(0, imported.ExitCode);
        Assert.Contains("Imported 2 certificate(s)", imported.Stdout);

        var good = Path.Combine(_files.Path, "good.crl");
        File.WriteAllText(good, TestPki.Pem("X509 CRL", TestPki.Crl(ca, ([0x0a, 0xbc], X509RevocationReason.KeyCompromise))));
        var ok = await Run("crl", "verify", good, "--serial", "0a:bc", "--serial", "0abd");
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("Signature:    valid (issuer 'CN=CLI RSA CA, O=CprDesk Tests')", ok.Stdout);
        Assert.Contains("Serial 0abc: revoked 2026-01-02T00:00:00Z, reason keyCompromise", ok.Stdout);
        Assert.Contains("Serial 0abd: not listed", ok.Stdout);

        var seed = Path.Combine(_files.Path, "seed.crl");
        File.WriteAllBytes(seed, TestPki.Crl(wrong, ([0x01], X509RevocationReason.KeyCompromise)));
        var bad = await Run("crl", "verify", seed);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("Signature:    NOT VALID", bad.Stdout);
        Assert.Equal($"cprdesk: CRL seed.crl does not verify against its expected issuer 'CN=CLI ECDSA CA, O=CprDesk Tests' (SPKI SHA-256 {CryptoObjects.SpkiOf(ecCa)}): ECDSA verification failure: the signature was not made by the issuer's key.", bad.Stderr.Trim());

        var issuerFile = Write("wrong.pem", wrong.ExportCertificatePem());
        Assert.Equal(0, (await Run("crl", "verify", seed, "--issuer", issuerFile)).ExitCode);

        var notCrl = Write("junk.crl", "hello");
        var junk = await Run("crl", "verify", notCrl);
        Assert.Equal(2, junk.ExitCode);
        Assert.Single(junk.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Crl_verify_fetches_a_url_from_a_loopback_server()
    {
        using var ca = TestPki.EcCa("URL CA");
        var crl = TestPki.Crl(ca, ([0x07], X509RevocationReason.Superseded));
        await using var server = await LoopbackHttp.StartAsync(p => p == "/ca.crl" ? (200, "application/pkix-crl", crl) : (404, "text/plain", "no"));
        var issuer = Write("url-ca.pem", ca.ExportCertificatePem());
        var r = await Run("crl", "verify", server.BaseUrl + "/ca.crl", "--issuer", issuer, "--serial", "07");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("reason superseded", r.Stdout);
        var missing = await Run("crl", "verify", server.BaseUrl + "/missing.crl", "--issuer", issuer);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("HTTP 404", missing.Stderr);
    }
}
