// Quoted-printable body encoding (RFC 2045 §6.7) for text whose lines already end in CRLF.
using System.Text;

namespace CprDesk.Mail.Outgoing;

internal static class QuotedPrintable
{
    /// <summary>Encoded lines stay within 76 characters (rule 5): at most 75 plus the soft break's "=".</summary>
    private const int MaxContent = 75;

    private static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;

    public static byte[] Encode(ReadOnlySpan<byte> text)
    {
        var output = new List<byte>(text.Length + text.Length / 8 + 16);
        var column = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var b = text[i];
            if (b == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                // A hard line break stays CRLF (rule 4).
                output.Add((byte)'\r');
                output.Add((byte)'\n');
                column = 0;
                i++;
                continue;
            }
            var endOfLine = i + 1 == text.Length || (text[i + 1] == '\r' && i + 2 < text.Length && text[i + 2] == '\n');
            // Rule 3: whitespace at the end of a line is encoded, since transports may strip it.
            var literal = b is >= 33 and <= 126 && b != '=' || (b is (byte)' ' or (byte)'\t' && !endOfLine);
            var width = literal ? 1 : 3;
            if (column + width > MaxContent)
            {
                output.Add((byte)'=');
                output.Add((byte)'\r');
                output.Add((byte)'\n');
                column = 0;
            }
            if (literal)
            {
                output.Add(b);
            }
            else
            {
                output.Add((byte)'=');
                output.Add(Hex[b >> 4]);
                output.Add(Hex[b & 0xF]);
            }
            column += width;
        }
        return output.ToArray();
    }
}
