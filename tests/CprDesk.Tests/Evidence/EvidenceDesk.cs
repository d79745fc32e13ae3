using System.Security.Cryptography;
using CprDesk.Evidence;
using CprDesk.Intake;
using CprDesk.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Evidence;

/// <summary>The domain services (<see cref="Desk"/>) plus the evidence service, driven by hand.</summary>
public sealed class EvidenceDesk : IAsyncLifetime, IDisposable
{
    public Desk Desk { get; } = new();
    public KeyVault Vault { get; } = new(RandomNumberGenerator.GetBytes(32));
    public EvidenceSettings Settings { get; } = new();
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(20) };
    public EvidenceQueries Queries => new(Desk.Database, Desk.Time);

    public EvidenceService NewService() => new(Desk.Database, Desk.Time, Desk.Reports, Desk.Intake, Vault, Settings,
        new CrtShClient(Http, Settings, Desk.Database, Desk.Time, NullLogger<CrtShClient>.Instance), Http, new IntakeLimits(1024 * 1024),
        NullLogger<EvidenceService>.Instance);

    public async Task<string> EmailAsync(byte[] raw)
    {
        var r = await Desk.Intake.SubmitAsync(new RawSubmission(IntakePipeline.EmailChannel, raw, null, "127.0.0.1")
        {
            EnvelopeFrom = "reporter@example.org", EnvelopeTo = ["cpr@ca.example"],
        });
        return r.Report.Ticket;
    }

    /// <summary>Writes a CSV inventory and imports it.</summary>
    public async Task<InventoryImportResult> ImportCsvAsync(params string[] rows)
    {
        var path = Path.Combine(Path.GetTempPath(), $"inv-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(path, [Inventory.CsvHeaderWithSpki, .. rows]);
        try { return await Inventory.ImportCsvAsync(Desk.Database, Desk.Time, path, CancellationToken.None); }
        finally { File.Delete(path); }
    }

    public static string Row(System.Security.Cryptography.X509Certificates.X509Certificate2 c, string? email) =>
        $"{c.SerialNumber},{TestPki.Sha256(c)},{c.NotBefore.ToUniversalTime():O},{c.NotAfter.ToUniversalTime():O},{CryptoObjects.CommonName(c.SubjectName)},{CryptoObjects.CommonName(c.SubjectName)},{email},{CryptoObjects.SpkiOf(c)}";

    public Task InitializeAsync() => Desk.InitializeAsync();
    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Http.Dispose();
        Desk.Dispose();
    }
}
