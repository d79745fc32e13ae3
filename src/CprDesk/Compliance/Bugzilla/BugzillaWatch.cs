// The watch on CA Certificate Compliance bugs: import (Bugzilla REST or a saved file of the same shape), read the
// whiteboard, classify into the failure taxonomy, find related incidents, and keep the weekly review honest.
using System.Globalization;
using System.Text.Json;
using CprDesk.Compliance.Incidents;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Compliance.Bugzilla;

public sealed record ImportResult(int Bugs, int New, int Comments, DateTime? LatestChange);

public sealed record RelatedBug(long Bug, DateTime Opened, string Summary, string? CaOwner, IReadOnlyList<string> Classes, double Score, string Why);

public sealed class BugzillaWatch(Database database, TimeProvider time, FailureTaxonomy taxonomy, IncidentDesk incidents, BugzillaOptions options,
    Outbox outbox, HttpClient http)
{
    public const string Fields = "id,summary,status,resolution,whiteboard,creator,creation_time,last_change_time";
    public const string AlarmEvent = "bugzilla.review-overdue";
    public const int MaxBugsPerFetch = 5000;

    public FailureTaxonomy Taxonomy => taxonomy;

    /// <summary>Imports one JSON document: a bug search answer (<c>{"bugs":[…]}</c>) or a comments answer
    /// (<c>{"bugs":{"id":{"comments":[…]}}}</c>). Bugs may also carry their comments inline ("comments": […]).</summary>
    public Task<ImportResult> ImportJsonAsync(string actor, string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException ex) { throw DeskException.Invalid("file", $"Not JSON: {ex.Message.Split('\n')[0]}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("bugs", out var bugs))
                throw DeskException.Invalid("bugs", "Expected Bugzilla REST JSON with a 'bugs' member (a bug search or a comment answer).");
            var parsedBugs = new List<JsonElement>();
            var comments = new Dictionary<long, List<JsonElement>>();
            if (bugs.ValueKind == JsonValueKind.Array)
                foreach (var b in bugs.EnumerateArray())
                {
                    parsedBugs.Add(b.Clone());
                    if (b.TryGetProperty("comments", out var inline) && inline.ValueKind == JsonValueKind.Array && Id(b) is { } bid)
                        comments[bid] = inline.EnumerateArray().Select(c => c.Clone()).ToList();
                }
            else if (bugs.ValueKind == JsonValueKind.Object)
                foreach (var p in bugs.EnumerateObject())
                    if (long.TryParse(p.Name, CultureInfo.InvariantCulture, out var bid) && p.Value.TryGetProperty("comments", out var cs) && cs.ValueKind == JsonValueKind.Array)
                        comments[bid] = cs.EnumerateArray().Select(c => c.Clone()).ToList();
            else throw DeskException.Invalid("bugs", "'bugs' must be an array (bug search) or an object (comments by bug id).");
            return StoreAsync(actor, parsedBugs, comments, source);
        }
    }

    /// <summary>Fetches bugs changed since <paramref name="since"/> (default: the latest change already imported)
    /// and their comments from the Bugzilla REST API at the configured base URL.</summary>
    public async Task<ImportResult> FetchAsync(string actor, DateTime? since, CancellationToken ct = default)
    {
        DateTime from;
        if (since is { } s0) from = s0.ToUniversalTime();
        else
        {
            await using var db = database.Open();
            from = await db.BugzillaBugs.MaxAsync(b => (DateTime?)b.LastChangeTime) ?? time.GetUtcNow().UtcDateTime.AddYears(-options.RelatedYears);
        }
        var baseUrl = options.BaseUrl.TrimEnd('/');
        var bugs = new List<JsonElement>();
        const int page = 500;
        for (var offset = 0; offset < MaxBugsPerFetch; offset += page)
        {
            var url = $"{baseUrl}/rest/bug?product={Uri.EscapeDataString(options.Product)}&component={Uri.EscapeDataString(options.Component)}" +
                $"&include_fields={Fields}&last_change_time={Uri.EscapeDataString(from.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))}" +
                $"&order=bug_id&limit={page}&offset={offset}";
            using var doc = await GetJsonAsync(url, ct);
            var batch = doc.RootElement.TryGetProperty("bugs", out var b) && b.ValueKind == JsonValueKind.Array ? b.EnumerateArray().Select(x => x.Clone()).ToList() : [];
            bugs.AddRange(batch);
            if (batch.Count < page) break;
        }
        var comments = new Dictionary<long, List<JsonElement>>();
        foreach (var bug in bugs)
        {
            if (Id(bug) is not { } id) continue;
            using var doc = await GetJsonAsync($"{baseUrl}/rest/bug/{id}/comment", ct);
            if (doc.RootElement.TryGetProperty("bugs", out var byId) && byId.ValueKind == JsonValueKind.Object
                && byId.TryGetProperty(id.ToString(CultureInfo.InvariantCulture), out var entry) && entry.TryGetProperty("comments", out var cs) && cs.ValueKind == JsonValueKind.Array)
                comments[id] = cs.EnumerateArray().Select(c => c.Clone()).ToList();
        }
        return await StoreAsync(actor, bugs, comments, baseUrl);
    }

    private async Task<JsonDocument> GetJsonAsync(string url, CancellationToken ct)
    {
        using var response = await http.GetAsync(url, ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Bugzilla answered {(int)response.StatusCode} {response.ReasonPhrase} for {url}");
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        return await JsonDocument.ParseAsync(stream, cancellationToken: ct);
    }

    private Task<ImportResult> StoreAsync(string actor, List<JsonElement> bugs, Dictionary<long, List<JsonElement>> comments, string source) =>
        database.WriteAsync(time, async s =>
        {
            int created = 0, commentCount = 0;
            DateTime? latest = null;
            var touchedIncidents = new HashSet<long>();
            // One query per chunk, not per bug: a first import is ~1,700 bugs.
            var ids = bugs.Select(Id).OfType<long>().Union(comments.Keys).Distinct().ToList();
            var rows = new Dictionary<long, BugzillaBug>();
            var knownComments = new HashSet<long>();
            foreach (var chunk in ids.Chunk(500))
            {
                foreach (var r in await s.Db.BugzillaBugs.Where(x => chunk.Contains(x.Id)).ToListAsync()) rows[r.Id] = r;
                knownComments.UnionWith(await s.Db.BugzillaComments.Where(x => chunk.Contains(x.BugId)).Select(x => x.Id).ToListAsync());
            }
            foreach (var b in bugs)
            {
                if (Id(b) is not { } id) continue;
                var row = rows.GetValueOrDefault(id);
                if (row is null)
                {
                    row = new BugzillaBug { Id = id, ImportedAt = s.Now };
                    s.Db.BugzillaBugs.Add(row);
                    rows[id] = row;
                    created++;
                }
                row.Summary = Str(b, "summary") ?? row.Summary;
                row.Status = Str(b, "status") ?? row.Status;
                row.Resolution = Str(b, "resolution") ?? row.Resolution;
                row.Whiteboard = Str(b, "whiteboard") ?? row.Whiteboard;
                row.Creator = Str(b, "creator") ?? row.Creator;
                row.CreationTime = Time(b, "creation_time") ?? (row.CreationTime == default ? s.Now : row.CreationTime);
                row.LastChangeTime = Time(b, "last_change_time") ?? row.CreationTime;
                latest = latest is null || row.LastChangeTime > latest ? row.LastChangeTime : latest;
            }
            await s.Db.SaveChangesAsync();
            foreach (var (bugId, list) in comments)
            {
                var bug = rows.GetValueOrDefault(bugId);
                if (bug is null) continue; // comments for a bug we never saw: nothing to hang them on
                foreach (var c in list)
                {
                    if (Id(c) is not { } cid || !knownComments.Add(cid)) continue;
                    var count = c.TryGetProperty("count", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : 0;
                    var text = Str(c, "text") ?? Str(c, "raw_text") ?? "";
                    s.Db.BugzillaComments.Add(new BugzillaComment
                    {
                        Id = cid, BugId = bugId, Count = count, Creator = Str(c, "creator"), CreationTime = Time(c, "creation_time") ?? Time(c, "time") ?? s.Now,
                        Text = text.Length > 100_000 ? text[..100_000] : text,
                    });
                    commentCount++;
                    if (count == 0) bug.Description = text.Length > 20_000 ? text[..20_000] : text;
                }
            }
            await s.Db.SaveChangesAsync();
            // Classification reads every comment (a CA's own report says what broke); similarity uses comment 0.
            foreach (var chunk in rows.Keys.Chunk(500))
            {
                var texts = (await s.Db.BugzillaComments.Where(x => chunk.Contains(x.BugId)).Select(x => new { x.BugId, x.Count, x.Text }).ToListAsync())
                    .GroupBy(x => x.BugId).ToDictionary(g => g.Key, g => string.Join("\n\n", g.OrderBy(x => x.Count).Select(x => x.Text)));
                foreach (var id in chunk) ApplyReading(rows[id], texts.GetValueOrDefault(id));
            }
            await s.Db.SaveChangesAsync();
            // Our own bugs: link them to the incident that names them; their whiteboard drives the update clock.
            foreach (var own in await s.Db.BugzillaBugs.Where(x => x.Own).ToListAsync())
            {
                var incident = await s.Db.Incidents.FirstOrDefaultAsync(i => i.BugId == own.Id);
                if (incident is null) continue;
                if (own.IncidentId != incident.Id) own.IncidentId = incident.Id;
                if (incident.Whiteboard != own.Whiteboard || incident.NextUpdateOn != own.NextUpdateOn)
                {
                    incident.Whiteboard = own.Whiteboard;
                    incident.NextUpdateOn = own.NextUpdateOn;
                    incident.UpdatedAt = s.Now;
                    await s.AuditAsync(actor, "incident.whiteboard-synced", null, new { incident = incident.Id, bug = own.Id, whiteboard = own.Whiteboard, nextUpdate = own.NextUpdateOn });
                    touchedIncidents.Add(incident.Id);
                }
            }
            foreach (var id in touchedIncidents)
                await incidents.SyncClocksAsync(s, await s.Db.Incidents.FirstAsync(i => i.Id == id));
            await s.AuditAsync(actor, "bugzilla.imported", null, new { source, bugs = bugs.Count, created, comments = commentCount, latestChange = latest });
            return new ImportResult(bugs.Count, created, commentCount, latest);
        });

    private void ApplyReading(BugzillaBug row, string? comments = null)
    {
        var wb = Whiteboard.Parse(row.Whiteboard);
        row.Tags = string.Join(' ', wb.Tags);
        row.NextUpdateOn = wb.NextUpdate;
        row.CloseOn = wb.CloseOn;
        var colon = row.Summary.IndexOf(':');
        row.CaOwner = colon > 0 ? row.Summary[..colon].Trim() : null;
        row.Own = row.CaOwner is not null && !string.IsNullOrWhiteSpace(incidents.Options.CaOwnerName)
            && string.Equals(row.CaOwner, incidents.Options.CaOwnerName.Trim(), StringComparison.OrdinalIgnoreCase);
        var text = comments ?? row.Description;
        var classes = taxonomy.Classify(row.Summary, text is { Length: > 50_000 } ? text[..50_000] : text, wb.Tags);
        row.FailureClasses = string.Join(' ', classes.Select(c => c.Class));
        row.ClassReasons = JsonSerializer.Serialize(classes, AuditJson.Options);
    }

    /// <summary>Bugs from any CA in the last two years (configurable) like the incident: failure classes in common
    /// and TF-IDF cosine similarity of the texts. The Description column is left for a person.</summary>
    public async Task<IReadOnlyList<RelatedBug>> RelatedAsync(long incidentId, int max = 10)
    {
        var d = await incidents.GetAsync(incidentId) ?? throw DeskException.NotFound($"No incident {incidentId}.");
        var (text, classes) = IncidentText(d);
        var since = time.GetUtcNow().UtcDateTime.AddYears(-options.RelatedYears);
        await using var db = database.Open();
        var candidates = await db.BugzillaBugs.AsNoTracking().Where(b => b.CreationTime >= since && b.Resolution != "INVALID" && b.Resolution != "DUPLICATE")
            .Where(b => d.Incident.BugId == null || b.Id != d.Incident.BugId).ToListAsync();
        if (candidates.Count == 0) return [];
        var cos = TextSimilarity.Cosine(text, candidates.Select(b => $"{b.Summary} {b.Summary} {Limit(b.Description, 3000)}").ToList());
        var found = new List<RelatedBug>();
        for (var i = 0; i < candidates.Count; i++)
        {
            var b = candidates[i];
            var bc = b.FailureClasses.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var common = bc.Intersect(classes).ToList();
            var classScore = classes.Count == 0 || bc.Length == 0 ? 0 : (double)common.Count / classes.Union(bc).Count();
            // The kind of failure must match: a CPR-response incident is not related to a CRL bug however alike the words.
            var kindMatch = classes.Contains("CPR") ? bc.Contains("CPR") : classes.Contains("RD") ? bc.Contains("RD") : common.Count > 0 || cos[i] >= 0.2;
            if (!kindMatch) continue;
            var score = 0.5 * classScore + 0.5 * cos[i] + (common.Contains("CPR") || common.Contains("RD") ? 0.2 : 0);
            if (score < 0.15) continue;
            found.Add(new RelatedBug(b.Id, b.CreationTime, b.Summary, b.CaOwner, bc, Math.Round(score, 3),
                $"classes in common: {(common.Count == 0 ? "none" : string.Join(", ", common))}; text similarity {cos[i]:0.00}"));
        }
        return found.OrderByDescending(r => r.Score).ThenByDescending(r => r.Opened).Take(max).ToList();
    }

    /// <summary>The incident as text for similarity, and its failure classes (its kind and what its words say).</summary>
    public (string Text, IReadOnlyList<string> Classes) IncidentText(IncidentDetail d)
    {
        var text = string.Join(' ', new[] { d.Incident.Title, d.Fields.IncidentDescription, d.Fields.Analysis }
            .Concat(d.Findings.Select(f => f.Title + " " + IncidentValidation.Detail(f, "description")))
            .Concat(d.Reports.Select(r => r.Description)).Where(x => !string.IsNullOrWhiteSpace(x)));
        var classes = taxonomy.Classify(d.Incident.Title, text, Whiteboard.Parse(d.Incident.Whiteboard).Tags).Select(c => c.Class).ToList();
        if (d.Incident.Kind == IncidentKinds.CprResponse && !classes.Contains("CPR")) classes.Add("CPR");
        if (d.Incident.Kind == IncidentKinds.DelayedRevocation && !classes.Contains("RD")) classes.Add("RD");
        if (d.Incident.Kind == IncidentKinds.CprResponse) classes.Remove("F14"); // the CPR's subject (a CRL, say) is not the failure
        return (text, classes);
    }

    /// <summary>The review queue: other CAs' bugs nobody has reviewed yet, oldest import first.</summary>
    public async Task<IReadOnlyList<BugzillaBug>> ReviewQueueAsync()
    {
        await using var db = database.Open();
        return await Unreviewed(db).OrderBy(b => b.ImportedAt).ThenBy(b => b.Id).ToListAsync();
    }

    /// <summary>Other CAs' bugs without a verdict. A bug imported by a process that did not know our name (a CLI
    /// without configuration) is still recognised as ours by its summary.</summary>
    private IQueryable<BugzillaBug> Unreviewed(CprDeskDb db)
    {
        var owner = incidents.Options.CaOwnerName?.Trim().ToLower();
        return db.BugzillaBugs.AsNoTracking().Where(b => b.Review == null && !b.Own && (owner == null || b.CaOwner == null || b.CaOwner.ToLower() != owner));
    }

    public Task ReviewAsync(long bugId, string actor, string? verdict, string? note) => database.WriteAsync(time, async s =>
    {
        if (verdict is not ("relevant" or "not-relevant")) throw DeskException.Invalid("verdict", "verdict must be 'relevant' or 'not-relevant'.");
        if (string.IsNullOrWhiteSpace(note)) throw DeskException.Invalid("note", "note is required: say why it is (not) relevant to us.");
        var bug = await s.Db.BugzillaBugs.FirstOrDefaultAsync(b => b.Id == bugId) ?? throw DeskException.NotFound($"No imported bug {bugId}.");
        bug.Review = verdict;
        bug.ReviewNote = note.Trim();
        bug.ReviewedBy = actor;
        bug.ReviewedAt = s.Now;
        await s.AuditAsync(actor, "bugzilla.reviewed", null, new { bug = bug.Id, verdict, note = bug.ReviewNote, summary = bug.Summary });
        return true;
    });

    /// <summary>Tells the admins, at most once a day, when imported bugs have waited longer than a week for review.</summary>
    public async Task ReviewAlarmAsync()
    {
        var now = time.GetUtcNow().UtcDateTime;
        var cutoff = now - options.ReviewWithin;
        await using (var db = database.Open())
        {
            if (!await Unreviewed(db).AnyAsync(b => b.ImportedAt <= cutoff)) return;
            var dayAgo = now.AddDays(-1);
            if (await db.AuditEvents.AnyAsync(e => e.Type == AlarmEvent && e.At > dayAgo)) return;
        }
        await database.WriteAsync(time, async s =>
        {
            var waiting = await Unreviewed(s.Db).Where(b => b.ImportedAt <= cutoff).OrderBy(b => b.ImportedAt)
                .Select(b => new { b.Id, b.Summary, b.ImportedAt }).ToListAsync();
            var text = $"""
                {waiting.Count} CA Certificate Compliance bug(s) imported more than {options.ReviewWithin.TotalDays:0} days ago have not been reviewed.
                The CA committed to reviewing other CAs' incidents weekly. Review them on /staff/incidents (or POST /api/v1/bugzilla/bugs/<id>/review).

                {string.Join("\n", waiting.Take(50).Select(w => $"- Bug {w.Id}: {w.Summary} (imported {w.ImportedAt:yyyy-MM-dd})"))}
                """;
            var admins = await outbox.TellAdminsAsync(s, "Weekly Bugzilla review overdue", text);
            await s.AuditAsync("system", AlarmEvent, null, new { waiting = waiting.Count, oldest = waiting.FirstOrDefault()?.ImportedAt, told = admins.Select(a => a.Username) });
            return true;
        });
    }

    private static string? Limit(string? s, int n) => s is null || s.Length <= n ? s : s[..n];

    private static long? Id(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("id", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var id) ? id : null;

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTime? Time(JsonElement e, string name) =>
        Str(e, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.UtcDateTime : null;
}
