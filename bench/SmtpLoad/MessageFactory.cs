using System.Globalization;
using System.Text;

namespace SmtpLoad;

/// <summary>
/// Builds valid RFC 5322 messages of an exact size (when the size is above the headers' own size):
/// fixed-length headers with a unique Message-ID, a short text with one line that starts with a dot,
/// then padding lines of 76 random base64-alphabet characters. With <c>attachment</c> the padding is a
/// base64 application/octet-stream part of a multipart/mixed message. The padding is drawn once per
/// connection and only its first line is drawn again for each message (so no two bodies or attachments
/// are equal): the load generator shares the CPUs with the server under test, and drawing and
/// dot-stuffing 100 KB per message cost it more CPU than the server spent receiving it.
/// One instance per connection: it reuses its buffers and is not thread-safe.
/// </summary>
sealed class MessageFactory
{
    const int LineChars = 76;
    const int LineBytes = LineChars + 2;
    const string Boundary = "=_smtpload_boundary_0123456789";
    static ReadOnlySpan<byte> Alphabet => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8;

    readonly Options options;
    readonly string idPrefix;
    readonly Random random;
    readonly int fullLines;
    readonly int lastLineChars;
    readonly int slack;
    readonly byte[] raw;
    readonly byte[] wire;
    readonly byte[] padding; // drawn once; base64-alphabet lines never start with '.', so they need no dot-stuffing

    /// <summary>The size of every message this factory builds, before dot-stuffing.</summary>
    public int Size => raw.Length;

    public MessageFactory(Options options, int requestedSize, string idPrefix, int seed)
    {
        this.options = options;
        this.idPrefix = idPrefix;
        random = new Random(seed);
        var fixedLength = Encoding.ASCII.GetByteCount(Head(0, 0)) + Tail().Length;
        var remaining = requestedSize - fixedLength;
        if (remaining > 0)
        {
            var unit = options.Attachment ? 4 : 1; // base64 text must come in groups of 4
            fullLines = remaining / LineBytes;
            var rest = remaining % LineBytes;
            lastLineChars = rest - 2 >= unit ? (rest - 2) / unit * unit : 0;
            slack = rest - (lastLineChars > 0 ? lastLineChars + 2 : 0);
        }
        var size = fixedLength + slack + fullLines * LineBytes + (lastLineChars > 0 ? lastLineChars + 2 : 0);
        raw = new byte[size];
        wire = new byte[size + size / 2 + 8]; // dot-stuffing adds at most one byte per line of >= 2 bytes
        padding = new byte[fullLines * LineBytes + (lastLineChars > 0 ? lastLineChars + 2 : 0)];
        var pos = 0;
        for (var i = 0; i < fullLines; i++) pos = PadLine(padding, pos, LineChars);
        if (lastLineChars > 0) PadLine(padding, pos, lastLineChars);
        BuildRaw(0); // checks the layout once: throws if the pieces do not add up to the size
    }

    string Head(long n, int fill)
    {
        var date = DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        var sb = new StringBuilder(1024);
        sb.Append("From: SmtpLoad <").Append(options.From).Append(">\r\n");
        sb.Append("To: <").Append(options.To).Append(">\r\n");
        sb.Append("Subject: SmtpLoad benchmark message ").Append(options.Label).Append(" #").Append(n.ToString("D10", CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Date: ").Append(date).Append("\r\n");
        sb.Append("Message-ID: <").Append(idPrefix).Append('.').Append(n.ToString("D10", CultureInfo.InvariantCulture)).Append("@smtpload.localdomain>\r\n");
        sb.Append("MIME-Version: 1.0\r\n");
        if (options.Attachment)
        {
            sb.Append("Content-Type: multipart/mixed; boundary=\"").Append(Boundary).Append("\"\r\n\r\n");
            sb.Append("This is a multi-part message in MIME format.\r\n");
            sb.Append("--").Append(Boundary).Append("\r\n");
            sb.Append("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
        }
        else
        {
            sb.Append("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
        }
        sb.Append("SmtpLoad benchmark message. What follows is padding").Append('-', fill).Append("\r\n");
        sb.Append(".This line starts with a dot, so it is dot-stuffed on the wire.\r\n");
        if (options.Attachment)
        {
            sb.Append("--").Append(Boundary).Append("\r\n");
            sb.Append("Content-Type: application/octet-stream; name=\"padding.bin\"\r\n");
            sb.Append("Content-Disposition: attachment; filename=\"padding.bin\"\r\n");
            sb.Append("Content-Transfer-Encoding: base64\r\n\r\n");
        }
        return sb.ToString();
    }

    string Tail() => options.Attachment ? "--" + Boundary + "--\r\n" : "";

    /// <summary>Copies the padding to <paramref name="destination"/> and draws its first line anew.</summary>
    int CopyPadding(Span<byte> destination)
    {
        padding.CopyTo(destination);
        if (fullLines > 0) PadLine(destination, 0, LineChars);
        else if (lastLineChars > 0) PadLine(destination, 0, lastLineChars);
        return padding.Length;
    }

    /// <summary>Message number <paramref name="n"/> as RFC 5322 bytes (CRLF line ends, not dot-stuffed).</summary>
    public ReadOnlySpan<byte> BuildRaw(long n)
    {
        var span = raw.AsSpan();
        var pos = Encoding.ASCII.GetBytes(Head(n, slack), span);
        pos += CopyPadding(span[pos..]);
        pos += Encoding.ASCII.GetBytes(Tail(), span[pos..]);
        if (pos != raw.Length) throw new InvalidOperationException($"message layout error: {pos} != {raw.Length}");
        return span;
    }

    int PadLine(Span<byte> span, int pos, int chars)
    {
        var line = span.Slice(pos, chars);
        random.NextBytes(line);
        var alphabet = Alphabet;
        for (var i = 0; i < line.Length; i++) line[i] = alphabet[line[i] & 63];
        span[pos + chars] = (byte)'\r';
        span[pos + chars + 1] = (byte)'\n';
        return pos + chars + 2;
    }

    /// <summary>
    /// Message number <paramref name="n"/> ready for DATA: dot-stuffed, ending in CRLF, without the
    /// terminating ".CRLF". Only the head and tail are stuffed; the padding is copied as it is.
    /// </summary>
    public ReadOnlyMemory<byte> BuildWire(long n)
    {
        var span = wire.AsSpan();
        var pos = DotStuff(Encoding.ASCII.GetBytes(Head(n, slack)), span);
        pos += CopyPadding(span[pos..]);
        pos += DotStuff(Encoding.ASCII.GetBytes(Tail()), span[pos..]);
        return wire.AsMemory(0, pos);
    }

    /// <summary>RFC 5321 4.5.2: a line that starts with '.' gets one more '.' in front.</summary>
    public static int DotStuff(ReadOnlySpan<byte> message, Span<byte> destination)
    {
        var written = 0;
        var lineStart = true;
        foreach (var b in message)
        {
            if (lineStart && b == (byte)'.') destination[written++] = (byte)'.';
            destination[written++] = b;
            lineStart = b == (byte)'\n';
        }
        return written;
    }
}
