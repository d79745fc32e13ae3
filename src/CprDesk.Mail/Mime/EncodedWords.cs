// RFC 2047 encoded-word decoding ("=?charset?B|Q?text?="), lenient about placement and split multibyte characters.
using System.Text;

namespace CprDesk.Mail.Mime;

/// <summary>Decodes RFC 2047 encoded-words in header text. Never throws; bad words stay as written, with a defect.</summary>
public static class EncodedWords
{
    /// <summary>
    /// Decodes every encoded-word in <paramref name="text"/>. Whitespace between adjacent encoded-words is dropped
    /// (RFC 2047 §6.2); consecutive words in the same charset are decoded as one byte run, so a multibyte character
    /// split across words (forbidden by §5 but common) still comes out whole. Words are also recognised when glued to
    /// surrounding text, as real mail does that too.
    /// </summary>
    public static string Decode(string text, List<MimeDefect>? defects = null)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains("=?", StringComparison.Ordinal)) return text;
        var sb = new StringBuilder(text.Length);
        var run = new Run();
        var pendingSpace = -1; // start index of whitespace seen after a decoded word, kept only if ordinary text follows
        var noCloseBefore = -1; // a scan found no "?=" before this index, so words starting earlier cannot close (keeps Decode linear)
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '=' && i + 1 < text.Length && text[i + 1] == '?')
            {
                var parsed = TryParseWord(text, i, defects, ref noCloseBefore, out var end, out var label, out var bytes);
                if (parsed && Charsets.Find(label) is { } enc)
                {
                    var key = Charsets.Normalize(label);
                    if (run.Active && run.Label != key) run.Flush(sb);
                    if (!run.Active) run.Start(key, enc);
                    run.Bytes.AddRange(bytes);
                    pendingSpace = -1;
                    i = end;
                    continue;
                }
                if (parsed)
                {
                    defects?.Add(new MimeDefect(DefectCodes.UnknownCharset, $"encoded-word in unknown charset '{Charsets.Truncate(label)}' kept as written"));
                }
                // Not decodable: fall through and copy it as ordinary text.
            }
            if (run.Active && (text[i] == ' ' || text[i] == '\t'))
            {
                if (pendingSpace < 0) pendingSpace = i;
                i++;
                continue;
            }
            if (run.Active)
            {
                run.Flush(sb);
                if (pendingSpace >= 0) sb.Append(text, pendingSpace, i - pendingSpace);
                pendingSpace = -1;
            }
            sb.Append(text[i]);
            i++;
        }
        if (run.Active) run.Flush(sb);
        if (pendingSpace >= 0) sb.Append(text, pendingSpace, text.Length - pendingSpace);
        return sb.ToString();
    }

    private sealed class Run
    {
        public string? Label;
        public Encoding? Encoding;
        public readonly List<byte> Bytes = [];
        public bool Active => Label is not null;

        public void Start(string label, Encoding enc)
        {
            Label = label;
            Encoding = enc;
            Bytes.Clear();
        }

        public void Flush(StringBuilder sb)
        {
            sb.Append(Charsets.DecodeWith(Encoding!, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Bytes)));
            Label = null;
            Encoding = null;
            Bytes.Clear();
        }
    }

    /// <summary>Parses one encoded-word starting at <paramref name="start"/> ("=?"). False when it is not a well-formed word.</summary>
    internal static bool TryParseWord(string text, int start, List<MimeDefect>? defects, ref int noCloseBefore, out int end, out string label, out byte[] bytes)
    {
        end = start;
        label = "";
        bytes = [];
        var p = start + 2;
        var q1 = p;
        while (q1 < text.Length && text[q1] != '?' && !char.IsWhiteSpace(text[q1])) q1++;
        if (q1 == p || q1 + 2 >= text.Length || text[q1] != '?' || text[q1 + 2] != '?') return false;
        var kind = char.ToUpperInvariant(text[q1 + 1]);
        if (kind != 'B' && kind != 'Q') return false;
        var payloadStart = q1 + 3;
        if (payloadStart < noCloseBefore) return false;
        // RFC 2047 §2: encoded-text contains neither space nor '?', so the first '?' must be that of the closing "?=".
        var close = -1;
        var k = payloadStart;
        for (; k < text.Length; k++)
        {
            var c = text[k];
            if (c is ' ' or '\t' or '\r' or '\n') break;
            if (c == '?')
            {
                if (k + 1 < text.Length && text[k + 1] == '=') close = k;
                break;
            }
        }
        if (close < 0)
        {
            noCloseBefore = k;
            defects?.Add(new MimeDefect(DefectCodes.InvalidEncodedWord, "encoded-word without its closing '?=' kept as written"));
            return false;
        }
        label = text[p..q1];
        var payload = text.AsSpan(payloadStart, close - payloadStart);
        bytes = kind == 'B' ? DecodeB(payload, defects) : DecodeQ(payload, defects);
        end = close + 2;
        return true;
    }

    private static byte[] DecodeB(ReadOnlySpan<char> s, List<MimeDefect>? defects)
    {
        var output = new List<byte>(s.Length * 3 / 4 + 2);
        int acc = 0, bits = 0;
        var bad = false;
        foreach (var c in s)
        {
            var v = Base64Decoder.Value(c);
            if (v < 0)
            {
                if (c == '=') break; // padding ends the data
                bad = true;
                continue;
            }
            acc = (acc << 6) | v;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output.Add((byte)(acc >> bits));
                acc &= (1 << bits) - 1;
            }
        }
        if (bad) defects?.Add(new MimeDefect(DefectCodes.InvalidEncodedWord, "invalid characters in a B encoded-word were ignored"));
        return output.ToArray();
    }

    private static byte[] DecodeQ(ReadOnlySpan<char> s, List<MimeDefect>? defects)
    {
        var output = new List<byte>(s.Length);
        var bad = false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '_') output.Add(0x20); // RFC 2047 §4.2 (2)
            else if (c == '=' && i + 2 < s.Length && Hex.TryByte(s[i + 1], s[i + 2], out var b))
            {
                output.Add(b);
                i += 2;
            }
            else if (c == '=')
            {
                bad = true;
                output.Add((byte)'=');
            }
            else if (c < 0x80) output.Add((byte)c);
            else output.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        if (bad) defects?.Add(new MimeDefect(DefectCodes.InvalidEncodedWord, "invalid '=' escape in a Q encoded-word kept literally"));
        return output.ToArray();
    }
}

/// <summary>Hex digit helpers shared by the Q and quoted-printable decoders (both accept lower case, RFC 2045 §6.7 note).</summary>
internal static class Hex
{
    public static int Value(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };

    public static bool TryByte(int hi, int lo, out byte b)
    {
        var h = Value(hi);
        var l = Value(lo);
        b = (byte)((h << 4) | (l & 0xF));
        return h >= 0 && l >= 0;
    }
}
