// Classifies an incident text (a bug's summary, whiteboard and description, or one of our incidents) into the
// failure taxonomy of DOMAIN.md (F1–F17, plus CPR for "a CPR was not handled in time" and RD for revocation
// delay), each class with the reason it was given. Patterns are data: rules/failure-taxonomy.json.
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CprDesk.Compliance.Bugzilla;

public sealed record ClassReason(string Class, string Reason);

public sealed class FailureTaxonomy
{
    private readonly List<(string Id, string Title, List<Regex> Patterns)> _classes = [];
    private readonly Dictionary<string, string> _tagClasses = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, string> Titles => _classes.ToDictionary(c => c.Id, c => c.Title);

    public static FailureTaxonomy Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"Failure taxonomy not found: {path}");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var t = new FailureTaxonomy();
        foreach (var c in doc.RootElement.GetProperty("classes").EnumerateArray())
            t._classes.Add((c.GetProperty("id").GetString()!, c.GetProperty("title").GetString()!,
                c.GetProperty("patterns").EnumerateArray().Select(p => new Regex(p.GetString()!, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))).ToList()));
        if (doc.RootElement.TryGetProperty("tagClasses", out var tags))
            foreach (var p in tags.EnumerateObject()) t._tagClasses[p.Name] = p.Value.GetString()!;
        return t;
    }

    public IReadOnlyList<ClassReason> Classify(string summary, string? description, IEnumerable<string> tags)
    {
        var found = new List<ClassReason>();
        foreach (var tag in tags)
            if (_tagClasses.TryGetValue(tag, out var c) && found.All(f => f.Class != c)) found.Add(new(c, $"whiteboard tag [{tag}]"));
        foreach (var (id, title, patterns) in _classes)
        {
            if (found.Any(f => f.Class == id)) continue;
            foreach (var (where, text) in new[] { ("summary", summary), ("description", description ?? "") })
            {
                var m = patterns.Select(p => p.Match(text)).FirstOrDefault(m => m.Success);
                if (m is null) continue;
                var quote = m.Value.Length > 60 ? m.Value[..60] + "…" : m.Value;
                found.Add(new(id, $"{title}: {where} says \"{quote.Trim()}\""));
                break;
            }
        }
        return found;
    }
}
