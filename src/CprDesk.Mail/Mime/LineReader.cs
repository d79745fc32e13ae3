// Buffered reader that hands out the input line by line (CRLF, bare LF or bare CR), in bounded segments for huge lines.
using System.Buffers;

namespace CprDesk.Mail.Mime;

/// <summary>
/// Reads lines from a stream without ever holding more than one buffer. A line longer than <see cref="MaxSegment"/> is
/// returned in several segments; only the first has <c>lineStart</c> set and only the last carries the line ending.
/// CRLF, bare LF and bare CR all end a line (as in Python's email package), and are reported so the parser can flag them.
/// </summary>
internal sealed class LineReader : IDisposable
{
    public const int MaxSegment = 64 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _pos;
    private int _end;
    private bool _eof;
    private long _base; // absolute offset of _buffer[0]
    private bool _atLineStart = true;

    private int _lastStart = -1;
    private bool _lastLineStart;

    public LineReader(Stream stream)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(MaxSegment * 2);
    }

    /// <summary>Bytes consumed so far.</summary>
    public long Position => _base + _pos;

    public bool SawBareLf { get; private set; }

    public bool SawBareCr { get; private set; }

    public bool SawNul { get; private set; }

    /// <summary>
    /// Reads the next segment. <paramref name="content"/> excludes the line ending, which is in <paramref name="eol"/>
    /// (empty for a partial segment or a last line without ending). <paramref name="complete"/> is false for a segment that
    /// the line continues after. The spans are valid until the next call.
    /// </summary>
    public bool Read(out ReadOnlySpan<byte> content, out ReadOnlySpan<byte> eol, out bool lineStart, out bool complete)
    {
        content = default;
        eol = default;
        lineStart = _atLineStart;
        complete = true;
        var scanned = 0;
        while (true)
        {
            if (_pos == _end && !Fill()) return false;
            var span = _buffer.AsSpan(_pos, _end - _pos);
            // Look no further than one segment (plus one byte, so a CRLF straddling the limit is still seen whole).
            var window = span[..Math.Min(span.Length, MaxSegment + 1)];
            var rel = window[scanned..].IndexOfAny((byte)'\r', (byte)'\n');
            var idx = rel < 0 ? -1 : scanned + rel;
            if (idx >= 0)
            {
                int eolLen;
                if (span[idx] == (byte)'\n')
                {
                    eolLen = 1;
                    SawBareLf = true;
                }
                else if (idx + 1 < span.Length)
                {
                    eolLen = span[idx + 1] == (byte)'\n' ? 2 : 1;
                    if (eolLen == 1) SawBareCr = true;
                }
                else if (!_eof)
                {
                    // CR at the end of the buffer: read on to see whether LF follows.
                    scanned = idx;
                    Fill();
                    continue;
                }
                else
                {
                    eolLen = 1;
                    SawBareCr = true;
                }
                return Deliver(idx, eolLen, true, out content, out eol);
            }
            if (span.Length >= MaxSegment) return Deliver(MaxSegment, 0, false, out content, out eol, out complete);
            if (_eof) return Deliver(span.Length, 0, true, out content, out eol);
            scanned = span.Length;
            Fill();
        }
    }

    private bool Deliver(int length, int eolLen, bool ends, out ReadOnlySpan<byte> content, out ReadOnlySpan<byte> eol)
        => Deliver(length, eolLen, ends, out content, out eol, out _);

    private bool Deliver(int length, int eolLen, bool ends, out ReadOnlySpan<byte> content, out ReadOnlySpan<byte> eol, out bool complete)
    {
        _lastStart = _pos;
        _lastLineStart = _atLineStart;
        content = _buffer.AsSpan(_pos, length);
        eol = _buffer.AsSpan(_pos + length, eolLen);
        if (!SawNul && content.Contains((byte)0)) SawNul = true;
        _pos += length + eolLen;
        _atLineStart = ends;
        complete = ends;
        return true;
    }

    /// <summary>Pushes the segment just read back, so the next Read returns it again. Only valid right after a Read.</summary>
    public void Unread()
    {
        if (_lastStart < 0) throw new InvalidOperationException("nothing to unread");
        _pos = _lastStart;
        _atLineStart = _lastLineStart;
        _lastStart = -1;
    }

    /// <summary>Moves unread bytes to the front and reads more. False when nothing is left at all.</summary>
    private bool Fill()
    {
        _lastStart = -1;
        if (_pos > 0)
        {
            var remaining = _end - _pos;
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, remaining);
            _base += _pos;
            _pos = 0;
            _end = remaining;
        }
        // One read per call: on a network stream, waiting for a full buffer could block although a whole line is here.
        if (!_eof)
        {
            var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n <= 0) _eof = true;
            else _end += n;
        }
        return _end > _pos;
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
