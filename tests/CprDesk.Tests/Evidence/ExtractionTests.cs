using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CprDesk.Evidence;

namespace CprDesk.Tests.Evidence;

public sealed class ExtractionTests
{
    private static X509Certificate2 Fx(string name) => X509CertificateLoader.LoadCertificate(TestPki.Fixture(name) is var b && b[0] == 0x30 ? b : PemDer(name));
    private static byte[] PemDer(string name) => X509Certificate2.CreateFromPem(TestPki.FixtureText(name)).RawData;

    [Fact]
    public void Pem_certificate_in_a_text_body_gives_its_fingerprint_serial_issuer_and_spki()
    {
        var leaf = Fx("leaf-rsa.pem");
        var raw = TestPki.Email($"Please revoke this one:\n{TestPki.FixtureText("leaf-rsa.pem")}\nThanks");
        var found = Extractor.FromEmail(raw, "message 1");
        var cert = Assert.Single(found, f => f.Kind == FindingKinds.Certificate);
        Assert.Equal(TestPki.Sha256(leaf), cert.Sha256);
        Assert.Equal("c0ffee12345678", cert.Serial);
        Assert.Equal(CryptoObjects.SpkiOf(leaf), cert.SpkiSha256);
        Assert.Equal("CN=www.fixture.example", cert.Issuer);
        Assert.Equal("message 1 › body › PEM block 1 (CERTIFICATE)", cert.Location);
    }

    [Fact]
    public void Der_certificate_attachment_and_pkcs7_bundle_are_read()
    {
        var raw = TestPki.Email("see attached", ("leaf.der", "application/pkix-cert", TestPki.Fixture("leaf-ec.der")),
            ("chain.p7b", "application/x-pkcs7-certificates", TestPki.Fixture("bundle.p7b")));
        var certs = Extractor.FromEmail(raw, "message 7").Where(f => f.Kind == FindingKinds.Certificate).ToList();
        Assert.Equal(3, certs.Count);
        var ec = TestPki.Sha256(Fx("leaf-ec.pem"));
        Assert.Contains(certs, c => c.Sha256 == ec && c.Location == "message 7 › part 2 'leaf.der'");
        Assert.Contains(certs, c => c.Sha256 == ec && c.Location.Contains("'chain.p7b' › PKCS#7 certificate"));
        Assert.Contains(certs, c => c.Sha256 == TestPki.Sha256(Fx("leaf-rsa.pem")) && c.Location.Contains("chain.p7b"));
    }

    [Theory]
    [InlineData("rsa-pkcs1.key", "digicert-style.csr")]
    [InlineData("ec-sec1.key", "leaf-ec.pem")]
    [InlineData("rsa-pkcs8.key", "leaf-rsa.pem")]
    public void Private_keys_in_pkcs1_sec1_and_pkcs8_give_the_spki_of_their_certificate(string keyFile, string matching)
    {
        var found = Extractor.FromText(TestPki.FixtureText(keyFile), "description");
        var key = Assert.Single(found, f => f.Kind == FindingKinds.PrivateKey);
        Assert.True(key.Verified);
        var expected = matching.EndsWith(".csr")
            ? Extractor.FromText(TestPki.FixtureText(matching), "x").Single(f => f.Kind == FindingKinds.Csr).SpkiSha256
            : CryptoObjects.SpkiOf(Fx(matching));
        Assert.Equal(expected, key.SpkiSha256);
        Assert.NotNull(key.Der); // PKCS#8, for encryption at rest
    }

    [Fact]
    public void Encrypted_private_key_is_flagged_not_decrypted()
    {
        var found = Extractor.FromText("key:\n" + TestPki.FixtureText("ec-encrypted.key"), "description");
        var key = Assert.Single(found, f => f.Kind == FindingKinds.EncryptedPrivateKey);
        Assert.False(key.Verified);
        Assert.Null(key.Der);
        Assert.Contains("does not decrypt", key.Reason);
    }

    [Fact]
    public void Public_key_gives_the_spki_hash()
    {
        var found = Extractor.FromText(TestPki.FixtureText("ec.pub"), "description");
        Assert.Equal(CryptoObjects.SpkiOf(Fx("leaf-ec.pem")), Assert.Single(found, f => f.Kind == FindingKinds.PublicKey).SpkiSha256);
    }

    [Fact]
    public void Kca_and_digicert_style_csrs_are_verified_proofs()
    {
        var kca = Assert.Single(Extractor.FromText(TestPki.FixtureText("kca.csr"), "d"), f => f.Kind == FindingKinds.Csr);
        Assert.True(kca.Verified);
        Assert.Contains("kca=v1", kca.Reason);
        Assert.Equal(CryptoObjects.SpkiOf(Fx("leaf-ec.pem")), kca.SpkiSha256);
        var dc = Assert.Single(Extractor.FromText(TestPki.FixtureText("digicert-style.csr"), "d"), f => f.Kind == FindingKinds.Csr);
        Assert.True(dc.Verified);
        Assert.Contains("Proof of Key Compromise for DigiCert", dc.Reason);
    }

