// Reads IMAP responses off a stream: lines bounded in length, literals ({n} and {n+}) bounded in size and spilled
// to a temp file beyond a threshold, every read bounded by a timeout. Anything that is not IMAP is a protocol error
// (the connection cannot be trusted to be in step any more), never a hang or an unbounded buffer.
using System.Globalization;
using System.Text;

namespace CprDesk.Mail.Imap;

public sealed class ImapReaderOptions
{
    /// <summary>How long one read may wait for the server.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Longest response line (without literals). RFC 9051 sets no limit; 100 KiB is far beyond any real reply here.</summary>
    public int MaxLineLength { get; init; } = 100 * 1024;
    /// <summary>Largest literal accepted; a bigger one is a protocol error (the connection is dropped).</summary>
    public long MaxLiteralBytes { get; init; } = 100L * 1024 * 1024;
    /// <summary>Literals larger than this go to a temp file instead of memory.</summary>
    public int LiteralMemoryThreshold { get; init; } = 1024 * 1024;
    public string TempDirectory { get; init; } = Path.GetTempPath();
    /// <summary>Most literals in one response (a FETCH of one message needs one or two).</summary>
    public int MaxLiteralsPerResponse { get; init; } = 64;
}

public sealed class ImapResponseReader(Stream stream, ImapReaderOptions options)
{
    private const int MaxDepth = 32;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start, _end;

    /// <summary>Replaced after STARTTLS.</summary>
    public Stream Stream { get; set; } = stream;

    public ImapReaderOptions Options => options;

    /// <summary>Bytes received but not yet read: after STARTTLS's OK this must be empty (RFC 3207-style injection).</summary>
    public bool HasBufferedInput => _end > _start;

    /// <summary>Reads one complete response. <paramref name="timeout"/> overrides the per-read timeout
    /// (<see cref="System.Threading.Timeout.InfiniteTimeSpan"/> while idling).</summary>
    public async Task<ImapResponse> ReadAsync(CancellationToken ct, TimeSpan? timeout = null)
    {
        var segments = new List<(string Text, ImapLiteral? Literal)>();
        var literals = new List<ImapLiteral>();
        try
        {
            long total = 0;
            while (true)
            {
                var line = await ReadLineAsync(ct, timeout ?? options.Timeout).ConfigureAwait(false);
                total += line.Length;
                if (total > options.MaxLineLength) throw new ImapProtocolException($"The response is longer than {options.MaxLineLength} characters without its literals.");
                if (LiteralMarker(line) is not { } marker)
                {
                    segments.Add((line, null));
                    break;
                }
                if (literals.Count >= options.MaxLiteralsPerResponse) throw new ImapProtocolException($"More than {options.MaxLiteralsPerResponse} literals in one response.");
                if (marker.Length > options.MaxLiteralBytes) throw new ImapProtocolException($"A literal of {marker.Length} bytes exceeds the limit of {options.MaxLiteralBytes}.");
                var literal = await ReadLiteralAsync(marker.Length, ct, timeout ?? options.Timeout).ConfigureAwait(false);
                literals.Add(literal);
                segments.Add((line[..marker.Start], literal));
            }
            var response = Parse(segments);
            response.Literals.AddRange(literals);
            return response;
        }
        catch
        {
            foreach (var l in literals) l.Dispose();
            throw;
        }
    }

    /// <summary>"{123}" or "{123+}" at the end of a line (RFC 7888 allows the + from clients only; we accept it from servers too).</summary>
    private static (int Start, long Length)? LiteralMarker(string line)
    {
        if (line.Length < 3 || line[^1] != '}') return null;
        var open = line.LastIndexOf('{');
        if (open < 0) return null;
        var digits = line[(open + 1)..^1];
        if (digits.EndsWith('+')) digits = digits[..^1];
        if (digits.Length is 0 or > 12 || !digits.All(char.IsAsciiDigit)) return null;
        return (open, long.Parse(digits, CultureInfo.InvariantCulture));
    }

