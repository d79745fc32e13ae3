// Parsing of SMTP command lines: the verb, and the paths and parameters of MAIL and RCPT (RFC 5321 §4.1.2).
namespace CprDesk.Mail.Smtp.Server;

/// <summary>An ESMTP parameter such as SIZE=1000 or BODY=8BITMIME; Value is null for a bare keyword.</summary>
internal readonly record struct EsmtpParameter(string Keyword, string? Value);

/// <summary>The result of parsing a MAIL FROM or RCPT TO argument.</summary>
internal sealed record PathArgument(string Address, IReadOnlyList<EsmtpParameter> Parameters);

/// <summary>
/// Parses command lines. Strict where sloppiness would be unsafe (no CR, LF, NUL or 8-bit bytes in a
/// path), tolerant where real clients differ from the grammar and no harm follows: a space after the
/// colon, a path without angle brackets, a source route (which RFC 5321 §4.1.1.3 says to accept and ignore).
/// </summary>
internal static class SmtpCommandParser
{
    /// <summary>Splits "VERB args" into an upper-case verb and the argument text (trimmed).</summary>
    public static (string Verb, string Argument) SplitVerb(string line)
    {
        var space = line.IndexOf(' ');
        var verb = space < 0 ? line : line[..space];
        var argument = space < 0 ? "" : line[(space + 1)..].Trim(' ');
        return (verb.ToUpperInvariant(), argument);
    }

    /// <summary>
    /// Parses the argument of MAIL ("FROM:&lt;path&gt; params") or RCPT ("TO:&lt;path&gt; params").
    /// Returns null and an error text when it does not parse.
    /// </summary>
    public static PathArgument? ParsePathArgument(string argument, string prefix, bool allowNullPath, out string error)
    {
        error = "";
        if (!argument.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"syntax: {prefix}<address>";
            return null;
        }
        var rest = argument.AsSpan(prefix.Length).TrimStart(' ');
        string address;
        int consumed;
        if (rest.Length > 0 && rest[0] == '<')
        {
            var close = FindClosingBracket(rest);
            if (close < 0)
            {
                error = "unterminated <address>";
                return null;
            }
            var inner = rest[1..close];
            consumed = close + 1;
            if (inner.IsEmpty)
            {
                if (!allowNullPath)
                {
                    error = "an empty address is not allowed here";
                    return null;
                }
                address = "";
            }
            else if (!TryParseMailbox(StripSourceRoute(inner), out address, out error))
            {
                return null;
            }
        }
        else
        {
            var end = rest.IndexOf(' ');
            var token = end < 0 ? rest : rest[..end];
            consumed = token.Length;
            if (token.IsEmpty)
            {
                error = $"syntax: {prefix}<address>";
                return null;
            }
            if (!TryParseMailbox(token, out address, out error))
            {
                return null;
            }
        }
        var after = rest[consumed..];
        if (!after.IsEmpty && after[0] != ' ')
        {
            error = "unexpected characters after the address";
            return null;
        }
        var parameters = ParseParameters(after.ToString(), out error);
        return parameters is null ? null : new PathArgument(address, parameters);
    }

    private static int FindClosingBracket(ReadOnlySpan<char> s)
    {
        var quoted = false;
        for (var i = 1; i < s.Length; i++)
        {
            var c = s[i];
            if (quoted && c == '\\')
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '>')
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>RFC 5321 §4.1.2 A-d-l: "@one,@two:user@host" → "user@host"; servers must accept and ignore it.</summary>
    private static ReadOnlySpan<char> StripSourceRoute(ReadOnlySpan<char> path)
    {
        if (path.Length > 0 && path[0] == '@')
        {
            var colon = path.IndexOf(':');
            return colon < 0 ? path : path[(colon + 1)..];
        }
        return path;
    }

    /// <summary>
    /// Mailbox = Local-part "@" ( Domain / address-literal ), or the bare "postmaster" that RCPT must accept
    /// (RFC 5321 §4.1.1.3). Only printable ASCII is allowed: we do not offer SMTPUTF8.
    /// </summary>
    private static bool TryParseMailbox(ReadOnlySpan<char> mailbox, out string address, out string error)
    {
        address = "";
        error = "";
        foreach (var c in mailbox)
        {
            // Spaces can only be valid inside a quoted local part; the checks below reject them elsewhere.
            if (c is < ' ' or > '~')
            {
                error = "the address must be printable ASCII (SMTPUTF8 is not offered)";
                return false;
            }
        }
        if (mailbox.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
        {
            address = mailbox.ToString();
            return true;
        }
        int at;
        if (mailbox.Length > 0 && mailbox[0] == '"')
        {
            var close = 1;
            while (close < mailbox.Length && mailbox[close] != '"')
            {
                close += mailbox[close] == '\\' ? 2 : 1;
            }
            if (close >= mailbox.Length)
            {
                error = "unterminated quoted local part";
                return false;
            }
            at = close + 1;
            if (at >= mailbox.Length || mailbox[at] != '@')
            {
                error = "expected @ after the quoted local part";
                return false;
            }
        }
        else
        {
            at = mailbox.LastIndexOf('@');
            if (at <= 0)
            {
                error = "expected local-part@domain";
                return false;
            }
            foreach (var c in mailbox[..at])
            {
                // atext (RFC 5322 §3.2.3) and dots; consecutive or edge dots are tolerated, real mailboxes have them.
                if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~.".Contains(c)))
                {
                    error = "invalid character in the local part";
                    return false;
                }
            }
        }
        var domain = mailbox[(at + 1)..];
        if (!IsDomainOrLiteral(domain))
        {
            error = "invalid domain";
            return false;
        }
        address = mailbox.ToString();
        return true;
    }

    private static bool IsDomainOrLiteral(ReadOnlySpan<char> domain)
    {
        if (domain.IsEmpty)
        {
            return false;
        }
        if (domain[0] == '[')
        {
            return domain.Length > 2 && domain[^1] == ']' && !domain[1..^1].ContainsAny('[', ']', '\\');
        }
        if (domain[0] == '.' || domain.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in domain)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// esmtp-param = esmtp-keyword ["=" esmtp-value]; keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
    /// value = 1*(%d33-60 / %d62-126) (RFC 5321 §4.1.2). Keywords are returned upper-case.
    /// </summary>
    private static List<EsmtpParameter>? ParseParameters(string text, out string error)
    {
        error = "";
        var result = new List<EsmtpParameter>();
        foreach (var item in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=');
            var keyword = eq < 0 ? item : item[..eq];
            var value = eq < 0 ? null : item[(eq + 1)..];
            if (keyword.Length == 0 || !char.IsAsciiLetterOrDigit(keyword[0])
                || !keyword.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                error = $"invalid parameter {item}";
                return null;
            }
            if (value is not null && (value.Length == 0 || value.Any(c => c is < '!' or > '~' or '=')))
            {
                error = $"invalid value for {keyword}";
                return null;
            }
            keyword = keyword.ToUpperInvariant();
            if (result.Exists(p => p.Keyword == keyword))
            {
                error = $"duplicate parameter {keyword}";
                return null;
            }
            result.Add(new EsmtpParameter(keyword, value));
        }
        return result;
    }
}
