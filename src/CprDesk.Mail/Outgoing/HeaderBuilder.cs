// Writes header fields: folding (RFC 5322 §2.2.3), encoded-words (RFC 2047) and quoting, all ASCII.
using System.Globalization;
using System.Text;

namespace CprDesk.Mail.Outgoing;

internal sealed class HeaderBuilder
{
    /// <summary>RFC 5322 §2.1.1 asks for lines of at most 78 characters; RFC 2047 §2 caps lines that carry
    /// encoded-words at 76. One limit serves both. Only a single unbreakable token (a long quoted display name or
    /// message id) can go past it, and tokens are bounded so no line reaches 998.</summary>
    public const int LineLimit = 76;

    /// <summary>The longest word written as-is. Longer ones become encoded-words, which can be split.</summary>
    public const int MaxPlainToken = 900;

    /// <summary>RFC 2047 §2: an encoded-word is at most 75 characters.</summary>
    private const int MaxEncodedWord = 75;

    private const string QPrefix = "=?utf-8?q?";
    private const string BPrefix = "=?utf-8?b?";
    private const int Overhead = 12; // prefix and "?="

    /// <summary>A whitespace run kept literally is at most this long; longer runs go inside encoded-words, so a
    /// folded line always has room for the word that follows.</summary>
    private const int MaxLiteralWhitespace = 8;

    /// <summary>A grapheme whose encoding is longer than this is split between code points instead.</summary>
    private const int MaxUnitPayload = 48;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly StringBuilder _sb = new();
    private int _lineStart;
    private bool _lineHasContent;

    private int Column => _sb.Length - _lineStart;

    public void StartField(string name)
    {
        _sb.Append(name).Append(':');
        _lineHasContent = false;
    }

    public void EndField()
    {
        _sb.Append("\r\n");
        _lineStart = _sb.Length;
    }

    /// <summary>A whole field whose value is one unbreakable ASCII token.</summary>
    public void Field(string name, string value)
    {
        StartField(name);
        Token(" ", value);
        EndField();
    }

    /// <summary>Whitespace then an unbreakable token. Folding inserts CRLF before the whitespace, never after the
    /// field name alone, so unfolding (removing the CRLF) restores the text exactly.</summary>
    public void Token(string whitespace, string token)
    {
        if (_lineHasContent && Column + whitespace.Length + token.Length > LineLimit) Fold();
        _sb.Append(whitespace).Append(token);
        _lineHasContent = true;
    }

    private void Fold()
    {
        _sb.Append("\r\n");
        _lineStart = _sb.Length;
        _lineHasContent = false;
    }

    /// <summary>Unstructured text (Subject, extra fields): printable ASCII words stay readable; runs of words that
    /// need encoding become encoded-words (RFC 2047 §5(1)). Whitespace between an encoded-word and another is
    /// ignored by decoders (§6.2), so whitespace inside a run is encoded with it, and so is leading and trailing
    /// whitespace, which parsers strip from a field value.</summary>
    public void Unstructured(string value)
    {
        var words = new List<(string Space, string Word)>();
        var i = 0;
        var leading = TakeWhitespace(value, ref i);
        var space = leading;
        while (i < value.Length)
        {
            var start = i;
            while (i < value.Length && value[i] is not (' ' or '\t')) i++;
            words.Add((space, value[start..i]));
            space = TakeWhitespace(value, ref i);
        }
        var trailing = words.Count > 0 ? space : "";
        if (words.Count == 0)
        {
            if (value.Length > 0) Encoded(" ", value);
            return;
        }

        var plain = words.Select(w => IsPlainWord(w.Word)).ToArray();
        if (leading.Length > 0) plain[0] = false;
        if (trailing.Length > 0) plain[^1] = false;
        for (var k = 1; k < words.Count; k++)
            if (words[k].Space.Length > MaxLiteralWhitespace) plain[k - 1] = plain[k] = false;

        for (var k = 0; k < words.Count;)
        {
            var before = k == 0 ? " " : words[k].Space;
            if (plain[k])
            {
                Token(before, words[k].Word);
                k++;
                continue;
            }
            var run = new StringBuilder(k == 0 ? leading : "").Append(words[k].Word);
            var j = k + 1;
            for (; j < words.Count && !plain[j]; j++) run.Append(words[j].Space).Append(words[j].Word);
            if (j == words.Count) run.Append(trailing);
            Encoded(before, run.ToString());
            k = j;
        }
    }

