// TF-IDF cosine similarity over short incident texts, for the related-incidents finder. No packages needed.
using System.Text.RegularExpressions;

namespace CprDesk.Compliance.Bugzilla;

public static partial class TextSimilarity
{
    private static readonly HashSet<string> Stop =
    [
        "the", "and", "for", "was", "were", "that", "this", "with", "from", "are", "not", "but", "have", "has", "had", "its", "our", "their", "they",
        "which", "would", "could", "should", "been", "being", "into", "than", "then", "there", "these", "those", "what", "when", "where", "who",
        "will", "within", "also", "any", "all", "can", "may", "one", "two", "on", "in", "of", "to", "a", "an", "is", "it", "by", "as", "at", "or",
        "be", "we", "us", "you", "your", "https", "http", "www", "com", "bug", "incident", "report", "ca", "utc",
    ];

    public static List<string> Tokens(string text) =>
        Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).Where(w => w.Length >= 3 && !Stop.Contains(w) && !w.All(char.IsDigit)).ToList();

    /// <summary>Cosine similarity of <paramref name="query"/> to each document, with IDF from the documents and the query.</summary>
    public static double[] Cosine(string query, IReadOnlyList<string> documents)
    {
        var docs = documents.Select(Tokens).ToList();
        var q = Tokens(query);
        var df = new Dictionary<string, int>();
        foreach (var d in docs.Append(q))
            foreach (var w in d.Distinct()) df[w] = df.GetValueOrDefault(w) + 1;
        var n = docs.Count + 1;
        Dictionary<string, double> Vector(List<string> tokens) =>
            tokens.GroupBy(w => w).ToDictionary(g => g.Key, g => (1 + Math.Log(g.Count())) * Math.Log((double)n / df[g.Key] + 1));
        var qv = Vector(q);
        var qn = Math.Sqrt(qv.Values.Sum(x => x * x));
        return docs.Select(d =>
        {
            var dv = Vector(d);
            var dn = Math.Sqrt(dv.Values.Sum(x => x * x));
            if (qn == 0 || dn == 0) return 0;
            return qv.Sum(kv => dv.TryGetValue(kv.Key, out var x) ? kv.Value * x : 0) / (qn * dn);
        }).ToArray();
    }

    [GeneratedRegex(@"[a-z][a-z0-9\-]+")]
    private static partial Regex Word();
}
