// The CCADB IRG templates as data (rules/irg/<version>/): a manifest with the version and supersession date, and
// one Markdown file per report kind with {{field}} placeholders and {{#list}}…{{/list}} / {{^list}}…{{/list}} blocks.
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CprDesk.Compliance.Incidents;

public sealed record IrgTemplateSet(string Version, DateTime? Published, DateTime? SupersededOn, string Source, IReadOnlyDictionary<string, string> Templates)
{
    /// <summary>CCADB Policy §6.1: a template superseded more than 30 days before a report is posted MUST NOT be used.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromDays(30);

    public bool TooOldAt(DateTime now) => SupersededOn is { } s && now > s + Grace;
}

public static partial class IrgTemplates
{
    public static readonly string[] Kinds = ["preliminary", "full", "closure"];

    public static IrgTemplateSet Load(string directory, string version)
    {
        var dir = Path.Combine(directory, version);
        var manifestPath = Path.Combine(dir, "manifest.json");
        if (!File.Exists(manifestPath)) throw new InvalidOperationException($"IRG template version {version} not found: {manifestPath}");
        var m = ReadManifest(manifestPath);
        var templates = new Dictionary<string, string>();
        foreach (var kind in Kinds)
        {
            var file = m.Templates?.GetValueOrDefault(kind) ?? throw new InvalidOperationException($"{manifestPath}: no '{kind}' template.");
            templates[kind] = File.ReadAllText(Path.Combine(dir, file)).ReplaceLineEndings("\n");
        }
        // A later version published makes this one superseded from that day, even if its manifest was not edited.
        DateTime? later = null;
        if (Directory.Exists(directory))
            foreach (var other in Directory.GetDirectories(directory))
            {
                var mp = Path.Combine(other, "manifest.json");
                if (!File.Exists(mp) || Path.GetFileName(other) == version) continue;
                var om = ReadManifest(mp);
                if (om.Published is { } p && m.Published is { } mine && p > mine && (later is null || p < later)) later = p;
            }
        return new IrgTemplateSet(m.Version ?? version, m.Published, m.SupersededOn ?? later, m.Source ?? "", templates);
    }

    private static Manifest ReadManifest(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(path), new JsonSerializerOptions(JsonSerializerDefaults.Web)) ?? new Manifest();
        }
        catch (JsonException ex) { throw new InvalidOperationException($"{path} is not valid JSON: {ex.Message}", ex); }
    }

    private sealed class Manifest
    {
        public string? Version { get; set; }
        public DateTime? Published { get; set; }
        public DateTime? SupersededOn { get; set; }
        public string? Source { get; set; }
        public Dictionary<string, string>? Templates { get; set; }
    }

    /// <summary>Fills a template. An empty or missing value prints "N/A" (the IRG: fields that do not apply
    /// still appear, marked N/A). A list value repeats its block per item; an inverted block shows when it is empty.</summary>
    public static string Render(string template, IReadOnlyDictionary<string, object?> values)
    {
        // A block tag alone on its line takes its line with it.
        var t = StandaloneTag().Replace(template, "$1");
        return RenderPart(t, values);
    }

    private static string RenderPart(string t, IReadOnlyDictionary<string, object?> values)
    {
        var sb = new StringBuilder();
        var pos = 0;
        while (pos < t.Length)
        {
            var open = t.IndexOf("{{", pos, StringComparison.Ordinal);
            if (open < 0) { sb.Append(t, pos, t.Length - pos); break; }
            sb.Append(t, pos, open - pos);
            var close = t.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) throw new InvalidOperationException("Unclosed {{ in template.");
            var tag = t[(open + 2)..close].Trim();
            pos = close + 2;
            if (tag.StartsWith('#') || tag.StartsWith('^'))
            {
                var name = tag[1..];
                var end = $"{{{{/{name}}}}}";
                var endAt = t.IndexOf(end, pos, StringComparison.Ordinal);
                if (endAt < 0) throw new InvalidOperationException($"Block {name} is not closed.");
                var inner = t[pos..endAt];
                pos = endAt + end.Length;
                var items = values.GetValueOrDefault(name) as IEnumerable<IReadOnlyDictionary<string, object?>> ?? [];
                var list = items.ToList();
                if (tag[0] == '#')
                    foreach (var item in list)
                    {
                        var scope = new Dictionary<string, object?>(values);
                        foreach (var (k, v) in item) scope[k] = v;
                        sb.Append(RenderPart(inner, scope));
                    }
                else if (list.Count == 0) sb.Append(RenderPart(inner, values));
                continue;
            }
            var value = values.GetValueOrDefault(tag) as string;
            sb.Append(string.IsNullOrWhiteSpace(value) ? "N/A" : value);
        }
        return sb.ToString();
    }

    [GeneratedRegex(@"(?m)^[ \t]*(\{\{[#^/][A-Za-z0-9_]+\}\})[ \t]*\n")]
    private static partial Regex StandaloneTag();
}
