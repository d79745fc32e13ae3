// Buffered reading of one SMTP connection: command lines with a length limit, and DATA through the unstuffer.
using System.Buffers;
using System.Text;

namespace CprDesk.Mail.Smtp.Server;

internal enum LineStatus
{
    Line,
    TooLong,
    EndOfStream,
}

internal readonly record struct CommandLine(LineStatus Status, string Text);

/// <summary>
/// Reads a connection through one buffer, so pipelined commands (RFC 2920) are taken from the buffer
/// without a network read. Every network read goes through the session's <c>receive</c> callback:
/// that is where the session flushes the replies it has batched (the client may be waiting for them
/// before it sends more) and applies the timeout of the current phase.
/// Memory is bounded by the buffer: an overlong line is skipped, not stored.
/// </summary>
internal sealed class SmtpConnectionReader : IDisposable
{
    private const int BufferSize = 16 * 1024;

    private readonly Func<Memory<byte>, ValueTask<int>> _receive;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;

    public SmtpConnectionReader(Func<Memory<byte>, ValueTask<int>> receive)
    {
        _receive = receive;
    }

    /// <summary>Bytes received but not yet consumed (pipelined input).</summary>
    public int BufferedCount => _end - _start;

    /// <summary>
    /// Drops whatever is buffered. Used when TLS starts: plaintext sent after STARTTLS must not be
    /// read as if it came through TLS (RFC 3207 §4.2, CVE-2011-0411).
    /// </summary>
    public void DiscardBuffered() => _start = _end = 0;

    /// <summary>
    /// Reads one command line ending in LF (a CR before it is removed). A line longer than
    /// <paramref name="maxOctets"/> including its end is consumed to its end and reported as too long.
    /// The text is decoded as Latin-1, which keeps every byte as one char for the parser to judge.
    /// </summary>
    public async ValueTask<CommandLine> ReadLineAsync(int maxOctets)
    {
        var tooLong = false;
        while (true)
        {
            var available = _buffer.AsSpan(_start, _end - _start);
            var lf = available.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var lineOctets = lf + 1;
                var content = available[..lf];
                _start += lineOctets;
                if (tooLong || lineOctets > maxOctets)
                {
                    return new CommandLine(LineStatus.TooLong, "");
                }
                if (!content.IsEmpty && content[^1] == (byte)'\r')
                {
                    content = content[..^1];
                }
                return new CommandLine(LineStatus.Line, Encoding.Latin1.GetString(content));
            }
            if (available.Length >= maxOctets)
            {
                // No end in sight within the limit: forget what we have and skip to the next LF.
                tooLong = true;
                _start = _end = 0;
            }
            if (await FillAsync().ConfigureAwait(false) == 0)
            {
                return new CommandLine(LineStatus.EndOfStream, "");
            }
        }
    }

    /// <summary>
    /// Reads message data up to and including the terminating ".CRLF" line, passing unstuffed bytes to
    /// <paramref name="sink"/>. Returns false if the stream ended first. Bytes after the terminator stay
    /// buffered for the next command.
    /// </summary>
    public async ValueTask<bool> ReadDataAsync(
        DotUnstuffer unstuffer,
        Func<ReadOnlyMemory<byte>, ValueTask> sink)
    {
        var output = ArrayPool<byte>.Shared.Rent(BufferSize + 1);
        try
        {
            while (true)
            {
                if (_end > _start)
                {
                    var consumed = unstuffer.Process(_buffer.AsSpan(_start, _end - _start), output, out var written);
                    _start += consumed;
                    if (written > 0)
                    {
                        await sink(output.AsMemory(0, written)).ConfigureAwait(false);
                    }
                    if (unstuffer.Completed)
                    {
                        return true;
                    }
                }
                if (await FillAsync().ConfigureAwait(false) == 0)
                {
                    return false;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    private async ValueTask<int> FillAsync()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == BufferSize)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        // The rented array may be larger; BufferSize is the capacity, so DATA output fits in BufferSize + 1.
        var read = await _receive(_buffer.AsMemory(_end, BufferSize - _end)).ConfigureAwait(false);
        _end += read;
        return read;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
