// Differential test: our parser against Python's email package (policy.default) over the committed corpus.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class DifferentialTests
{
    private sealed record Disagreement(string File, string Field, string Ours, string Python);

    [Fact]
    public void Corpus_has_at_least_sixty_messages_and_the_generator_beside_it()
    {
        Assert.True(Corpus.Files.Count >= 60, $"only {Corpus.Files.Count} corpus messages");
        Assert.True(File.Exists(Path.Combine(Corpus.Directory, "make_corpus.py")));
    }

    [Fact]
    public void Every_disagreement_with_python_is_allow_listed_and_every_allow_list_entry_still_disagrees()
    {
        var reference = JsonNode.Parse(Corpus.RunPythonReference())!.AsObject();
        var allow = LoadAllowList();
        var found = new List<Disagreement>();
        foreach (var path in Corpus.Files)
        {
            var name = Path.GetFileName(path);
            Assert.True(reference.ContainsKey(name), $"python reported nothing for {name}");
            var py = reference[name]!.AsObject();
            using var stream = File.OpenRead(path);
            using var message = MimeParser.Parse(stream);
            Compare(found, name, "subject", Str(message.Subject), py["subject"]);
            Compare(found, name, "from", Addresses(message.From), py["from"], PyAddresses);
            Compare(found, name, "date", message.Date?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) is { } d ? d : "null", py["date"], n => n is JsonObject o && o.ContainsKey("utc") ? o["utc"]!.GetValue<string>() : Raw(n));
            Compare(found, name, "message_id", Str(message.MessageId), py["message_id"]);
            Compare(found, name, "leaves", Leaves(message), py["leaves"], PyLeaves);
            Compare(found, name, "body", Body(message), py["body"], PyBody);
        }

        var unexpected = found.Where(f => !allow.ContainsKey((f.File, f.Field))).ToList();
        var stale = allow.Keys.Where(k => !found.Any(f => f.File == k.File && f.Field == k.Field)).ToList();
        var report = new StringBuilder();
        foreach (var u in unexpected)
        {
            report.AppendLine($"NOT ALLOW-LISTED {u.File} [{u.Field}]\n  ours:   {Cut(u.Ours)}\n  python: {Cut(u.Python)}");
        }
        foreach (var s in stale) report.AppendLine($"STALE ALLOW-LIST ENTRY {s.File} [{s.Field}]: ours and python now agree; remove it");
        Assert.True(unexpected.Count == 0 && stale.Count == 0, report.ToString());
    }

    private static Dictionary<(string File, string Field), string> LoadAllowList()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Corpus.Directory, "allowlist.json")))!.AsArray();
        var result = new Dictionary<(string, string), string>();
        foreach (var entry in json)
        {
            var file = entry!["file"]!.GetValue<string>();
            var field = entry["field"]!.GetValue<string>();
            var reason = entry["reason"]!.GetValue<string>();
            Assert.True(File.Exists(Path.Combine(Corpus.Directory, file)), $"allow-list names a missing file {file}");
            Assert.Contains("RFC", reason);
            Assert.True(result.TryAdd((file, field), reason), $"duplicate allow-list entry {file} [{field}]");
        }
        return result;
    }

    private static void Compare(List<Disagreement> found, string file, string field, string ours, JsonNode? python, Func<JsonNode?, string>? project = null)
    {
        var theirs = python is JsonObject o && o.ContainsKey("error") ? "ERROR " + o["error"]!.GetValue<string>() : (project ?? Raw)(python);
        if (ours != theirs) found.Add(new Disagreement(file, field, ours, theirs));
    }

    private static string Raw(JsonNode? n) => n is null ? "null" : n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n.ToJsonString();

    private static string Str(string? s) => s ?? "null";

    private static string Addresses(IReadOnlyList<MailboxAddress> list) => string.Join(" | ", list.Select(a => $"{a.DisplayName ?? ""} <{a.Address}>"));

    private static string PyAddresses(JsonNode? n) => n is JsonArray a
        ? string.Join(" | ", a.Select(x => $"{(string?)x!["name"] ?? ""} <{(string?)x["address"]}>"))
        : Raw(n);

    private static string Leaves(MimeMessage m) => string.Join("\n", m.Leaves.Select(l => $"{l.ContentType.MimeType} name={l.FileName ?? "null"} size={l.DecodedLength} sha={l.Sha256}"));

    private static string PyLeaves(JsonNode? n) => n is JsonArray a
        ? string.Join("\n", a.Select(x => $"{(string)x!["type"]!} name={(string?)x["filename"] ?? "null"} size={(long)x["size"]!} sha={(string)x["sha256"]!}"))
        : Raw(n);

    private static string Body(MimeMessage m) => m.TextBodyPart is { } p ? $"{p.ContentType.MimeType}: {NormalizeText(p.GetText())}" : "null";

    private static string PyBody(JsonNode? n) => n is JsonObject o ? $"{(string)o["type"]!}: {NormalizeText((string)o["text"]!)}" : Raw(n);

    /// <summary>Line endings to LF, trailing whitespace of each line and of the whole text removed.</summary>
    private static string NormalizeText(string s)
    {
        var lines = s.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n').Select(l => l.TrimEnd());
        return string.Join("\n", lines).TrimEnd();
    }

    private static string Cut(string s)
    {
        var cut = s.Length > 400 ? s[..400] + "…" : s;
        var sb = new StringBuilder(cut.Length);
        foreach (var c in cut)
        {
            if (c == '\n') sb.Append("\\n");
            else if (char.IsControl(c)) sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
