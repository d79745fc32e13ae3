// Turns an HTML body into readable plain text: tags dropped, scripts and styles removed, entities decoded, blocks on their own lines.
using System.Net;
using System.Text;

namespace CprDesk.Mail.Mime;

/// <summary>A small, linear-time HTML-to-text converter for mail bodies. Not a sanitizer: the result is meant to be shown as text.</summary>
public static class HtmlText
{
    // Elements that stand apart from their surroundings by a blank line.
    private static readonly HashSet<string> ParagraphElements = new(StringComparer.Ordinal)
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "hr", "ul", "ol", "dl", "title",
    };

    // Elements that start on a line of their own.
    private static readonly HashSet<string> LineElements = new(StringComparer.Ordinal)
    {
        "div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address", "center", "form", "fieldset", "body", "html",
    };

    public static string ToText(string html)
    {
        var sb = new StringBuilder(html.Length / 2);
        var pre = 0;
        var i = 0;
        while (i < html.Length)
        {
            if (html[i] != '<')
            {
                var next = html.IndexOf('<', i);
                if (next < 0) next = html.Length;
                AppendText(sb, WebUtility.HtmlDecode(html[i..next]), pre > 0);
                i = next;
                continue;
            }
            if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
            {
                var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }
            var j = i + 1;
            var closing = j < html.Length && html[j] == '/';
            if (closing) j++;
            var nameStart = j;
            while (j < html.Length && (char.IsAsciiLetterOrDigit(html[j]) || html[j] == '-' || html[j] == ':')) j++;
            var isDeclaration = nameStart < html.Length && (html[nameStart] == '!' || html[nameStart] == '?');
            if (j == nameStart && !isDeclaration)
            {
                AppendText(sb, "<", pre > 0); // a bare '<' in text
                i++;
                continue;
            }
            var name = html[nameStart..j].ToLowerInvariant();
            var tagEnd = FindTagEnd(html, j);
            i = tagEnd;
            if (isDeclaration) continue;
            if (!closing && (name == "script" || name == "style"))
            {
                var close = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                i = close < 0 ? html.Length : FindTagEnd(html, close + 2 + name.Length);
                continue;
            }
            if (name == "pre") pre = Math.Max(0, pre + (closing ? -1 : 1));
            if (name == "br") LineBreak(sb, force: true);
            else if (ParagraphElements.Contains(name)) BlankLine(sb);
            else if (LineElements.Contains(name)) LineBreak(sb, force: false);
            else if (name is "td" or "th" && !closing && sb.Length > 0 && sb[^1] is not ('\n' or ' ')) sb.Append(' ');
        }
        return Tidy(sb);
    }

    /// <summary>The index after the '>' that ends a tag, skipping quoted attribute values.</summary>
    private static int FindTagEnd(string html, int j)
    {
        char quote = '\0';
        for (; j < html.Length; j++)
        {
            var c = html[j];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
            }
            else if (c is '"' or '\'') quote = c;
            else if (c == '>') return j + 1;
        }
        return html.Length;
    }

    private static void AppendText(StringBuilder sb, string text, bool pre)
    {
        if (pre)
        {
            sb.Append(text.Replace("\r\n", "\n").Replace('\r', '\n'));
            return;
        }
        foreach (var raw in text)
        {
            var c = raw == '\u00A0' ? ' ' : raw;
            if (char.IsWhiteSpace(c))
            {
                if (sb.Length > 0 && sb[^1] is not (' ' or '\n')) sb.Append(' ');
            }
            else sb.Append(c);
        }
    }

    private static void LineBreak(StringBuilder sb, bool force)
    {
        while (sb.Length > 0 && sb[^1] == ' ') sb.Length--;
        if (force || (sb.Length > 0 && sb[^1] != '\n')) sb.Append('\n');
    }

    private static void BlankLine(StringBuilder sb)
    {
        LineBreak(sb, force: false);
        if (sb.Length > 0 && !(sb.Length >= 2 && sb[^2] == '\n')) sb.Append('\n');
    }

    private static string Tidy(StringBuilder sb)
    {
        var lines = sb.ToString().Split('\n').Select(l => l.TrimEnd());
        var result = new StringBuilder();
        var blank = 0;
        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                if (++blank > 1 || result.Length == 0) continue;
            }
            else blank = 0;
            result.Append(line).Append('\n');
        }
        return result.ToString().TrimEnd('\n');
    }
}