    private async Task FillAsync(CancellationToken ct, TimeSpan timeout, string what)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout != System.Threading.Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        int n;
        try
        {
            n = await Stream.ReadAsync(_buffer.AsMemory(_end), cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ImapTimeoutException($"No answer from the server within {timeout.TotalSeconds:0.###} s while reading {what}.");
        }
        catch (IOException ex)
        {
            throw new ImapConnectionException($"The connection failed while reading {what}: {ex.Message}", ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new ImapConnectionException($"The connection was closed while reading {what}.", ex);
        }
        if (n == 0) throw new ImapConnectionException($"The server closed the connection while we were reading {what}.");
        _end += n;
    }

    private async Task<string> ReadLineAsync(CancellationToken ct, TimeSpan timeout)
    {
        var line = new MemoryStream();
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var take = lf < 0 ? _end - _start : lf - _start;
            if (line.Length + take > options.MaxLineLength + 2) throw new ImapProtocolException($"A response line is longer than {options.MaxLineLength} characters.");
            line.Write(_buffer, _start, take);
            if (lf >= 0)
            {
                _start = lf + 1;
                var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
                if (bytes.Length > 0 && bytes[^1] == '\r') bytes = bytes[..^1]; // tolerate a bare LF
                // Latin-1 keeps every byte; quoted strings with 8-bit text are re-decoded as UTF-8 where used.
                return Encoding.Latin1.GetString(bytes);
            }
            _start = _end;
            await FillAsync(ct, timeout, "a response line").ConfigureAwait(false);
        }
    }

