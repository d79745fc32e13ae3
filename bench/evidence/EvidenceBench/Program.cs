// Evidence benchmark (issue 5): 10,000 keys in one report matched against an inventory of 1,000,000 certificates.
//   gen DIR [--keys N] [--inventory M]   keys.pem (EC P-256, PKCS#8), inventory.csv (M rows; every key's SPKI
//                                        appears in the inventory, one in ten keys in two certificates), report.eml
//   match DATADIR REPORT.eml             submits the report through the intake, then times the evidence job
//                                        (extraction, encryption, storage, matching, Subscriber clocks)
// The inventory import is timed separately with the real command: cprdesk inventory import inventory.csv.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CprDesk;
using CprDesk.Deadlines;
using CprDesk.Evidence;
using CprDesk.Intake;
using CprDesk.Intake.Email;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

return args.FirstOrDefault() switch
{
    "gen" when args.Length >= 2 => Generate(args[1], Option("--keys", 10_000), Option("--inventory", 1_000_000)),
    "match" when args.Length >= 3 => await MatchAsync(args[1], args[2]),
    _ => Usage(),
};

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}

static int Usage()
{
    Console.Error.WriteLine("usage: EvidenceBench gen DIR [--keys N] [--inventory M] | match DATADIR REPORT.eml");
    return 2;
}

static int Generate(string dir, int keys, int inventory)
{
    Directory.CreateDirectory(dir);
    var sw = Stopwatch.StartNew();
    var spkis = new string[keys];
    var pem = new StringBuilder(keys * 260);
    for (var i = 0; i < keys; i++)
    {
        using var k = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        pem.Append(k.ExportPkcs8PrivateKeyPem()).Append('\n');
        spkis[i] = Convert.ToHexStringLower(SHA256.HashData(k.ExportSubjectPublicKeyInfo()));
    }
    File.WriteAllText(Path.Combine(dir, "keys.pem"), pem.ToString());
    Console.WriteLine($"{keys} EC P-256 keys in {sw.Elapsed.TotalSeconds:0.0} s");

    sw.Restart();
    var rng = new Random(20260306);
    var buf = new byte[32];
    // Key i sits at inventory row i * stride; one key in ten also in the next row (a key shared by two certificates).
    var stride = Math.Max(2, inventory / keys);
    using (var w = new StreamWriter(Path.Combine(dir, "inventory.csv"), false, new UTF8Encoding(false), 1 << 20))
    {
        w.Write("serial,sha256,not_before,not_after,subject_cn,sans,subscriber_email,spki_sha256\n");
        for (var row = 0; row < inventory; row++)
        {
            string spki;
            var keyIndex = row / stride;
            if (row % stride == 0 && keyIndex < keys) spki = spkis[keyIndex];
            else if (row % stride == 1 && keyIndex < keys && keyIndex % 10 == 0) spki = spkis[keyIndex];
            else { rng.NextBytes(buf); spki = Convert.ToHexStringLower(buf); }
            rng.NextBytes(buf);
            var sha = Convert.ToHexStringLower(buf);
            var serial = Convert.ToHexStringLower(buf.AsSpan(0, 16)).TrimStart('0');
            w.Write($"{(serial.Length == 0 ? "1" : serial)},{sha},2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,host{row}.example,host{row}.example www.host{row}.example,sub{row % 50_000}@subscriber.example,{spki}\n");
        }
    }
    Console.WriteLine($"{inventory} inventory rows in {sw.Elapsed.TotalSeconds:0.0} s");

    var body = Convert.ToBase64String(Encoding.ASCII.GetBytes(pem.ToString()), Base64FormattingOptions.InsertLineBreaks);
    File.WriteAllText(Path.Combine(dir, "report.eml"),
        "From: Researcher <researcher@example.org>\r\nTo: cpr@ca.example\r\nSubject: 10,000 compromised keys\r\nMessage-ID: <bench-evidence@example.org>\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThese private keys were published; please revoke.\r\n" +
        "--b\r\nContent-Type: application/x-pem-file; name=\"keys.pem\"\r\nContent-Disposition: attachment; filename=\"keys.pem\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        body + "\r\n--b--\r\n");
    return 0;
}

static async Task<int> MatchAsync(string dataDir, string emlPath)
{
    var time = TimeProvider.System;
    var database = new Database(dataDir);
    await database.MigrateAsync();
    var repo = AppContext.BaseDirectory;
    var rules = ClockRules.Load(FindRules());
    var mail = new MailSettings { From = "cpr-desk@ca.example" };
    var outbox = new Outbox(mail);
    var desk = new ReportDesk(database, time, rules, outbox);
    var limits = new IntakeLimits(64 * 1024 * 1024);
    var intake = new IntakePipeline(database, time, desk, limits, new Acknowledgements(outbox, mail, new CprDeskOptions()), outbox, mail, NullLogger<IntakePipeline>.Instance);
    var settings = new EvidenceSettings();
    using var http = new HttpClient();
    var service = new EvidenceService(database, time, desk, intake, KeyVault.Load(null, dataDir), settings,
        new CrtShClient(http, settings, database, time, NullLogger<CrtShClient>.Instance), http, limits, LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)).CreateLogger<EvidenceService>());

    var sw = Stopwatch.StartNew();
    var result = await intake.SubmitAsync(new RawSubmission("email", await File.ReadAllBytesAsync(emlPath), null, "127.0.0.1") { EnvelopeFrom = "researcher@example.org", EnvelopeTo = ["cpr@ca.example"] });
    var intakeSeconds = sw.Elapsed.TotalSeconds;
    sw.Restart();
    await service.RunOnceAsync();
    var matchSeconds = sw.Elapsed.TotalSeconds;
    await using var db = database.Open();
    var reportId = result.Report.Id;
    var keys = await db.EvidenceFindings.CountAsync(f => f.ReportId == reportId && f.Kind == FindingKinds.PrivateKey && f.Verified == true);
    var matches = await db.EvidenceMatches.CountAsync(m => m.ReportId == reportId);
    var subscribers = await db.Subscribers.CountAsync(s => s.ReportId == reportId);
    var inventory = await db.Inventory.CountAsync();
    Console.WriteLine($"report {result.Report.Ticket}: intake {intakeSeconds:0.00} s (report and clocks exist), evidence job {matchSeconds:0.00} s");
    Console.WriteLine($"keys verified {keys}, inventory {inventory}, certificates matched {matches}, Subscribers with their own clock {subscribers}");
    Console.WriteLine($"peak RSS (VmHWM) {PeakRssMb()} MB");
    return 0;

    string FindRules()
    {
        for (var d = new DirectoryInfo(repo); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "rules", "tls-br.json");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("rules/tls-br.json");
    }
}

static string PeakRssMb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return (long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
    return "?";
}
