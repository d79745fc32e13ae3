using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Evidence;

namespace CprDesk.Tests.Evidence;

public sealed class CrlTests
{
    private static readonly DateTime Now = TestPki.Epoch.UtcDateTime.AddDays(2);

    [Fact]
    public void Rsa_crl_verifies_and_lists_serials_with_reason_codes()
    {
        using var ca = TestPki.RsaCa();
        var crl = TestPki.Crl(ca, ([0x00, 0x8f, 0x01], X509RevocationReason.KeyCompromise), ([0x22], X509RevocationReason.Superseded));
        var r = CrlChecker.Check("ca.crl", crl, [ca], Now);
        Assert.True(r.SignatureValid, r.Error);
        Assert.Null(r.Error);
        Assert.Equal(ca.Subject, r.Issuer);
        Assert.Equal(TestPki.Epoch.UtcDateTime, r.ThisUpdate);
        Assert.Equal(TestPki.Epoch.UtcDateTime.AddDays(7), r.NextUpdate);
        Assert.Equal("7", r.CrlNumber);
        Assert.Equal("keyCompromise", r.Find("00:8F:01")!.ReasonName);
        Assert.Equal(1, r.Find("8f01")!.ReasonCode);
        Assert.Equal("superseded", r.Find("22")!.ReasonName);
        Assert.Null(r.Find("23"));
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void Ecdsa_crl_verifies_against_its_issuer()
    {
        using var ca = TestPki.EcCa();
        var r = CrlChecker.Check("ec.crl", TestPki.Crl(ca, ([0x01], X509RevocationReason.CessationOfOperation)), [ca], Now);
        Assert.True(r.SignatureValid, r.Error);
        Assert.Equal("cessationOfOperation", r.Entries.Single().ReasonName);
    }

    [Fact]
    public void Seed_case_crl_signed_by_the_wrong_ecdsa_key_fails_naming_the_crl_and_the_expected_issuer()
    {
        using var ca = TestPki.EcCa("Seed Issuing CA");
        using var wrongKey = TestPki.EcCa("Seed Issuing CA"); // same name, different key: what the CA's signer actually used
        var crl = TestPki.Crl(wrongKey, ([0x10], X509RevocationReason.KeyCompromise));
        var r = CrlChecker.Check("seed-ca.crl", crl, [ca], Now);
        Assert.False(r.SignatureValid);
        Assert.Equal($"CRL seed-ca.crl does not verify against its expected issuer 'CN=Seed Issuing CA, O=CprDesk Tests' (SPKI SHA-256 {CryptoObjects.SpkiOf(ca)}): ECDSA verification failure: the signature was not made by the issuer's key.", r.Error);
    }

    [Fact]
    public void Unknown_issuer_stale_crl_and_garbage_are_said_plainly()
    {
        using var ca = TestPki.RsaCa("Known CA");
        using var other = TestPki.RsaCa("Other CA");
        var crl = TestPki.Crl(other);
        var unknown = CrlChecker.Check("other.crl", crl, [ca], Now);
        Assert.False(unknown.SignatureValid);
        Assert.Contains("names issuer 'CN=Other CA, O=CprDesk Tests'", unknown.Error);
        Assert.Contains("'CN=Known CA, O=CprDesk Tests'", unknown.Error);
        var stale = CrlChecker.Check("other.crl", crl, [other], Now.AddDays(30));
        Assert.True(stale.SignatureValid);
        Assert.Contains(stale.Warnings, w => w.Contains("stale"));
        var garbage = CrlChecker.Check("junk.crl", [0x30, 0x03, 0x02, 0x01, 0x01], [ca], Now);
        Assert.False(garbage.SignatureValid);
        Assert.StartsWith("CRL junk.crl: not a well-formed CRL", garbage.Error);
    }

    [Fact]
    public void Rsa_crl_checked_against_an_ec_issuer_of_the_same_name_fails_with_the_reason()
    {
        using var rsaCa = TestPki.RsaCa("Mixed CA");
        using var ecCa = TestPki.EcCa("Mixed CA");
        var r = CrlChecker.Check("mixed.crl", TestPki.Crl(rsaCa), [ecCa], Now);
        Assert.False(r.SignatureValid);
        Assert.Contains("not an RSA key", r.Error);
    }
}
