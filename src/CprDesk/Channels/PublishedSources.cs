// Reading what is published: addresses and URLs in free text (de-obfuscated), the CCADB CA Owner CSV report, and
// CPS section 1.5.2 in Markdown, HTML or plain text.
using System.Text;
using System.Text.RegularExpressions;
using CprDesk.Reports;

namespace CprDesk.Channels;

public static partial class ChannelText
{
    /// <summary>Email addresses (lower case) and http(s) URLs (normalised) in <paramref name="text"/>, in order, without repeats.
    /// Obfuscations such as <c>cpr [at] ca [dot] example</c>, <c>cpr(at)ca.example</c> and <c>cpr at ca dot example</c> are undone.</summary>
    public static IReadOnlyList<string> Extract(string text)
    {
        var found = new List<string>();
        // URLs first, and blanked out, so a URL's user@host or path never counts as an email address.
        var rest = UrlRegex().Replace(text, m =>
        {
            var url = m.Value.TrimEnd('.', ',', ';', ':', ')', ']', '!', '?', '\'', '"');
            if (ChannelRegistry.IsUrl(url)) found.Add(NormaliseUrl(url));
            return " ";
        });
        rest = Deobfuscate(rest);
        foreach (Match m in EmailRegex().Matches(rest)) found.Add(m.Value.TrimEnd('.').ToLowerInvariant());
        return found.Distinct(StringComparer.Ordinal).ToList();
    }

    public static string Deobfuscate(string text) =>
        ObfuscatedRegex().Replace(text, m =>
        {
            var domain = DotRegex().Replace(m.Groups["domain"].Value, ".");
            return $"{m.Groups["local"].Value}@{domain}";
        });

    public static bool IsEmail(string s) => EmailRegex().Match(s) is { Success: true } m && m.Length == s.Length;

    /// <summary>Lower-case scheme and host, no default port, no trailing slash on the path, no fragment.</summary>
    public static string NormaliseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u)) return url;
        var port = u.IsDefaultPort ? "" : $":{u.Port}";
        var path = u.AbsolutePath.TrimEnd('/');
        return $"{u.Scheme.ToLowerInvariant()}://{u.Host.ToLowerInvariant()}{port}{path}{u.Query}";
    }

    [GeneratedRegex(@"https?://[^\s,;<>""'()\[\]{}]+", RegexOptions.IgnoreCase)]
    private static partial Regex UrlRegex();

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")]
    private static partial Regex EmailRegex();

    // local [at] label [dot] label …: the "at" may be [at], (at), {at}, " at " or "@"; each dot [dot], (dot), {dot}, " dot " or ".".
    // Plain " at " only counts when the domain has at least one dot, so "write to us at cpr@ca.example" is left alone.
    [GeneratedRegex(@"(?<local>[A-Za-z0-9._%+\-]+)\s*(?:[\[\(\{]\s*at\s*[\]\)\}]|\s+at\s+)\s*(?<domain>[A-Za-z0-9\-]+(?:\s*(?:[\[\(\{]\s*dot\s*[\]\)\}]|\s+dot\s+|\.)\s*[A-Za-z0-9\-]+)+)", RegexOptions.IgnoreCase)]
    private static partial Regex ObfuscatedRegex();

    [GeneratedRegex(@"\s*(?:[\[\(\{]\s*dot\s*[\]\)\}]|\s+dot\s+|\.)\s*", RegexOptions.IgnoreCase)]
    private static partial Regex DotRegex();
}

/// <summary>What the CCADB lists for our CA owner.</summary>
public sealed record CcadbListing(string CaOwnerName, IReadOnlyList<string> ProblemReporting, IReadOnlyList<string> Alias1, IReadOnlyList<string> Alias2);

public static class CcadbCsv
{
    public const string OwnerColumn = "CA Owner Name";
    public const string ProblemReportingColumn = "Problem Reporting Mechanism";