    private static string TakeWhitespace(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && s[i] is ' ' or '\t') i++;
        return s[start..i];
    }

    /// <summary>A word a decoder will read back as itself: printable ASCII, not long, and nothing that could be
    /// taken for the start of an encoded-word (some parsers find "=?" even inside a word).</summary>
    private static bool IsPlainWord(string w) =>
        w.Length <= MaxPlainToken && !w.Contains("=?", StringComparison.Ordinal) && w.All(c => c is > ' ' and <= '~');

    /// <summary>A display name (RFC 5322 §3.2.5 phrase). ASCII names become atoms or one quoted-string; others
    /// are encoded whole, since RFC 2047 §5(3) forbids encoded-words inside quoted-strings.</summary>
    public void Phrase(string name)
    {
        if (name.All(c => c is >= ' ' and <= '~' or '\t') && !name.Contains("=?", StringComparison.Ordinal))
        {
            var atoms = name.Split(' ');
            if (atoms.All(a => a.Length > 0 && a.Length <= MaxPlainToken && a.All(MailSyntax.IsAtext)))
            {
                foreach (var atom in atoms) Token(" ", atom);
                return;
            }
            var quoted = Quote(name);
            if (quoted.Length <= MaxPlainToken)
            {
                Token(" ", quoted);
                return;
            }
        }
        Encoded(" ", name);
    }

    /// <summary>RFC 5322 §3.2.4 quoted-string: only '"' and '\' need a backslash.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 encoded-words of at most 75 characters, each on a line of at
    /// most 76. Words break only between graphemes, or between code points for a grapheme too long for one word,
    /// so no UTF-8 sequence is ever split (RFC 2047 §5). Q uses only the characters §5(3) allows in a phrase, so
    /// the same words are valid in Subject and in display names. Q or B, whichever is shorter for the text.</summary>
    public void Encoded(string whitespace, string text)
    {
        var all = Utf8.GetBytes(text);
        var useQ = QLength(all) <= BLength(all.Length);
        var units = Units(text, useQ);
        var space = whitespace;
        for (var i = 0; i < units.Count;)
        {
            if (_lineHasContent && Column + space.Length + Overhead + PayloadLength(units, i, 1, useQ) > LineLimit) Fold();
            var room = Math.Min(MaxEncodedWord, LineLimit - Column - space.Length) - Overhead;
            var n = 1;
            while (i + n < units.Count && PayloadLength(units, i, n + 1, useQ) <= room) n++;
            var bytes = units.Skip(i).Take(n).SelectMany(u => u).ToArray();
            _sb.Append(space).Append(useQ ? QPrefix : BPrefix).Append(useQ ? QEncode(bytes) : Convert.ToBase64String(bytes)).Append("?=");
            _lineHasContent = true;
            space = " ";
            i += n;
        }
    }

    private static List<byte[]> Units(string text, bool useQ)
    {
        var units = new List<byte[]>();
        for (var i = 0; i < text.Length;)
        {
            var length = StringInfo.GetNextTextElementLength(text.AsSpan(i));
            var element = text.AsSpan(i, length);
            var bytes = Utf8.GetBytes(element.ToString());
            if ((useQ ? QLength(bytes) : BLength(bytes.Length)) <= MaxUnitPayload)
            {
                units.Add(bytes);
            }
            else
            {
                foreach (var rune in element.EnumerateRunes())
                {
                    var buffer = new byte[rune.Utf8SequenceLength];
                    rune.EncodeToUtf8(buffer);
                    units.Add(buffer);
                }
            }
            i += length;
        }
        return units;
    }

    private static int PayloadLength(List<byte[]> units, int start, int count, bool useQ)
    {
        var total = 0;
        for (var k = start; k < start + count; k++) total += useQ ? QLength(units[k]) : units[k].Length;
        return useQ ? total : BLength(total);
    }

    private static int BLength(int byteCount) => (byteCount + 2) / 3 * 4;

    private static int QLength(byte[] bytes)
    {
        var n = 0;
        foreach (var b in bytes) n += IsQLiteral(b) || b == ' ' ? 1 : 3;
        return n;
    }

    /// <summary>RFC 2047 §5(3): in a phrase, Q may carry only letters, digits and ! * + - / literally.</summary>
    private static bool IsQLiteral(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'/';

    private static string QEncode(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b == ' ') sb.Append('_');
            else if (IsQLiteral(b)) sb.Append((char)b);
            else sb.Append('=').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    public override string ToString() => _sb.ToString();
}
