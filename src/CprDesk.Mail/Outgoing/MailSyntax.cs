// Syntax checks shared by the message writer and the SMTP client: addresses, message ids, header names, MIME tokens.
using System.Net;
using System.Net.Sockets;

namespace CprDesk.Mail.Outgoing;

internal static class MailSyntax
{
    /// <summary>RFC 5322 §3.2.3 atext.</summary>
    public static bool IsAtext(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
        || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '/' or '=' or '?' or '^' or '_' or '`'
            or '{' or '|' or '}' or '~';

    /// <summary>RFC 5322 §3.2.3 dot-atom-text: atext runs separated by single dots.</summary>
    public static bool IsDotAtomText(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s[0] == '.' || s[^1] == '.') return false;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '.')
            {
                if (s[i - 1] == '.') return false;
            }
            else if (!IsAtext(s[i])) return false;
        }
        return true;
    }

    /// <summary>Throws unless <paramref name="value"/> is a mailbox we can put both in a header and in an SMTP
    /// envelope: RFC 5321 §4.1.2 Mailbox (dot-string or quoted-string local part; a domain name or an address
    /// literal), ASCII only (no SMTPUTF8), within the §4.5.3.1 length limits.</summary>
    public static void RequireMailbox(string? value, string field)
    {
        var problem = MailboxProblem(value);
        if (problem is not null) throw new ArgumentException($"{field} {problem}.", field);
    }

    private static string? MailboxProblem(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "is empty";
        if (value.Contains('\r') || value.Contains('\n')) return "contains CR or LF";
        foreach (var c in value)
        {
            if (c > '~') return "contains non-ASCII characters (internationalized addresses need SMTPUTF8, which is not supported)";
            if (c < ' ') return "contains a control character";
        }
        // Quoted local parts may contain '@', so the domain starts after the last one.
        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1) return "is not of the form local-part@domain";
        if (value.Length > 254) return "is longer than 254 characters (RFC 5321 §4.5.3.1.3)";
        var local = value.AsSpan(0, at);
        var domain = value.AsSpan(at + 1);
        if (local.Length > 64) return "has a local part longer than 64 characters (RFC 5321 §4.5.3.1.1)";
        if (local[0] == '"')
        {
            if (!IsQuotedString(local)) return "has a malformed quoted local part";
        }
        else if (!IsDotAtomText(local))
        {
            return "has a local part that must be quoted (spaces and specials are allowed only inside \"...\")";
        }
        if (!IsDomain(domain)) return "has an invalid domain";
        return null;
    }

    /// <summary>RFC 5321 §4.1.2 Quoted-string: qtextSMTP (printable ASCII and space, less '"' and '\') or
    /// quoted-pairSMTP.</summary>
    private static bool IsQuotedString(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || s[0] != '"' || s[^1] != '"') return false;
        for (var i = 1; i < s.Length - 1; i++)
        {
            var c = s[i];
            if (c == '\\')
            {
                i++;
                if (i >= s.Length - 1) return false;
            }
            else if (c == '"') return false;
        }
        return true;
    }

    /// <summary>RFC 5321 §4.1.2 Domain (letter-digit-hyphen labels) or §4.1.3 address literal.</summary>
    public static bool IsDomain(ReadOnlySpan<char> s)
    {
        if (s.Length > 2 && s[0] == '[' && s[^1] == ']') return IsAddressLiteral(s[1..^1]);
        if (s.IsEmpty || s.Length > 253) return false;
        foreach (var range in s.Split('.'))
        {
            var label = s[range];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        }
        return true;
    }

    private static bool IsAddressLiteral(ReadOnlySpan<char> s)
    {
        if (s.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return IPAddress.TryParse(s[5..], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        if (s.Count('.') == 3 && IPAddress.TryParse(s, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork)
            return true;
        // General-address-literal: Standardized-tag ":" 1*dcontent
        var colon = s.IndexOf(':');
        if (colon <= 0 || colon == s.Length - 1) return false;
        foreach (var c in s[..colon])
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        foreach (var c in s[(colon + 1)..])
            if (c is < '!' or > '~' or '[' or '\\' or ']') return false;
        return true;
    }

    /// <summary>Our own Message-ID: RFC 5322 §3.6.4 id-left "@" id-right, without the brackets.</summary>
    public static void RequireMessageId(string? value, string field)
    {
        RequireNoLineBreak(value, field);
        if (string.IsNullOrEmpty(value)) throw new ArgumentException($"{field} is empty.", field);
        var at = value.LastIndexOf('@');
        var ok = at > 0 && at < value.Length - 1 && value.Length <= 250
                 && IsDotAtomText(value.AsSpan(0, at))
                 && (IsDotAtomText(value.AsSpan(at + 1)) || IsNoFoldLiteral(value.AsSpan(at + 1)));
        if (!ok) throw new ArgumentException($"{field} is not a message id of the form left@right (RFC 5322 §3.6.4), without angle brackets.", field);
    }

    private static bool IsNoFoldLiteral(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || s[0] != '[' || s[^1] != ']') return false;
        foreach (var c in s[1..^1])
            if (c is < '!' or > '~' or '[' or '\\' or ']') return false;
        return true;
    }

    /// <summary>Message ids we only repeat (In-Reply-To, References) come from other software and are often not
    /// strictly RFC 5322; anything printable without whitespace or angle brackets is passed on as it came.</summary>
    public static void RequireForeignMessageId(string? value, string field)
    {
        RequireNoLineBreak(value, field);
        if (string.IsNullOrEmpty(value)) throw new ArgumentException($"{field} is empty.", field);
        if (value.Length > 900) throw new ArgumentException($"{field} is longer than 900 characters.", field);
        foreach (var c in value)
            if (c is < '!' or > '~' or '<' or '>')
                throw new ArgumentException($"{field} must be printable ASCII without spaces or angle brackets.", field);
    }

    /// <summary>RFC 5322 §3.6.8 field-name: printable ASCII except ':'; kept short so the first line stays foldable.</summary>
    public static void RequireHeaderName(string? name, string field)
    {
        RequireNoLineBreak(name, field);
        if (string.IsNullOrEmpty(name) || name.Length > 76)
            throw new ArgumentException($"{field} must be 1 to 76 characters long.", field);
        foreach (var c in name)
            if (c is < '!' or > '~' or ':')
                throw new ArgumentException($"{field} '{name}' is not a valid header field name (RFC 5322 §3.6.8).", field);
    }

    /// <summary>Header text (subject, display names, extra values): no line breaks, so no header injection; no other
    /// control characters (HTAB is whitespace and allowed); well-formed UTF-16 so UTF-8 encoding is lossless.</summary>
    public static void RequireHeaderText(string? value, string field)
    {
        ArgumentNullException.ThrowIfNull(value, field);
        RequireNoLineBreak(value, field);
        foreach (var c in value)
            if ((c < ' ' && c != '\t') || c == '\x7f')
                throw new ArgumentException($"{field} contains the control character U+{(int)c:X4}.", field);
        RequireWellFormed(value, field);
    }

    public static void RequireNoLineBreak(string? value, string field)
    {
        if (value is not null && (value.Contains('\r') || value.Contains('\n')))
            throw new ArgumentException($"{field} contains CR or LF (header injection).", field);
    }

    public static void RequireWellFormed(string value, string field)
    {
        if (value.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF') && !IsWellFormedUtf16(value))
            throw new ArgumentException($"{field} contains an unpaired UTF-16 surrogate.", field);
    }

    private static bool IsWellFormedUtf16(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(s[i])) return false;
        }
        return true;
    }

    /// <summary>RFC 2045 §5.1 token: printable ASCII less SPACE and tspecials.</summary>
    public static bool IsMimeToken(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (var c in s)
            if (c is <= ' ' or > '~' or '(' or ')' or '<' or '>' or '@' or ',' or ';' or ':' or '\\' or '"' or '/' or '[' or ']' or '?' or '=')
                return false;
        return true;
    }
}