    /// <summary>Finds <paramref name="caOwnerName"/>'s row (case-insensitive) in the CA Owner report.</summary>
    public static CcadbListing Read(string csv, string caOwnerName)
    {
        var rows = Parse(csv);
        if (rows.Count == 0) throw DeskException.Invalid("ccadb", "The CCADB file is empty.");
        var header = rows[0].Select(h => h.Trim().TrimStart('\uFEFF')).ToList();
        var owner = header.FindIndex(h => h.Equals(OwnerColumn, StringComparison.OrdinalIgnoreCase));
        var prm = header.FindIndex(h => h.Equals(ProblemReportingColumn, StringComparison.OrdinalIgnoreCase));
        if (owner < 0 || prm < 0)
            throw DeskException.Invalid("ccadb", $"The CCADB file has no \"{OwnerColumn}\" and \"{ProblemReportingColumn}\" columns; is it the CA Owner report?");
        var alias1 = header.FindIndex(h => h.Equals("CA Email Alias 1", StringComparison.OrdinalIgnoreCase));
        var alias2 = header.FindIndex(h => h.Equals("CA Email Alias 2", StringComparison.OrdinalIgnoreCase));
        var row = rows.Skip(1).FirstOrDefault(r => owner < r.Count && r[owner].Trim().Equals(caOwnerName.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw DeskException.NotFound($"The CCADB file has no row for the CA owner '{caOwnerName}'.");
        IReadOnlyList<string> Cell(int i) => i >= 0 && i < row.Count ? ChannelText.Extract(row[i]) : [];
        return new CcadbListing(row[owner].Trim(), Cell(prm), Cell(alias1), Cell(alias2));
    }

    /// <summary>RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF ends a record.</summary>
    public static List<List<string>> Parse(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else field.Append(c);
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; any = true; break;
                case ',': row.Add(field.ToString()); field.Clear(); any = true; break;
                case '\r': break;
                case '\n':
                    if (any || field.Length > 0 || row.Count > 0) { row.Add(field.ToString()); rows.Add(row); }
                    row = []; field.Clear(); any = false;
                    break;
                default: field.Append(c); any = true; break;
            }
        }
        if (any || field.Length > 0 || row.Count > 0) { row.Add(field.ToString()); rows.Add(row); }
        return rows;
    }
}

public static partial class CpsText
{
    /// <summary>The text of section 1.5.2 (the contact for CPRs) of a CPS in Markdown, HTML or plain text. A table of
    /// contents also names 1.5.2; the occurrence with the most to say is the section itself.</summary>
    public static string Section152(string document)
    {
        var text = LooksLikeHtml(document) ? HtmlToText(document) : document;
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        string best = "";
        for (var i = 0; i < lines.Length; i++)
        {
            if (!Start152Regex().IsMatch(lines[i])) continue;
            var body = new StringBuilder(lines[i]).Append('\n');
            for (var j = i + 1; j < lines.Length && !NextSectionRegex().IsMatch(lines[j]); j++) body.Append(lines[j]).Append('\n');
            var candidate = body.ToString();
            if (ChannelText.Extract(candidate).Count > ChannelText.Extract(best).Count || (best.Length == 0)) best = candidate;
        }
        if (best.Length == 0) throw DeskException.Invalid("cps", "The CPS has no section 1.5.2 (a line starting with '1.5.2').");
        return best;
    }

    public static IReadOnlyList<string> Addresses(string document) => ChannelText.Extract(Section152(document));

    private static bool LooksLikeHtml(string s) => HtmlTagRegex().IsMatch(s);

    private static string HtmlToText(string html)
    {
        // Block elements become line breaks so headings start lines; hrefs are kept as text (a mailto: or a form link).
        var s = AnchorRegex().Replace(html, m => $" {m.Groups[1].Value.Replace("mailto:", "", StringComparison.OrdinalIgnoreCase)} ");
        s = BlockRegex().Replace(s, "\n");
        s = TagRegex().Replace(s, "");
        return System.Net.WebUtility.HtmlDecode(s);
    }

    // "1.5.2", "## 1.5.2 Contact Person", "Section 1.5.2.", "**1.5.2**", "1.5.2 Contact person ........ 14" (TOC).
    [GeneratedRegex(@"^\s*(?:#+\s*|\*\*\s*|(?:section|§)\s*)?1\.5\.2(?![\d])", RegexOptions.IgnoreCase)]
    private static partial Regex Start152Regex();

    [GeneratedRegex(@"^\s*(?:#+\s*|\*\*\s*|(?:section|§)\s*)?(?!1\.5\.2(?!\d))\d+(?:\.\d+)+\.?\s+\S", RegexOptions.IgnoreCase)]
    private static partial Regex NextSectionRegex();

    [GeneratedRegex(@"<\s*(?:html|body|p|h[1-6]|div|table|br)\b", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlTagRegex();

    [GeneratedRegex(@"<a\b[^>]*?href\s*=\s*[""']([^""']*)[""'][^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex AnchorRegex();

    [GeneratedRegex(@"<\s*/?\s*(?:p|div|h[1-6]|li|ul|ol|tr|table|br|section|article|header|footer|pre|blockquote)\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockRegex();

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex TagRegex();
}
