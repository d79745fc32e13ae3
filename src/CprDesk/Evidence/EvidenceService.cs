// Runs extraction after a report exists: one job row per message (created once the message is processed), so
// nothing here delays intake or the SMTP 250, and a restart resumes pending jobs. Each job extracts, stores the
// findings in chunks (progress for bulk reports), checks CRLs, matches the inventory, adds each matched Subscriber
// (its own preliminary-report clock from the original receipt, through ReportDesk, audited) and updates the
// category suggestion.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CprDesk.Intake;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Evidence;

public sealed class EvidenceService(Database database, TimeProvider time, ReportDesk desk, IntakePipeline intake, KeyVault vault, EvidenceSettings settings,
    CrtShClient crtSh, HttpClient http, IntakeLimits limits, ILogger<EvidenceService> log) : BackgroundService
{
    public const string Actor = "system:evidence";
    public const int ChunkSize = 1000;
    public const int MaxAttempts = 5;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _runGate = new(1, 1);

    /// <summary>Raised after a job finished (done or failed), with the report id; for tests and watchers.</summary>
    public event Action<long>? JobFinished;

    public void Wake()
    {
        if (_wake.CurrentCount == 0) try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        intake.Processed += _ => Wake();
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await RunOnceAsync(stoppingToken); }
            catch (Exception ex) when (ex is not OperationCanceledException) { log.LogError(ex, "Evidence pass failed; it will run again"); }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var woken = _wake.WaitAsync(cts.Token);
            var timer = Task.Delay(TimeSpan.FromSeconds(Math.Max(1, settings.PollSeconds)), time, cts.Token);
            await Task.WhenAny(woken, timer);
            await cts.CancelAsync();
            try { await Task.WhenAll(woken, timer); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Creates jobs for processed messages that have none, then runs every pending job. Returns jobs run.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        await _runGate.WaitAsync(ct);
        try
        {
            await database.WriteAsync(time, async s =>
            {
                var fresh = await s.Db.Messages.Where(m => m.ReportId != null && m.Status == "processed" && !s.Db.EvidenceJobs.Any(j => j.MessageId == m.Id))
                    .Select(m => new { m.Id, m.ReportId }).Take(1000).ToListAsync(ct);
                foreach (var m in fresh)
                    s.Db.EvidenceJobs.Add(new EvidenceJob { MessageId = m.Id, ReportId = m.ReportId!.Value, Status = "pending", CreatedAt = s.Now, UpdatedAt = s.Now });
                return fresh.Count;
            }, ct);
            List<EvidenceJob> pending;
            await using (var db = database.Open())
                pending = await db.EvidenceJobs.AsNoTracking().Where(j => j.Status == "pending").OrderBy(j => j.MessageId).Take(100).ToListAsync(ct);
            foreach (var job in pending)
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    await ProcessJobAsync(job, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    log.LogError(ex, "Evidence extraction of message {MessageId} (report id {ReportId}) failed", job.MessageId, job.ReportId);
                    await database.WriteAsync(time, async s =>
                    {
                        var j = await s.Db.EvidenceJobs.FirstAsync(x => x.MessageId == job.MessageId);
                        j.Attempts++;
                        j.Error = $"{ex.GetType().Name}: {ex.Message}";
                        j.UpdatedAt = s.Now;
                        if (j.Attempts >= MaxAttempts)
                        {
                            j.Status = "failed";
                            var ticket = await s.Db.Reports.Where(r => r.Id == j.ReportId).Select(r => r.Ticket).FirstAsync();
                            await s.AuditAsync(Actor, "evidence.failed", ticket, new { messageId = j.MessageId, error = j.Error, attempts = j.Attempts });
                        }
                        return true;
                    }, CancellationToken.None);
                }
                JobFinished?.Invoke(job.ReportId);
            }
            return pending.Count;
        }
        finally
        {
            _runGate.Release();
        }
    }

    private async Task ProcessJobAsync(EvidenceJob job, CancellationToken ct)
    {
        InboundMessage message;
        byte[] raw;
        string ticket;
        await using (var db = database.Open())
        {
            message = await db.Messages.AsNoTracking().FirstAsync(m => m.Id == job.MessageId, ct);
            raw = (await BlobStore.GetAsync(db, message.RawSha256))!.Content;
            ticket = await db.Reports.Where(r => r.Id == job.ReportId).Select(r => r.Ticket).FirstAsync(ct);
        }
        var started = time.GetTimestamp();
        var findings = (await ExtractAsync(message, raw)).ToList();
        findings.AddRange(await CrtShFindingsAsync(findings, ct));
        var fetchedCrls = await FetchCrlsAsync(findings, ct);
        // The report's challenge is read here and, the first time, stored in the final transaction below.
        string? knownChallenge;
        await using (var db = database.Open())
            knownChallenge = await db.ReportEvidence.Where(r => r.ReportId == job.ReportId).Select(r => r.Challenge).FirstOrDefaultAsync(ct);
        var challenge = knownChallenge ?? vault.ChallengeFor(ticket);
        findings = findings.Select(f => f.Kind == FindingKinds.ChallengeSignature ? VerifyChallenge(f, challenge, findings, job.ReportId) : f).ToList();

        var extracted = time.GetElapsedTime(started);
        // A job with at most one chunk of findings is written in the final transaction alone (one commit per ordinary
        // message); larger ones are written chunk by chunk first, so their progress shows and no transaction is huge.
        var chunked = findings.Count > ChunkSize;
        if (chunked)
        {
            await database.WriteAsync(time, async s =>
            {
                await s.Db.EvidenceFindings.Where(f => f.MessageId == job.MessageId).ExecuteDeleteAsync(ct);
                var j = await s.Db.EvidenceJobs.FirstAsync(x => x.MessageId == job.MessageId);
                j.Total = findings.Count;
                j.Done = 0;
                j.UpdatedAt = s.Now;
                return true;
            }, ct);
        }
        for (var i = 0; chunked && i < findings.Count; i += ChunkSize)
        {
            var chunk = findings.Skip(i).Take(ChunkSize).ToList();
            await database.WriteAsync(time, async s =>
            {
                foreach (var f in chunk) s.Db.EvidenceFindings.Add(ToRow(f, job.ReportId, job.MessageId, s.Now));
                var j = await s.Db.EvidenceJobs.FirstAsync(x => x.MessageId == job.MessageId);
                j.Done += chunk.Count;
                j.UpdatedAt = s.Now;
                return true;
            }, ct);
        }

        var stored = time.GetElapsedTime(started);
        var crlResults = await CheckCrlsAsync(findings, fetchedCrls, ct);
        var newSubscribers = await database.WriteAsync(time, async s =>
        {
            if (!chunked)
            {
                await s.Db.EvidenceFindings.Where(f => f.MessageId == job.MessageId).ExecuteDeleteAsync(ct);
                foreach (var f in findings) s.Db.EvidenceFindings.Add(ToRow(f, job.ReportId, job.MessageId, s.Now));
                var j0 = await s.Db.EvidenceJobs.FirstAsync(x => x.MessageId == job.MessageId);
                j0.Total = findings.Count;
                j0.Done = findings.Count;
            }
            if (knownChallenge is null && !await s.Db.ReportEvidence.AnyAsync(r => r.ReportId == job.ReportId, ct))
                s.Db.ReportEvidence.Add(new ReportEvidence { ReportId = job.ReportId, Challenge = challenge, UpdatedAt = s.Now });
            foreach (var (result, isUrl) in crlResults)
            {
                await s.Db.EvidenceCrls.Where(c => c.ReportId == job.ReportId && c.Source == result.Source).ExecuteDeleteAsync(ct);
                s.Db.EvidenceCrls.Add(new EvidenceCrl
                {
                    ReportId = job.ReportId, Source = result.Source, IsUrl = isUrl, Issuer = result.Issuer, ExpectedIssuer = result.ExpectedIssuer,
                    SignatureValid = result.SignatureValid, Error = result.Error, ThisUpdate = result.ThisUpdate, NextUpdate = result.NextUpdate,
                    Entries = result.Entries.Count, Warnings = result.Warnings.Count == 0 ? null : string.Join("; ", result.Warnings), CheckedAt = s.Now,
                });
                await s.AuditAsync(Actor, "evidence.crl-checked", ticket, new { source = result.Source, result.Issuer, result.SignatureValid, result.Error });
            }
            await s.Db.SaveChangesAsync(ct);
            var counts = findings.GroupBy(f => f.Kind).ToDictionary(g => g.Key, g => g.Count());
            await s.AuditAsync(Actor, "evidence.extracted", ticket, new { messageId = job.MessageId, findings = findings.Count, kinds = counts });
            var emails = await MatchAsync(s, job.ReportId, ticket, ct);
            await SuggestAsync(s, job.ReportId, ticket, ct);
            var j = await s.Db.EvidenceJobs.FirstAsync(x => x.MessageId == job.MessageId);
            j.Status = "done";
            j.Error = null;
            j.UpdatedAt = s.Now;
            return emails;
        }, ct);

        // Each Subscriber found gets its own preliminary-report clock, counted from the report's receipt (ReportDesk audits it).
        var matched = time.GetElapsedTime(started);
        if (newSubscribers.Count > 0)
        {
            try { await desk.AddSubscribersAsync(ticket, Actor, newSubscribers); }
            catch (DeskException)
            {
                // One address the desk refuses must not cost the others their clocks.
                foreach (var email in newSubscribers)
                {
                    try { await desk.AddSubscriberAsync(ticket, Actor, email, null); }
                    catch (DeskException ex) { log.LogWarning("Subscriber {Email} from the inventory could not be added to {Ticket}: {Error}", email, ticket, ex.Message); }
                }
            }
        }
        log.LogInformation("Evidence of message {MessageId} in {Ticket}: {Count} findings, {Subscribers} new Subscriber(s); extracted {Extracted:0.0} s, stored {Stored:0.0} s, matched {Matched:0.0} s, Subscribers {Total:0.0} s",
            job.MessageId, ticket, findings.Count, newSubscribers.Count, extracted.TotalSeconds, stored.TotalSeconds, matched.TotalSeconds, time.GetElapsedTime(started).TotalSeconds);
    }

    private EvidenceFinding ToRow(Finding f, long reportId, long messageId, DateTime now)
    {
        var isKey = f.Kind == FindingKinds.PrivateKey;
        return new EvidenceFinding
        {
            ReportId = reportId, MessageId = messageId, Kind = f.Kind, Value = Cap(f.Value, 2000)!, Location = Cap(f.Location, 1000)!,
            SpkiSha256 = f.SpkiSha256, Serial = f.Serial, Sha256 = f.Sha256, Issuer = Cap(f.Issuer, 1000), Subject = Cap(f.Subject, 1000),
            NotAfter = f.NotAfter, Verified = f.Verified, Reason = Cap(f.Reason, 2000),
            Der = isKey || f.Kind == FindingKinds.ChallengeSignature ? null : f.Der,
            KeyCiphertext = isKey && f.Der is { } der ? vault.Encrypt(der, KeyAad(reportId, f.SpkiSha256)) : null,
            CreatedAt = now,
        };
    }

    public static string KeyAad(long reportId, string? spki) => $"cprdesk-evidence-key:{reportId}:{spki}";

    private async Task<IReadOnlyList<Finding>> ExtractAsync(InboundMessage message, byte[] raw)
    {
        var where = $"message {message.Id}";
        if (message.Channel == IntakePipeline.EmailChannel) return Extractor.FromEmail(raw, where);
        WebSubmission submission;
        try
        {
            submission = await WebSubmissionParser.ParseAsync(message.ContentType, raw, limits.MaxAttachmentBytes);
        }
        catch (DeskException)
        {
            return [];
        }
        var list = new List<Finding>();
        if (submission.Description is { } d) list.AddRange(Extractor.FromText(d, $"{where} › description"));
        var i = 0;
        foreach (var c in submission.Certificates) list.AddRange(Extractor.FromText(c, $"{where} › certificates field {++i}"));
        foreach (var a in submission.Attachments) list.AddRange(Extractor.FromFile(a.Content, a.FileName, a.ContentType, $"{where} › '{a.FileName}'"));
        // The same finding in the description and the certificate field is kept once per place; exact repeats go.
        return list.DistinctBy(f => (f.Kind, f.Value, f.Location)).ToList();
    }

    private async Task<IReadOnlyList<Finding>> CrtShFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken ct)
    {
        if (!crtSh.Enabled) return [];
        var list = new List<Finding>();
        foreach (var q in findings.Where(f => f.Kind == FindingKinds.CrtSh).Select(f => f.Value).Distinct().Take(50))
        {
            var entries = await crtSh.LookupAsync(q, ct);
            if (entries is null) continue;
            foreach (var e in entries.Take(200))
            {
                if (e.SerialNumber is not { Length: > 0 } serial || !Hex.IsHex(Hex.Normalize(serial))) continue;
                var s = Hex.NormalizeSerial(serial);
                list.Add(new Finding(FindingKinds.Serial, s, $"crt.sh ?{q} › entry {e.Id}")
                {
                    Serial = s, Issuer = e.IssuerName, Subject = e.CommonName, NotAfter = e.NotAfter,
                    Reason = $"crt.sh id {e.Id}: {e.CommonName} ({e.NameValue?.Replace('\n', ' ')})",
                });
            }
        }
        return list;
    }

    private async Task<List<(string Url, byte[] Der)>> FetchCrlsAsync(IReadOnlyList<Finding> findings, CancellationToken ct)
    {
        var fetched = new List<(string, byte[])>();
        if (!settings.FetchCrls) return fetched;
        foreach (var url in findings.Where(f => f.Kind == FindingKinds.CrlUrl).Select(f => f.Value).Distinct().Take(10))
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(settings.FetchTimeoutSeconds));
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var body = response.IsSuccessStatusCode ? await Fetch.ReadBoundedAsync(response, settings.MaxFetchBytes, cts.Token) : null;
                if (body is null) { log.LogWarning("CRL {Url}: HTTP {Status} or larger than {Max} bytes", url, (int)response.StatusCode, settings.MaxFetchBytes); continue; }
                fetched.Add((url, CrlBytes(body)));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                log.LogWarning("CRL {Url} could not be fetched: {Error}", url, ex.Message);
            }
        }
        return fetched;
    }

    /// <summary>A CRL file is DER or PEM ("X509 CRL").</summary>
    public static byte[] CrlBytes(byte[] content)
    {
        if (content.Length > 0 && content[0] == 0x30) return content;
        var text = System.Text.Encoding.ASCII.GetString(content);
        return PemEncoding.TryFind(text, out var f) ? Convert.FromBase64String(text[f.Base64Data]) : content;
    }

    private async Task<List<(CrlCheckResult, bool IsUrl)>> CheckCrlsAsync(IReadOnlyList<Finding> findings, List<(string Url, byte[] Der)> fetched, CancellationToken ct)
    {
        var crls = findings.Where(f => f.Kind == FindingKinds.Crl && f.Der is not null).Select(f => (Source: f.Location, Der: f.Der!, IsUrl: false))
            .Concat(fetched.Select(x => (Source: x.Url, x.Der, IsUrl: true))).ToList();
        if (crls.Count == 0) return [];
        var cas = await LoadCaCertificatesAsync(database, ct);
        try
        {
            var now = time.GetUtcNow().UtcDateTime;
            return crls.Select(c => (CrlChecker.Check(c.Source, c.Der, cas, now), c.IsUrl)).ToList();
        }
        finally
        {
            foreach (var c in cas) c.Dispose();
        }
    }

    public static async Task<List<X509Certificate2>> LoadCaCertificatesAsync(Database database, CancellationToken ct)
    {
        await using var db = database.Open();
        var ders = await db.Inventory.AsNoTracking().Where(i => i.IsCa && i.Der != null).Select(i => i.Der!).ToListAsync(ct);
        return ders.Select(d => X509CertificateLoader.LoadCertificate(d)).ToList();
    }

    private Finding VerifyChallenge(Finding sig, string challenge, IReadOnlyList<Finding> sameMessage, long reportId)
    {
        List<byte[]> keys;
        using (var db = database.Open())
            keys = db.EvidenceFindings.AsNoTracking().Where(f => f.ReportId == reportId && f.Der != null
                    && (f.Kind == FindingKinds.Certificate || f.Kind == FindingKinds.PublicKey || f.Kind == FindingKinds.Csr))
                .Select(f => f.Der!).Take(1000).ToList();
        keys.AddRange(sameMessage.Where(f => f.Der is not null && f.Kind is FindingKinds.Certificate or FindingKinds.PublicKey or FindingKinds.Csr).Select(f => f.Der!));
        var (spki, reason) = Challenges.Verify(challenge, sig.Der!, keys);
        return sig with { Verified = spki is not null, SpkiSha256 = spki, Reason = reason };
    }

    /// <summary>Matches every finding of the report against the inventory; returns Subscriber addresses not yet on the report.</summary>
    private static async Task<List<string>> MatchAsync(WriteScope s, long reportId, string ticket, CancellationToken ct)
    {
        var rows = await s.Db.EvidenceFindings.AsNoTracking().Where(f => f.ReportId == reportId)
            .Select(f => new { f.Kind, f.Sha256, f.Serial, f.SpkiSha256, f.Verified, f.Reason }).ToListAsync(ct);
        var bySha = rows.Where(f => f.Sha256 != null && f.Kind is FindingKinds.Certificate or FindingKinds.Sha256 or FindingKinds.CrtSh).Select(f => f.Sha256!).ToHashSet();
        var bySerial = rows.Where(f => f.Serial != null && f.Kind is FindingKinds.Serial or FindingKinds.Sha1 or FindingKinds.CrtSh).Select(f => f.Serial!).ToHashSet();
        var bySpki = rows.Where(f => f.SpkiSha256 != null && IsKeyIdentifier(f.Kind, f.Verified, f.Reason)).Select(f => f.SpkiSha256!).ToHashSet();
        var existing = (await s.Db.EvidenceMatches.Where(m => m.ReportId == reportId).Select(m => new { m.InventoryId, m.MatchedBy }).ToListAsync(ct))
            .Select(m => (m.InventoryId, m.MatchedBy)).ToHashSet();
        var added = new List<(long Id, string By, string Value)>();
        async Task Lookup(string by, HashSet<string> values, Func<List<string>, Task<List<(long Id, string Value)>>> query)
        {
            foreach (var chunk in values.Chunk(500))
                foreach (var (id, value) in await query(chunk.ToList()))
                    if (existing.Add((id, by))) added.Add((id, by, value));
        }
        await Lookup("sha256", bySha, async c => (await s.Db.Inventory.Where(i => c.Contains(i.Sha256)).Select(i => new { i.Id, V = i.Sha256 }).ToListAsync(ct)).Select(x => (x.Id, x.V)).ToList());
        await Lookup("serial", bySerial, async c => (await s.Db.Inventory.Where(i => c.Contains(i.Serial)).Select(i => new { i.Id, V = i.Serial }).ToListAsync(ct)).Select(x => (x.Id, x.V)).ToList());
        await Lookup("spki", bySpki, async c => (await s.Db.Inventory.Where(i => i.SpkiSha256 != null && c.Contains(i.SpkiSha256)).Select(i => new { i.Id, V = i.SpkiSha256! }).ToListAsync(ct)).Select(x => (x.Id, x.V)).ToList());
        foreach (var (id, by, value) in added)
            s.Db.EvidenceMatches.Add(new EvidenceMatch { ReportId = reportId, InventoryId = id, MatchedBy = by, FindingValue = value, CreatedAt = s.Now });
        await s.Db.SaveChangesAsync(ct);
        if (added.Count > 0)
        {
            var shas = await s.Db.Inventory.Where(i => added.Select(a => a.Id).Take(50).Contains(i.Id)).Select(i => i.Sha256).ToListAsync(ct);
            await s.AuditAsync(Actor, "evidence.matched", ticket, new { matches = added.Count, by = added.GroupBy(a => a.By).ToDictionary(g => g.Key, g => g.Count()), certificates = shas });
        }
        var emails = await s.Db.EvidenceMatches.Where(m => m.ReportId == reportId)
            .Join(s.Db.Inventory, m => m.InventoryId, i => i.Id, (m, i) => i.SubscriberEmail).Where(e => e != null).Distinct().ToListAsync(ct);
        var known = await s.Db.Subscribers.Where(x => x.ReportId == reportId).Select(x => x.Email).ToListAsync(ct);
        return emails.Select(e => e!).Where(e => !known.Contains(e, StringComparer.OrdinalIgnoreCase)).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Findings that name a key: a private key we could read, a CSR whose signature holds, a public key, a crt.sh
    /// SPKI link, a verified challenge signature. A CSR with a broken signature names nothing.</summary>
    internal static bool IsKeyIdentifier(string kind, bool? verified, string? reason) => kind switch
    {
        FindingKinds.PrivateKey => verified == true,
        FindingKinds.Csr => reason is null || !reason.StartsWith(CsrBadSignaturePrefix, StringComparison.Ordinal),
        FindingKinds.PublicKey or FindingKinds.CrtSh => true,
        FindingKinds.ChallengeSignature => verified == true,
        _ => false,
    };

    internal const string CsrBadSignaturePrefix = "The CSR's signature does not verify";

    private static async Task SuggestAsync(WriteScope s, long reportId, string ticket, CancellationToken ct)
    {
        var report = await s.Db.Reports.AsNoTracking().FirstAsync(r => r.Id == reportId, ct);
        var kinds = await s.Db.EvidenceFindings.AsNoTracking().Where(f => f.ReportId == reportId
                && (f.Kind == FindingKinds.PrivateKey || f.Kind == FindingKinds.Csr || f.Kind == FindingKinds.ChallengeSignature || f.Kind == FindingKinds.EncryptedPrivateKey))
            .Select(f => new { f.Kind, f.Verified, f.SpkiSha256 }).ToListAsync(ct);
        var verified = kinds.Where(k => k.Verified == true && k.Kind != FindingKinds.EncryptedPrivateKey).Select(k => k.SpkiSha256).Distinct().Count();
        var invalid = kinds.Count(k => k.Verified != true && k.Kind != FindingKinds.EncryptedPrivateKey);
        var encrypted = kinds.Count(k => k.Kind == FindingKinds.EncryptedPrivateKey);
        var badCrls = await s.Db.EvidenceCrls.CountAsync(c => c.ReportId == reportId && !c.SignatureValid, ct);
        var matchedEmails = await s.Db.EvidenceMatches.Where(m => m.ReportId == reportId)
            .Join(s.Db.Inventory, m => m.InventoryId, i => i.Id, (m, i) => i.SubscriberEmail).Where(e => e != null).Distinct().ToListAsync(ct);
        var subjects = await s.Db.Messages.Where(m => m.ReportId == reportId).Select(m => m.Subject).ToListAsync(ct);
        var text = string.Join("\n", subjects.Where(x => x != null).Append(report.Description ?? "").Append(report.ProblemType ?? ""));
        if (text.Length > 50_000) text = text[..50_000];
        var (category, reasons) = CategorySuggestion.Suggest(new CategorySuggestion.Facts(verified, invalid, encrypted, badCrls, matchedEmails.Count,
            matchedEmails.Any(e => string.Equals(e, report.ReporterEmail, StringComparison.OrdinalIgnoreCase)), text));
        var row = await s.Db.ReportEvidence.FirstAsync(r => r.ReportId == reportId, ct);
        var reasonsJson = JsonSerializer.Serialize(reasons);
        if (row.SuggestedCategory == category && row.SuggestionReasons == reasonsJson) return;
        await s.AuditAsync(Actor, "evidence.suggested", ticket, new { from = row.SuggestedCategory, to = category, reasons });
        row.SuggestedCategory = category;
        row.SuggestionReasons = reasonsJson;
        row.UpdatedAt = s.Now;
    }

    private static string? Cap(string? s, int max) => s is null ? null : s.Length <= max ? s : s[..max];
}
