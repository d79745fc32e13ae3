// Tokenizer for RFC 5322 structured header values: atoms, quoted-strings, domain literals and specials, with comments dropped.
namespace CprDesk.Mail.Mime;

internal enum TokenKind
{
    Atom,
    Quoted,
    DomainLiteral,
    Special,
}

/// <summary>A lexical token. Text is the unescaped value (for quoted strings, without the quotes); Raw is as written.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, string Raw, bool SpaceBefore)
{
    public bool Is(char special) => Kind == TokenKind.Special && Text[0] == special;
    public bool IsWord => Kind is TokenKind.Atom or TokenKind.Quoted;
}

internal static class Rfc822Lexer
{
    // RFC 5322 §3.2.3 specials. Everything else that is not whitespace or a control character makes up an atom,
    // including 8-bit text (RFC 6532 §3.2 extends atext with UTF-8).
    private const string Specials = "()<>[]:;@\\,.\"";

    public static bool IsSpecial(char c) => Specials.Contains(c);

    /// <summary>Splits a structured value into tokens. Comments are dropped (RFC 5322 §3.2.2: they carry no meaning) and count as whitespace.</summary>
    public static List<Token> Lex(string s, List<MimeDefect>? defects, string headerName)
    {
        var tokens = new List<Token>();
        var space = false;
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                space = true;
                i++;
            }
            else if (c == '(')
            {
                i = SkipComment(s, i, defects, headerName);
                space = true;
            }
            else if (c == '"')
            {
                var start = i;
                var text = ReadQuoted(s, ref i, defects, headerName);
                tokens.Add(new Token(TokenKind.Quoted, text, s[start..i], space));
                space = false;
            }
            else if (c == '[')
            {
                var close = s.IndexOf(']', i + 1);
                var end = close < 0 ? s.Length : close + 1;
                if (close < 0) defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, $"unterminated domain literal in {headerName}"));
                var raw = s[i..end];
                tokens.Add(new Token(TokenKind.DomainLiteral, raw, raw, space));
                space = false;
                i = end;
            }
            else if (IsSpecial(c) || char.IsControl(c))
            {
                tokens.Add(new Token(TokenKind.Special, c.ToString(), c.ToString(), space));
                space = false;
                i++;
            }
            else
            {
                var start = i;
                while (i < s.Length && !IsSpecial(s[i]) && s[i] is not (' ' or '\t' or '\r' or '\n') && !char.IsControl(s[i])) i++;
                var atom = s[start..i];
                tokens.Add(new Token(TokenKind.Atom, atom, atom, space));
                space = false;
            }
        }
        return tokens;
    }

    /// <summary>Skips a (possibly nested) comment starting at '(' and returns the index after it.</summary>
    public static int SkipComment(string s, int i, List<MimeDefect>? defects, string headerName)
    {
        var depth = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\\') { i++; continue; } // RFC 5322 §3.2.1 quoted-pair
            if (c == '(') depth++;
            else if (c == ')' && --depth == 0) return i + 1;
        }
        defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, $"unterminated comment in {headerName}"));
        return s.Length;
    }

    /// <summary>Reads a quoted-string at s[i] == '"', unescaping quoted-pairs; leaves i after the closing quote.</summary>
    public static string ReadQuoted(string s, ref int i, List<MimeDefect>? defects, string headerName)
    {
        var sb = new System.Text.StringBuilder();
        i++;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\\' && i + 1 < s.Length)
            {
                sb.Append(s[i + 1]);
                i += 2;
                continue;
            }
            i++;
            if (c == '"') return sb.ToString();
            sb.Append(c);
        }
        defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, $"unterminated quoted-string in {headerName}"));
        return sb.ToString();
    }

    /// <summary>Removes comments outside quoted-strings, keeping everything else as written (for Message-ID and Date values).</summary>
    public static string StripComments(string s)
    {
        if (!s.Contains('(')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '"')
            {
                var start = i;
                ReadQuoted(s, ref i, null, "");
                sb.Append(s, start, i - start);
            }
            else if (c == '(')
            {
                i = SkipComment(s, i, null, "");
                sb.Append(' ');
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        return sb.ToString();
    }
}
