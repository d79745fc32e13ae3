using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Compliance.Incidents;
using CprDesk.Escalation;
using CprDesk.OnCall;
using CprDesk.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Compliance;

/// <summary>The incident module and the escalation engine over a <see cref="Desk"/>, configured as an operator would.</summary>
public static class IncidentKit
{
    public static IConfiguration Config(string? caOwner = "Example CA", string? ccadbId = "A000123", string? bugzillaBase = null) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CprDesk:Incidents:CaOwnerName"] = caOwner,
            ["CprDesk:Incidents:CaOwnerCcadbId"] = ccadbId,
            ["CprDesk:Bugzilla:BaseUrl"] = bugzillaBase,
        }).Build();

    public static (IncidentsSetup.Module Module, EscalationEngine Engine) Create(Desk desk, IConfiguration? config = null)
    {
        var module = IncidentsSetup.Create(desk.Database, desk.Time, config ?? Config(), desk.Outbox);
        var policy = EscalationPolicy.Load(Path.Combine(AppContext.BaseDirectory, "rules", "escalation.json"));
        var onCall = new OnCallStore(desk.Database, desk.Time, desk.Outbox);
        var engine = new EscalationEngine(desk.Database, desk.Time, policy, onCall, desk.Outbox, NullLogger<EscalationEngine>.Instance,
            IncidentsSetup.Escalation(module, desk.Database, desk.Time, policy, desk.Outbox));
        return (module, engine);
    }

    /// <summary>A leaf certificate with two DNS names, as PEM.</summary>
    public static (string Pem, string Sha256, string Serial) Certificate(DateTimeOffset notBefore)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=shop.example.com", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("shop.example.com");
        san.AddDnsName("www.shop.example.com");
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(notBefore, notBefore.AddDays(90));
        return (cert.ExportCertificatePem(), Convert.ToHexStringLower(SHA256.HashData(cert.RawData)), cert.SerialNumber.ToLowerInvariant());
    }
}
