// Parsing of "value; name=value; ..." header fields (Content-Type, Content-Disposition) including RFC 2231 extensions.
using System.Text;

namespace CprDesk.Mail.Mime;

internal static class HeaderParameters
{
    private const int MaxSections = 1000;

    // RFC 2045 §5.1 tspecials, which a token may not contain.
    private const string TSpecials = "()<>@,;:\\\"/[]?=";

    public static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s)
        {
            if (c <= ' ' || c >= 0x7F || TSpecials.Contains(c)) return false;
        }
        return true;
    }

    /// <summary>Splits a header value into its leading value and its parameters (RFC 2045 §5.1, RFC 2231 §3-4).</summary>
    public static (string Main, Dictionary<string, string> Parameters) Parse(string value, List<MimeDefect>? defects)
    {
        var pieces = SplitOnSemicolons(value);
        var main = Rfc822Lexer.StripComments(pieces[0]).Trim();
        var simple = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var sections = new Dictionary<string, SortedDictionary<int, (bool Extended, string Text)>>(StringComparer.OrdinalIgnoreCase);
        for (var p = 1; p < pieces.Count; p++)
        {
            var piece = pieces[p];
            var eq = piece.IndexOf('=');
            if (eq < 0)
            {
                if (piece.Trim().Length > 0) defects?.Add(new MimeDefect(DefectCodes.InvalidParameter, $"parameter without '=': '{Charsets.Truncate(piece.Trim())}'"));
                continue;
            }
            var name = Rfc822Lexer.StripComments(piece[..eq]).Trim().ToLowerInvariant();
            if (name.Length == 0) continue;
            var raw = piece[(eq + 1)..].Trim();
            string text;
            if (raw.StartsWith('"'))
            {
                var i = 0;
                text = Rfc822Lexer.ReadQuoted(raw, ref i, null, "parameter");
            }
            else
            {
                text = Rfc822Lexer.StripComments(raw).Trim();
            }

            // RFC 2231 §3-4: name*=charset'lang'%XX, name*0=..., name*1*=%XX...
            var star = name.IndexOf('*');
            if (star > 0)
            {
                var baseName = name[..star];
                var rest = name[(star + 1)..];
                var extended = rest.EndsWith('*');
                if (extended) rest = rest[..^1];
                var index = 0;
                if (rest.Length == 0)
                {
                    // "name*" is one extended value; "name**" is nothing RFC 2231 defines.
                    if (extended)
                    {
                        defects?.Add(new MimeDefect(DefectCodes.InvalidParameter, $"bad RFC 2231 name '{Charsets.Truncate(name)}'"));
                        continue;
                    }
                    extended = true;
                }
                else if (!int.TryParse(rest, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index) || index >= MaxSections)
                {
                    defects?.Add(new MimeDefect(DefectCodes.InvalidParameter, $"bad RFC 2231 section in '{Charsets.Truncate(name)}'"));
                    continue;
                }
                if (!sections.TryGetValue(baseName, out var list)) sections[baseName] = list = new();
                list.TryAdd(index, (extended, text));
                continue;
            }
            if (!simple.TryAdd(name, text)) defects?.Add(new MimeDefect(DefectCodes.InvalidParameter, $"duplicate parameter '{Charsets.Truncate(name)}', first kept"));
        }

        var result = new Dictionary<string, string>(simple, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, list) in sections)
        {
            result[name] = Join2231(name, list, defects);
        }
        foreach (var key in new[] { "name", "filename" })
        {
            // RFC 2047 §5(3) forbids encoded-words in parameters, but many clients send name="=?utf-8?B?...?="; the literal is never a useful name.
            if (simple.ContainsKey(key) && !sections.ContainsKey(key) && result[key].Contains("=?", StringComparison.Ordinal))
                result[key] = EncodedWords.Decode(result[key], defects);
        }
        return (main, result);
    }

    /// <summary>Joins RFC 2231 sections: extended ones are percent-decoded bytes in the charset named by section 0, plain ones are literal.</summary>
    private static string Join2231(string name, SortedDictionary<int, (bool Extended, string Text)> list, List<MimeDefect>? defects)
    {
        string? charset = null;
        var bytes = new List<byte>();
        var expected = 0;
        foreach (var (index, (extended, text)) in list)
        {
            if (index != expected) defects?.Add(new MimeDefect(DefectCodes.InvalidParameter, $"RFC 2231 parameter '{Charsets.Truncate(name)}' is missing section {expected}"));
            expected = index + 1;
            var t = text;
            if (extended && index == list.Keys.First())
            {
                // RFC 2231 §4: the first section carries charset'language'.
                var q1 = t.IndexOf('\'');
                var q2 = q1 < 0 ? -1 : t.IndexOf('\'', q1 + 1);
                if (q2 >= 0)
                {
                    charset = t[..q1];
                    t = t[(q2 + 1)..];
                }
            }
            if (extended) PercentDecode(t, bytes, name, defects);
            else bytes.AddRange(Encoding.UTF8.GetBytes(t));
        }
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        return string.IsNullOrEmpty(charset) ? Charsets.DecodeUtf8OrLatin1(span) : Charsets.Decode(span, charset, defects);
    }

    private static void PercentDecode(string t, List<byte> bytes, string name, List<MimeDefect>? defects)
    {
        for (var i = 0; i < t.Length; i++)
        {
            if (t[i] == '%' && i + 2 < t.Length && Hex.TryByte(t[i + 1], t[i + 2], out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                if (t[i] == '%') defects?.Add(new MimeDefect(DefectCodes.InvalidParameter, $"bad %-escape in RFC 2231 parameter '{Charsets.Truncate(name)}'"));
                if (t[i] < 0x80) bytes.Add((byte)t[i]);
                else bytes.AddRange(Encoding.UTF8.GetBytes(t[i].ToString()));
            }
        }
    }

    /// <summary>Splits on ';' outside quoted-strings and comments.</summary>
    private static List<string> SplitOnSemicolons(string value)
    {
        var result = new List<string>();
        var start = 0;
        var i = 0;
        while (i < value.Length)
        {
            var c = value[i];
            if (c == '"')
            {
                Rfc822Lexer.ReadQuoted(value, ref i, null, "");
                continue;
            }
            if (c == '(')
            {
                i = Rfc822Lexer.SkipComment(value, i, null, "");
                continue;
            }
            if (c == ';')
            {
                result.Add(value[start..i]);
                start = i + 1;
            }
            i++;
        }
        result.Add(value[start..]);
        return result;
    }
}
