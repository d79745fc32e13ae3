// Structural checks every written message must pass: CRLF only, line limits, ASCII headers, encoded-word limits.
using System.Text;
using System.Text.RegularExpressions;

namespace CprDesk.Mail.Tests.Outgoing;

internal static partial class MessageShape
{
    [GeneratedRegex(@"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")]
    private static partial Regex EncodedWord();

    /// <summary>Returns the header lines (folded, as written) after checking the whole message.</summary>
    public static List<string> Check(byte[] message)
    {
        for (var i = 0; i < message.Length; i++)
        {
            if (message[i] == '\n') Assert.True(i > 0 && message[i - 1] == '\r', $"bare LF at offset {i}");
            if (message[i] == '\r') Assert.True(i + 1 < message.Length && message[i + 1] == '\n', $"bare CR at offset {i}");
        }
        Assert.True(message.Length >= 2 && message[^2] == '\r' && message[^1] == '\n', "the message must end with CRLF");

        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i + 1 < message.Length; i++)
        {
            if (message[i] != '\r') continue;
            lines.Add(message[start..i]);
            start = i + 2;
        }
        // RFC 5322 §2.1.1: at most 998 octets before CRLF.
        foreach (var line in lines) Assert.True(line.Length <= 998, $"a line of {line.Length} octets");

        var headerLines = new List<string>();
        foreach (var line in lines)
        {
            if (line.Length == 0) break;
            Assert.True(line.All(b => b is >= 0x20 and <= 0x7E or (byte)'\t'), $"non-ASCII or control octet in header line: {Encoding.Latin1.GetString(line)}");
            headerLines.Add(Encoding.ASCII.GetString(line));
        }
        Assert.True(headerLines.Count < lines.Count, "no blank line ends the header section");

        foreach (var line in headerLines)
        {
            var words = EncodedWord().Matches(line);
            foreach (Match w in words) Assert.True(w.Length <= 75, $"encoded-word of {w.Length} characters: {w.Value}");
            if (words.Count > 0) Assert.True(line.Length <= 76, $"line with encoded-words longer than 76: {line}");
            // Folding is possible only at whitespace outside quoted-strings; a longer line must be a single token.
            if (line.Length > 78)
            {
                var tokens = Tokens(line);
                var allowed = line[0] is ' ' or '\t' ? 1 : 2; // a continuation line, or "Name:" then a token
                Assert.True(tokens <= allowed, $"header line of {line.Length} characters could have been folded: {line}");
            }
        }
        return headerLines;
    }

    private static int Tokens(string line)
    {
        var count = 0;
        var inToken = false;
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '\\') i++;
                else if (c == '"') quoted = false;
                continue;
            }
            if (c is ' ' or '\t')
            {
                inToken = false;
                continue;
            }
            if (!inToken) count++;
            inToken = true;
            if (c == '"') quoted = true;
        }
        return count;
    }
}
