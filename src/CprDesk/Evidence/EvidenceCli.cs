// `cprdesk inventory import` and `cprdesk crl verify`. Usage errors: one line on stderr, exit 2.
using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Cli;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Evidence;

public static class EvidenceCli
{
    public const int MaxRejectedPrinted = 100;

    public static Command InventoryCommand(Option<string?> data)
    {
        var inventory = new Command("inventory", "The CA's inventory of issued certificates (for matching evidence).");
        var path = new Argument<string>("path") { Description = "A CSV file (header: " + Inventory.CsvHeader + "[,spki_sha256]) or a directory of PEM/DER certificates" };
        var ca = new Option<bool>("--ca") { Description = "The certificates are CA certificates (roots, intermediates): used to check CRL signatures" };
        var import = new Command("import", "Import certificates; bad CSV rows are listed with their line numbers and the good rows are imported (exit 1 if any row was rejected).") { path, ca };
        import.SetAction((pr, ct) => Guard(async () =>
        {
            var p = pr.GetValue(path)!;
            var database = new Database(CliApp.LoadOptions(pr.GetValue(data)).DataDirectory);
            await database.MigrateAsync(ct);
            InventoryImportResult result;
            if (Directory.Exists(p)) result = await Inventory.ImportDirectoryAsync(database, TimeProvider.System, p, pr.GetValue(ca), ct);
            else if (File.Exists(p))
            {
                if (pr.GetValue(ca)) throw DeskException.Invalid("--ca", "CA certificates are imported from PEM/DER files (a directory), so their keys can check CRL signatures.");
                result = await Inventory.ImportCsvAsync(database, TimeProvider.System, p, ct);
            }
            else throw DeskException.Invalid("path", $"{p}: no such file or directory.");
            await database.WriteAsync(TimeProvider.System, async s =>
            {
                await s.AuditAsync("cli", "inventory.imported", null, new
                {
                    source = Path.GetFullPath(p), ca = pr.GetValue(ca), imported = result.Imported, rejected = result.Rejected.Count,
                    firstRejected = result.Rejected.Take(20).Select(r => $"{r.Line}: {r.Reason}"),
                });
                return true;
            }, ct);
            Console.WriteLine($"Imported {result.Imported} certificate(s) from {p} in {result.Elapsed.TotalSeconds:0.0} s; {result.Rejected.Count} rejected.");
            foreach (var r in result.Rejected.Take(MaxRejectedPrinted))
                Console.Error.WriteLine(r.Line > 0 ? $"{p}:{r.Line}: {r.Reason}" : r.Reason);
            if (result.Rejected.Count > MaxRejectedPrinted) Console.Error.WriteLine($"… and {result.Rejected.Count - MaxRejectedPrinted} more rejected rows.");
            return result.Rejected.Count == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        }));
        inventory.Subcommands.Add(import);
        return inventory;
    }

    public static Command CrlCommand(Option<string?> data)
    {
        var crl = new Command("crl", "Certificate revocation lists.");
        var source = new Argument<string>("crl") { Description = "A CRL file (DER or PEM) or an http(s) URL" };
        var issuer = new Option<string?>("--issuer") { Description = "The issuing CA certificate (PEM or DER); default: the inventory's CA certificates" };
        var serials = new Option<string[]>("--serial") { Description = "Serial(s) to look up (hex, colons allowed)", AllowMultipleArgumentsPerToken = true };
        var verify = new Command("verify", "Check a CRL's signature, issuer, thisUpdate/nextUpdate and listed serials. Exit 0 valid, 1 not valid.") { source, issuer, serials };
        verify.SetAction((pr, ct) => Guard(async () =>
        {
            var src = pr.GetValue(source)!;
            byte[] bytes;
            if (Uri.TryCreate(src, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
                try
                {
                    using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
                    if (!response.IsSuccessStatusCode) throw DeskException.Invalid("crl", $"{src}: HTTP {(int)response.StatusCode}.");
                    bytes = await Fetch.ReadBoundedAsync(response, 50 * 1024 * 1024, ct) ?? throw DeskException.Invalid("crl", $"{src}: larger than 50 MB.");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    throw DeskException.Invalid("crl", $"{src}: could not be fetched ({ex.Message}).");
                }
            }
            else if (File.Exists(src)) bytes = await File.ReadAllBytesAsync(src, ct);
            else throw DeskException.Invalid("crl", $"{src}: no such file (or not an http/https URL).");
            bytes = EvidenceService.CrlBytes(bytes);

            var candidates = new List<X509Certificate2>();
            if (pr.GetValue(issuer) is { } issuerPath)
            {
                if (!File.Exists(issuerPath)) throw DeskException.Invalid("--issuer", $"{issuerPath}: no such file.");
                try
                {
                    var raw = await File.ReadAllBytesAsync(issuerPath, ct);
                    candidates.Add(raw.Length > 0 && raw[0] == 0x30 ? X509CertificateLoader.LoadCertificate(raw) : X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(raw)));
                }
                catch (CryptographicException ex) { throw DeskException.Invalid("--issuer", $"{issuerPath}: not a certificate ({ex.Message})."); }
            }
            else
            {
                var database = new Database(CliApp.LoadOptions(pr.GetValue(data)).DataDirectory);
                await database.MigrateAsync(ct);
                candidates.AddRange(await EvidenceService.LoadCaCertificatesAsync(database, ct));
            }
            var result = CrlChecker.Check(Path.GetFileName(src) is { Length: > 0 } n && !src.Contains("://") ? n : src, bytes, candidates, DateTime.UtcNow);
            if (result.Issuer is null && !result.SignatureValid)
                throw DeskException.Invalid("crl", result.Error ?? "not a CRL.");
            Console.WriteLine($"CRL:          {src}");
            Console.WriteLine($"Issuer:       {result.Issuer}");
            Console.WriteLine($"This update:  {result.ThisUpdate:yyyy-MM-ddTHH:mm:ssZ}");
            Console.WriteLine($"Next update:  {(result.NextUpdate is { } nu ? nu.ToString("yyyy-MM-ddTHH:mm:ssZ") : "none")}");
            Console.WriteLine($"CRL number:   {result.CrlNumber ?? "none"}");
            Console.WriteLine($"Entries:      {result.Entries.Count}");
            Console.WriteLine($"Signature:    {(result.SignatureValid ? $"valid (issuer '{result.ExpectedIssuer}')" : "NOT VALID")}");
            foreach (var w in result.Warnings) Console.WriteLine($"Warning:      {w}");
            foreach (var s in pr.GetValue(serials) ?? [])
            {
                var e = result.Find(s);
                Console.WriteLine(e is null ? $"Serial {Hex.NormalizeSerial(s)}: not listed"
                    : $"Serial {e.Serial}: revoked {e.RevokedAt:yyyy-MM-ddTHH:mm:ssZ}, reason {e.ReasonName ?? "none given"}");
            }
            foreach (var c in candidates) c.Dispose();
            if (!result.SignatureValid)
            {
                Console.Error.WriteLine($"cprdesk: {result.Error}");
                return ExitCodes.Failure;
            }
            return ExitCodes.Ok;
        }));
        crl.Subcommands.Add(verify);
        return crl;
    }

    private static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (DeskException ex)
        {
            Console.Error.WriteLine($"cprdesk: {ex.Message}");
            return ex.Kind switch { DeskErrorKind.NotFound => ExitCodes.NotFound, DeskErrorKind.Conflict => ExitCodes.Conflict, _ => ExitCodes.Usage };
        }
    }
}