    [Fact]
    public void Csr_whose_signature_does_not_verify_is_an_invalid_proof_with_the_reason()
    {
        using var key = TestPki.EcKey();
        var csr = TestPki.Csr(key, "CN=" + CryptoObjects.KcaSubject);
        csr[^3] ^= 0x5a; // inside the signature
        var f = Assert.Single(Extractor.FromText(TestPki.Pem("CERTIFICATE REQUEST", csr), "d"), f => f.Kind == FindingKinds.Csr);
        Assert.False(f.Verified);
        Assert.Contains("signature does not verify", f.Reason);
        Assert.Equal(TestPki.Spki(key), f.SpkiSha256);
    }

    [Fact]
    public void Ordinary_csr_proves_possession_but_not_compromise()
    {
        using var key = RSA.Create(2048);
        var f = Assert.Single(Extractor.FromText(TestPki.Pem("CERTIFICATE REQUEST", TestPki.Csr(key, "CN=www.example.com")), "d"), f => f.Kind == FindingKinds.Csr);
        Assert.False(f.Verified);
        Assert.Contains("not a key-compromise statement", f.Reason);
    }

    [Fact]
    public void Crtsh_urls_fingerprints_serials_and_domains_are_found_in_text()
    {
        const string sha = "0A:8A:85:E1:0B:88:60:2B:85:AA:A5:36:FA:E3:E3:46:8D:CB:BF:A2:FE:69:0B:56:EF:E4:DC:86:33:2B:2E:D9";
        var text = $"""
            See https://crt.sh/?id=123456789 and https://crt.sh/?sha256=ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789,
            also https://crt.sh/?serial=00c0ffee12345678 and https://crt.sh/?spkisha256=1111111111111111111111111111111111111111111111111111111111111111&output=json
            Fingerprint {sha}
            SHA-1 4b6f4a2c6a2e0e5b8f1e8b0c2d0e4f6a8b0c2d0e
            Serial number: 0a:0b:0c:0d:0e:0f:10:11
            The site www.Shop.Fixture.example. serves it; mail me at someone@mail.example.org. CRL http://crl.ca.example/ca1.crl
            """;
        var found = Extractor.FromText(text, "description");
        Assert.Contains(found, f => f.Kind == FindingKinds.CrtSh && f.Value == "id=123456789");
        Assert.Contains(found, f => f.Kind == FindingKinds.CrtSh && f.Sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
        Assert.Contains(found, f => f.Kind == FindingKinds.CrtSh && f.Serial == "c0ffee12345678");
        Assert.Contains(found, f => f.Kind == FindingKinds.CrtSh && f.SpkiSha256 == new string('1', 64));
        Assert.Contains(found, f => f.Kind == FindingKinds.Sha256 && f.Value == Hex.Normalize(sha));
        Assert.Contains(found, f => f.Kind == FindingKinds.Sha1 && f.Value == "4b6f4a2c6a2e0e5b8f1e8b0c2d0e4f6a8b0c2d0e");
        Assert.Contains(found, f => f.Kind == FindingKinds.Serial && f.Value == "0a0b0c0d0e0f1011");
        Assert.Contains(found, f => f.Kind == FindingKinds.Domain && f.Value == "www.shop.fixture.example");
        Assert.Contains(found, f => f.Kind == FindingKinds.CrlUrl && f.Value == "http://crl.ca.example/ca1.crl");
        Assert.DoesNotContain(found, f => f.Kind == FindingKinds.Domain && f.Value == "mail.example.org");
        Assert.DoesNotContain(found, f => f.Kind == FindingKinds.Domain && f.Value == "crt.sh");
    }

    [Fact]
    public void Plain_sha256_without_colons_is_found()
    {
        var hex = TestPki.Sha256(Fx("leaf-rsa.pem")).ToUpperInvariant();
        Assert.Contains(Extractor.FromText($"cert {hex} please", "d"), f => f.Kind == FindingKinds.Sha256 && f.Value == hex.ToLowerInvariant());
    }

    [Fact]
    public void Html_body_links_are_found()
    {
        var raw = Encoding.UTF8.GetBytes("From: a@example.org\r\nTo: cpr@ca.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
            "<p>Compromised: <a href=\"https://crt.sh/?id=42&amp;opt=nometadata\">this certificate</a></p>\r\n");
        Assert.Contains(Extractor.FromEmail(raw, "m"), f => f.Kind == FindingKinds.CrtSh && f.Value == "id=42");
    }

    [Fact]
    public void Zip_of_pems_tar_gz_and_a_nested_message_are_opened()
    {
        var zip = Zip(("certs/a.pem", Encoding.ASCII.GetBytes(TestPki.FixtureText("leaf-rsa.pem"))), ("certs/b.pem", Encoding.ASCII.GetBytes(TestPki.FixtureText("leaf-ec.pem"))));
        var inner = TestPki.Email("forwarded key", ("key.pem", "application/x-pem-file", TestPki.Fixture("ec-sec1.key")));
        var raw = TestPki.Email("three files", ("certs.zip", "application/zip", zip), ("more.tar.gz", "application/gzip", TestPki.Fixture("certs.tar.gz")),
            ("forwarded.eml", "message/rfc822", inner));
        var found = Extractor.FromEmail(raw, "message 3");
        Assert.Contains(found, f => f.Kind == FindingKinds.Certificate && f.Location.StartsWith("message 3 › part 2 'certs.zip' › certs/a.pem"));
        Assert.Contains(found, f => f.Kind == FindingKinds.Certificate && f.Location.StartsWith("message 3 › part 2 'certs.zip' › certs/b.pem"));
        Assert.Equal(2, found.Count(f => f.Kind == FindingKinds.Certificate && f.Location.Contains("more.tar.gz' › gunzip › leaf-")));
        Assert.Contains(found, f => f.Kind == FindingKinds.PrivateKey && f.Verified == true && f.SpkiSha256 == CryptoObjects.SpkiOf(Fx("leaf-ec.pem")));
    }

    [Fact]
    public void Zip_bomb_is_bounded_and_said()
    {
        var zeros = new byte[8 * 1024 * 1024];
        var zip = Zip(("a.txt", zeros), ("b.txt", zeros), ("c.txt", zeros));
        Assert.True(zip.Length < 100_000);
        var limits = new ExtractionLimits { MaxExpandedBytes = 10 * 1024 * 1024 };
        var found = Extractor.FromFile(zip, "bomb.zip", "application/zip", "m", limits);
        Assert.Contains(found, f => f.Kind == FindingKinds.Unreadable && f.Reason!.Contains("size limit"));
        // A zip inside a zip inside … deeper than the limit is not opened.
        var nested = zip;
        for (var i = 0; i < 6; i++) nested = Zip(("n.zip", nested));
        var deep = Extractor.FromFile(nested, "deep.zip", null, "m", limits);
        Assert.Contains(deep, f => f.Kind == FindingKinds.Unreadable && f.Reason!.Contains("nested deeper"));
        // Many entries: only the first MaxArchiveEntries are opened.
        var many = Zip(Enumerable.Range(0, 50).Select(i => ($"f{i}.txt", new byte[] { (byte)'x' })).ToArray());
        var few = Extractor.FromFile(many, "many.zip", null, "m", new ExtractionLimits { MaxArchiveEntries = 10 });
        Assert.Contains(few, f => f.Reason?.Contains("more than 10 archive entries") == true);
    }

    [Fact]
    public void Hostile_bytes_never_throw()
    {
        var rng = new Random(5);
        for (var i = 0; i < 300; i++)
        {
            var b = new byte[rng.Next(1, 600)];
            rng.NextBytes(b);
            if (i % 3 == 0) b[0] = 0x30;
            if (i % 5 == 0) { b[0] = (byte)'P'; if (b.Length > 3) { b[1] = (byte)'K'; b[2] = 3; b[3] = 4; } }
            _ = Extractor.FromFile(b, "x.bin", null, "m");
            _ = Extractor.FromText("-----BEGIN CERTIFICATE-----\n" + Convert.ToBase64String(b) + "\n-----END CERTIFICATE-----", "m");
        }
        var truncated = TestPki.Fixture("leaf-ec.der")[..200];
        Assert.Contains(Extractor.FromFile(truncated, "leaf.der", null, "m"), f => f.Kind == FindingKinds.Unreadable);
    }

    [Fact]
    public void Tar_without_gzip_is_opened()
    {
        using var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, leaveOpen: true))
        {
            var e = new PaxTarEntry(TarEntryType.RegularFile, "x/leaf.der") { DataStream = new MemoryStream(TestPki.Fixture("leaf-ec.der")) };
            tar.WriteEntry(e);
        }
        var found = Extractor.FromFile(ms.ToArray(), "c.tar", "application/x-tar", "m");
        Assert.Contains(found, f => f.Kind == FindingKinds.Certificate && f.Location == "m › x/leaf.der");
    }

    [Fact]
    public void Hex_rules_normalise_serials_and_fingerprints()
    {
        Assert.Equal("8f01", Hex.NormalizeSerial("00:8F:01"));
        Assert.Equal("00", Hex.NormalizeSerial("0000"));
        Assert.Equal("0f01", Hex.NormalizeSerial("f01"));
        Assert.Equal("abcd", Hex.Normalize("AB:CD"));
    }

    internal static byte[] Zip(params (string Name, byte[] Content)[] files)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, content) in files)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.SmallestSize).Open();
                s.Write(content);
            }
        return ms.ToArray();
    }
}
