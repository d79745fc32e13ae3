// The DATA payload as it goes on the wire: CRLF line ends, dot-stuffed, ending with CRLF "." CRLF.
namespace CprDesk.Mail.Smtp.Client;

/// <summary>The message prepared for DATA, with the facts MAIL FROM needs (RFC 1870 SIZE, RFC 6152 8BITMIME).</summary>
internal sealed class DataTransfer
{
    /// <summary>RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.</summary>
    public const int MaxLineOctets = 998;

    private DataTransfer(byte[] wire, long size, bool hasEightBit, int longestLine)
    {
        Wire = wire;
        Size = size;
        HasEightBit = hasEightBit;
        LongestLine = longestLine;
    }

    /// <summary>Everything sent after the 354 reply, terminating "." line included.</summary>
    public byte[] Wire { get; }

    /// <summary>RFC 1870 §3: octets of the message with CRLF line ends, before dot-stuffing.</summary>
    public long Size { get; }

    public bool HasEightBit { get; }
    public int LongestLine { get; }

    /// <summary>RFC 5321 §2.3.8: CR and LF go on the wire only as CRLF, so a bare one is sent as CRLF (this also
    /// keeps "\n.\n" style end-of-data smuggling impossible). §4.5.2: a line starting with "." gets one more.
    /// A message that does not end with CRLF gets one, since the terminator is CRLF "." CRLF (§4.1.1.4).</summary>
    public static DataTransfer Prepare(ReadOnlySpan<byte> message)
    {
        var wire = new List<byte>(message.Length + message.Length / 64 + 8);
        long size = 0;
        var eightBit = false;
        var longest = 0;
        var line = 0;
        var atLineStart = true;

        void EndLine()
        {
            wire.Add((byte)'\r');
            wire.Add((byte)'\n');
            size += 2;
            longest = Math.Max(longest, line);
            line = 0;
            atLineStart = true;
        }

        for (var i = 0; i < message.Length; i++)
        {
            var b = message[i];
            if (b == '\r')
            {
                if (i + 1 < message.Length && message[i + 1] == '\n') i++;
                EndLine();
                continue;
            }
            if (b == '\n')
            {
                EndLine();
                continue;
            }
            if (atLineStart && b == '.') wire.Add((byte)'.');
            wire.Add(b);
            atLineStart = false;
            size++;
            line++;
            if (b >= 0x80) eightBit = true;
        }
        if (!atLineStart) EndLine();
        wire.AddRange(".\r\n"u8);
        return new DataTransfer(wire.ToArray(), size, eightBit, longest);
    }
}