    private async Task<ImapLiteral> ReadLiteralAsync(long length, CancellationToken ct, TimeSpan timeout)
    {
        if (length <= options.LiteralMemoryThreshold)
        {
            var bytes = new byte[length];
            var at = 0;
            while (at < length)
            {
                if (_start == _end) await FillAsync(ct, timeout, $"a literal of {length} bytes ({at} received)").ConfigureAwait(false);
                var n = (int)Math.Min(length - at, _end - _start);
                Buffer.BlockCopy(_buffer, _start, bytes, at, n);
                _start += n;
                at += n;
            }
            return new ImapLiteral(bytes);
        }
        Directory.CreateDirectory(options.TempDirectory);
        var file = new FileStream(Path.Combine(options.TempDirectory, "imap-literal-" + Guid.NewGuid().ToString("N") + ".tmp"),
            FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            long done = 0;
            while (done < length)
            {
                if (_start == _end) await FillAsync(ct, timeout, $"a literal of {length} bytes ({done} received)").ConfigureAwait(false);
                var n = (int)Math.Min(length - done, _end - _start);
                await file.WriteAsync(_buffer.AsMemory(_start, n), ct).ConfigureAwait(false);
                _start += n;
                done += n;
            }
            await file.FlushAsync(ct).ConfigureAwait(false);
            return new ImapLiteral(file);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static readonly string[] Statuses = ["OK", "NO", "BAD", "BYE", "PREAUTH"];

    internal static ImapResponse Parse(List<(string Text, ImapLiteral? Literal)> segments)
    {
        var first = segments[0].Text;
        if (first.StartsWith('+') && (first.Length == 1 || first[1] == ' '))
            return new ImapResponse { Kind = ImapResponseKind.Continuation, Text = first.Length > 2 ? first[2..] : "" };
        var sp = first.IndexOf(' ');
        if (sp <= 0) throw new ImapProtocolException($"Not an IMAP response: '{Excerpt(first)}'.");
        var tag = first[..sp];
        var untagged = tag == "*";
        if (!untagged && !tag.All(IsTagChar)) throw new ImapProtocolException($"Not an IMAP response: '{Excerpt(first)}'.");
        var rest = first[(sp + 1)..];
        var word = rest.Split(' ', 2)[0];
        var status = Statuses.FirstOrDefault(s => s.Equals(word, StringComparison.OrdinalIgnoreCase));
        if (status is not null)
        {
            var text = rest.Length > word.Length ? rest[(word.Length + 1)..] : "";
            string? code = null;
            if (text.StartsWith('['))
            {
                var close = text.IndexOf(']');
                if (close > 0)
                {
                    code = text[1..close];
                    text = text[(close + 1)..].TrimStart();
                }
            }
            return new ImapResponse { Kind = untagged ? ImapResponseKind.Untagged : ImapResponseKind.Tagged, Tag = untagged ? null : tag, Status = status, Code = code, Text = text };
        }
        if (!untagged) throw new ImapProtocolException($"A tagged response must be OK, NO or BAD: '{Excerpt(first)}'.");
        var copy = segments.ToList();
        copy[0] = (rest, copy[0].Literal);
        var tokenizer = new Tokenizer(copy);
        var values = tokenizer.ReadAll();
        if (values.Count == 0) throw new ImapProtocolException("An empty untagged response.");
        return new ImapResponse { Kind = ImapResponseKind.Untagged, Values = values };
    }

    internal static bool IsTagChar(char c) => c is > ' ' and < '\x7f' and not ('(' or ')' or '{' or '%' or '*' or '"' or '\\' or '+');

    internal static string Excerpt(string s) => (s.Length > 80 ? s[..80] + "…" : s).Replace("\r", "\\r");

    /// <summary>RFC 3501 §9 data: atoms, quoted strings, literals, parenthesised lists, NIL.</summary>
    private sealed class Tokenizer(List<(string Text, ImapLiteral? Literal)> segments)
    {
        private int _seg, _pos;

        private string Text => segments[_seg].Text;

        public List<ImapValue> ReadAll()
        {
            var values = ReadSequence(0, closing: false);
            return values;
        }

        private List<ImapValue> ReadSequence(int depth, bool closing)
        {
            if (depth > MaxDepth) throw new ImapProtocolException($"Lists nested deeper than {MaxDepth}.");
            var list = new List<ImapValue>();
            while (true)
            {
                while (_pos < Text.Length && Text[_pos] == ' ') _pos++;
                if (_pos >= Text.Length)
                {
                    if (segments[_seg].Literal is { } lit)
                    {
                        list.Add(new ImapLiteralValue(lit));
                        _seg++;
                        _pos = 0;
                        continue;
                    }
                    if (closing) throw new ImapProtocolException("A list is not closed.");
                    return list;
                }
                var c = Text[_pos];
                switch (c)
                {
                    case '(':
                        _pos++;
                        list.Add(new ImapList(ReadSequence(depth + 1, closing: true)));
                        break;
                    case ')':
                        if (!closing) throw new ImapProtocolException("An unexpected ')'.");
                        _pos++;
                        return list;
                    case '"':
                        list.Add(ReadQuoted());
                        break;
                    default:
                        if (c < ' ' || c == '\x7f') throw new ImapProtocolException($"A control character (0x{(int)c:x2}) in a response.");
                        list.Add(ReadAtom());
                        break;
                }
            }
        }

        private ImapQuoted ReadQuoted()
        {
            var sb = new StringBuilder();
            _pos++;
            while (_pos < Text.Length)
            {
                var c = Text[_pos++];
                if (c == '"')
                {
                    // 8-bit text (RFC 6855 UTF8=ACCEPT) arrives as Latin-1 chars; turn it back into UTF-8 when valid.
                    var s = sb.ToString();
                    if (s.Any(ch => ch > '\x7f'))
                    {
                        try { s = new UTF8Encoding(false, true).GetString(Encoding.Latin1.GetBytes(s)); } catch (DecoderFallbackException) { }
                    }
                    return new ImapQuoted(s);
                }
                if (c == '\\' && _pos < Text.Length) c = Text[_pos++];
                sb.Append(c);
            }
            throw new ImapProtocolException("A quoted string is not closed.");
        }

        private ImapAtom ReadAtom()
        {
            var start = _pos;
            var bracket = 0;
            while (_pos < Text.Length)
            {
                var c = Text[_pos];
                if (c == '[') bracket++;
                else if (c == ']' && bracket > 0) bracket--;
                else if (bracket == 0 && (c is ' ' or '(' or ')' or '"')) break;
                else if (c < ' ' || c == '\x7f') throw new ImapProtocolException($"A control character (0x{(int)c:x2}) in a response.");
                _pos++;
            }
            // The literal marker "{n}" closing a segment was cut off before tokenizing, so an atom never swallows it.
            return new ImapAtom(Text[start.._pos]);
        }
    }
}
