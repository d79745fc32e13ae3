// Entry point of the MIME parser: streams the input once, builds the entity tree, records defects instead of throwing.
using System.Text;

namespace CprDesk.Mail.Mime;

/// <summary>
/// Parses RFC 5322 messages with MIME (RFC 2045-2049). Tolerant: content problems become <see cref="MimeDefect"/>s and
/// never exceptions; only I/O errors of the input stream (or of the spool directory) are thrown. Bounded: see
/// <see cref="MimeParserOptions"/>.
/// </summary>
public static class MimeParser
{
    public static MimeMessage Parse(Stream input, MimeParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var budget = new ParseBudget(options ?? MimeParserOptions.Default);
        try
        {
            using var core = new ParserCore(input, budget);
            return core.ParseMessage(0, top: true);
        }
        catch
        {
            budget.DisposeAll(); // the caller never gets the message, so nobody else could delete its temp files
            throw;
        }
    }

    public static MimeMessage Parse(ReadOnlySpan<byte> input, MimeParserOptions? options = null)
    {
        using var stream = new MemoryStream(input.ToArray(), writable: false);
        return Parse(stream, options);
    }
}

/// <summary>State shared by the parsers of one input, including those of encoded encapsulated messages.</summary>
internal sealed class ParseBudget(MimeParserOptions options)
{
    private readonly List<IDisposable> _owned = [];

    public MimeParserOptions Options { get; } = options;

    public int Parts { get; set; }

    public T Own<T>(T item) where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    public void DisposeAll()
    {
        foreach (var d in _owned) d.Dispose();
        _owned.Clear();
    }
}

/// <summary>Recursive-descent parser over a <see cref="LineReader"/>, with a stack of the open multipart boundaries.</summary>
internal sealed class ParserCore : IDisposable
{
    private const int MaxKeptText = 64 * 1024;
    private static readonly byte[] MboxFrom = "From "u8.ToArray();

    private enum Line { Data, Boundary, Eof }

    private readonly LineReader _reader;
    private readonly ParseBudget _budget;
    private readonly MimeParserOptions _options;
    private readonly List<byte[]> _boundaries = [];
    private int _opened; // multiparts whose first delimiter has been seen

    // A boundary line that ended some entity and is waiting for the multipart it belongs to.
    private int _hitLevel = -1;
    private bool _hitClose;
    private long _hitLineStart;
    private int _lastEolLength; // length of the line ending that the pending boundary line took over (RFC 2046 §5.1.1)

    public ParserCore(Stream input, ParseBudget budget)
    {
        _reader = new LineReader(input);
        _budget = budget;
        _options = budget.Options;
    }

    public void Dispose() => _reader.Dispose();

    /// <summary>Parses a header block and body into a message; <paramref name="top"/> also reports stream-level defects.</summary>
    public MimeMessage ParseMessage(int depth, bool top)
    {
        var start = _hitLevel >= 0 ? _hitLineStart : _reader.Position;
        var defects = new List<MimeDefect>();
        var headers = ReadHeaders(defects, allowEnvelope: top);
        var body = ParseBody(headers, depth, ContentType.TextPlain);
        var end = _hitLevel >= 0 ? _hitLineStart - _lastEolLength : _reader.Position;
        if (top)
        {
            if (_reader.SawBareLf) defects.Add(new MimeDefect(DefectCodes.BareLf, "lines end in a bare LF instead of CRLF (RFC 5322 §2.3)"));
            if (_reader.SawBareCr) defects.Add(new MimeDefect(DefectCodes.BareCr, "a bare CR was taken as a line ending (RFC 5322 §2.3)"));
            if (_reader.SawNul) defects.Add(new MimeDefect(DefectCodes.NulByte, "the message contains NUL bytes (RFC 5322 §2.3)"));
        }
        return new MimeMessage(headers, body, defects, Math.Max(0, end - start));
    }

    private Line Next(out ReadOnlySpan<byte> content, out ReadOnlySpan<byte> eol, out bool lineStart, out bool complete, int passThroughLevel = -1)
    {
        content = default;
        eol = default;
        lineStart = true;
        complete = true;
        if (_hitLevel >= 0) return Line.Boundary;
        var start = _reader.Position;
        if (!_reader.Read(out content, out eol, out lineStart, out complete)) return Line.Eof;
        if (lineStart && complete && _boundaries.Count > 0 && content.Length >= 2 && content[0] == '-' && content[1] == '-')
        {
            // Innermost first, but any enclosing boundary also ends the entity (RFC 2046 §5.1.2: a missing inner close
            // delimiter must not swallow the outer one).
            for (var level = _boundaries.Count - 1; level >= 0; level--)
            {
                var match = MatchBoundary(content, _boundaries[level]);
                if (match == 0) continue;
                if (level == passThroughLevel && match == 1) break;
                _hitLevel = level;
                _hitClose = match == 2;
                _hitLineStart = start;
                return Line.Boundary;
            }
        }
        return Line.Data;
    }

    /// <summary>0: no match; 1: delimiter "--b"; 2: close delimiter "--b--". Trailing whitespace is transport padding (RFC 2046 §5.1.1).</summary>
    private static int MatchBoundary(ReadOnlySpan<byte> line, byte[] dashBoundary)
    {
        if (!line.StartsWith(dashBoundary)) return 0;
        var rest = line[dashBoundary.Length..];
        var close = rest.StartsWith("--"u8);
        if (close) rest = rest[2..];
        foreach (var b in rest)
        {
            if (b is not ((byte)' ' or (byte)'\t')) return 0;
        }
        return close ? 2 : 1;
    }

    private void TakeHit() => _hitLevel = -1;

    /// <summary>
    /// Reads a header block up to and including the blank line. A line that is neither a field, a continuation nor blank
    /// ends the block and becomes the first line of the body, with a "header-without-colon" defect: RFC 5322 §2.1 puts the
    /// body after the header section, and a line that cannot be a field cannot be part of it. Python's email package
    /// makes the same choice. A "From " envelope line (mbox, RFC 4155) is skipped.
    /// </summary>
    private HeaderList ReadHeaders(List<MimeDefect> defects, bool allowEnvelope)
    {
        var list = new List<Header>();
        var value = new MemoryStream();
        string? name = null;
        var skipping = false; // the current field is being dropped (a limit was reached)
        long blockBytes = 0;
        bool tooLarge = false, tooMany = false, orphanReported = false, first = true;

        void Finish()
        {
            if (name is not null && !skipping)
            {
                var raw = DecodeHeaderBytes(value.GetBuffer().AsSpan(0, (int)value.Length), name, defects);
                list.Add(new Header(name, raw.Trim(' ', '\t', '\r', '\n')));
            }
            name = null;
            skipping = false;
            value.SetLength(0);
        }

        while (true)
        {
            var kind = Next(out var content, out var eol, out var lineStart, out var complete);
            if (kind != Line.Data)
            {
                _lastEolLength = 0;
                break;
            }
            blockBytes += content.Length + eol.Length;
            if (blockBytes > _options.MaxHeaderBytes && !tooLarge)
            {
                tooLarge = true;
                defects.Add(new MimeDefect(DefectCodes.HeaderTooLarge, $"header block larger than {_options.MaxHeaderBytes} bytes; the rest of it was discarded"));
                // A field completed before this line is kept; the one this line belongs to is dropped.
                if (lineStart && !content.IsEmpty && content[0] is not ((byte)' ' or (byte)'\t')) Finish();
                skipping = true;
            }
            if (!lineStart)
            {
                if (name is not null && !skipping) value.Write(content);
                continue;
            }
            if (content.IsEmpty && complete) break; // the blank line that ends the header section
            var wasFirst = first;
            first = false;
            if (content[0] is (byte)' ' or (byte)'\t')
            {
                // RFC 5322 §2.2.3 unfolding: the line break goes, the whitespace stays.
                if (name is not null)
                {
                    if (!skipping) value.Write(content);
                }
                else if (!orphanReported && !tooLarge && !tooMany)
                {
                    orphanReported = true;
                    defects.Add(new MimeDefect(DefectCodes.OrphanContinuation, "continuation line with no field before it was ignored"));
                }
                continue;
            }
            var colon = content.IndexOf((byte)':');
            var nameEnd = colon;
            // RFC 5322 §4.5 obs-optional: whitespace is allowed between the field name and the colon.
            while (nameEnd > 0 && content[nameEnd - 1] is (byte)' ' or (byte)'\t') nameEnd--;
            if (colon > 0 && nameEnd > 0 && IsFieldName(content[..nameEnd]))
            {
                Finish();
                if (tooLarge) continue;
                if (list.Count >= _options.MaxHeaderCount)
                {
                    if (!tooMany) defects.Add(new MimeDefect(DefectCodes.TooManyHeaders, $"more than {_options.MaxHeaderCount} header fields; the rest were discarded"));
                    tooMany = true;
                    name = "";
                    skipping = true;
                    continue;
                }
                name = Encoding.ASCII.GetString(content[..nameEnd]);
                value.Write(content[(colon + 1)..]);
                continue;
            }
            if (content.StartsWith(MboxFrom))
            {
                if (!(wasFirst && allowEnvelope)) defects.Add(new MimeDefect(DefectCodes.HeaderWithoutColon, "mbox 'From ' line inside the header section was ignored"));
                Finish();
                name = "";
                skipping = true; // swallow any continuation segments of the envelope line
                continue;
            }
            if (tooLarge) continue;
            defects.Add(new MimeDefect(DefectCodes.HeaderWithoutColon, "a line without ':' ended the header section and starts the body"));
            _reader.Unread();
            break;
        }
        Finish();
        return new HeaderList(list);
    }

    /// <summary>RFC 5322 §3.6.8 field-name: printable US-ASCII except ':'.</summary>
    private static bool IsFieldName(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (b < 33 || b > 126 || b == ':') return false;
        }
        return true;
    }

    /// <summary>RFC 6532 §3.2: 8-bit header text is UTF-8 when it is valid UTF-8; otherwise it is read as Latin-1 with a defect.</summary>
    private static string DecodeHeaderBytes(ReadOnlySpan<byte> bytes, string name, List<MimeDefect> defects)
    {
        if (!bytes.ContainsAnyInRange((byte)0x80, (byte)0xFF)) return Encoding.Latin1.GetString(bytes);
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        defects.Add(new MimeDefect(DefectCodes.EightBitHeader, $"8-bit bytes in {Charsets.Truncate(name)} that are not UTF-8, read as Latin-1"));
        return Encoding.Latin1.GetString(bytes);
    }

    private static string? TransferEncodingOf(HeaderList headers, List<MimeDefect> defects, bool forLeaf)
    {
        if (headers.First("Content-Transfer-Encoding") is not { } h) return null;
        var cte = Rfc822Lexer.StripComments(h.RawValue).Trim().ToLowerInvariant();
        if (cte.Length == 0) return null;
        if (forLeaf && cte is not ("7bit" or "8bit" or "binary" or "base64" or "quoted-printable"))
        {
            defects.Add(new MimeDefect(DefectCodes.UnknownTransferEncoding, $"unknown Content-Transfer-Encoding '{Charsets.Truncate(cte)}', taken as 8bit"));
        }
        return cte;
    }

    private MimeEntity ParseBody(HeaderList headers, int depth, ContentType defaultType)
    {
        _budget.Parts++;
        var defects = new List<MimeDefect>();
        var ct = headers.First("Content-Type") is { } h ? ContentType.Parse(h.RawValue, defects) : defaultType;
        if (ct.MediaType == "multipart")
        {
            if (ct.Boundary is not { } boundary)
            {
                // RFC 2046 §5.1.1 makes the boundary mandatory; without it the body cannot be split, so it is one text part.
                defects.Add(new MimeDefect(DefectCodes.MissingBoundary, $"{ct.MimeType} without a boundary parameter, read as text/plain"));
                ct = ct with { MediaType = "text", MediaSubtype = "plain" };
            }
            else if (depth >= _options.EffectiveMaxDepth)
            {
                defects.Add(new MimeDefect(DefectCodes.MaxDepth, $"nesting deeper than {_options.EffectiveMaxDepth}; {ct.MimeType} kept as one leaf"));
            }
            else
            {
                return ParseMultipart(headers, ct, defects, depth, boundary);
            }
        }
        else if (ct.MediaType == "message" && ct.MediaSubtype is "rfc822" or "global")
        {
            var cte = TransferEncodingOf(headers, defects, forLeaf: false);
            if (depth >= _options.EffectiveMaxDepth)
            {
                defects.Add(new MimeDefect(DefectCodes.MaxDepth, $"nesting deeper than {_options.EffectiveMaxDepth}; {ct.MimeType} kept as one leaf"));
            }
            else if (cte is "base64" or "quoted-printable")
            {
                return ParseEncodedMessage(headers, ct, defects, depth, cte);
            }
            else
            {
                var inner = ParseMessage(depth + 1, top: false);
                return new MessagePart(headers, ct, defects, inner);
            }
        }
        return ParseLeaf(headers, ct, defects, passThroughLevel: -1);
    }

    private MimePart ParseLeaf(HeaderList headers, ContentType ct, List<MimeDefect> defects, int passThroughLevel)
    {
        var cte = TransferEncodingOf(headers, defects, forLeaf: true);
        using var spool = new Spool(_options);
        var decoder = BodyDecoder.For(cte, spool);
        CopyBody(decoder, passThroughLevel);
        decoder.End(defects);
        if (ct.MediaType == "text" && ct.Charset is { } cs && !Charsets.IsAsciiLabel(cs) && Charsets.Find(cs) is null)
        {
            defects.Add(new MimeDefect(DefectCodes.UnknownCharset, $"unknown charset '{Charsets.Truncate(cs)}'; text is read as UTF-8 or Latin-1"));
        }
        return _budget.Own(new MimePart(headers, ct, defects, cte, spool.Complete()));
    }

    /// <summary>
    /// Feeds body lines to a decoder until a boundary or the end. The line ending before a boundary belongs to the
    /// boundary (RFC 2046 §5.1.1), so each line ending is held back until the next line proves to be data.
    /// Returns whether any line was read.
    /// </summary>
    private bool CopyBody(BodyDecoder decoder, int passThroughLevel)
    {
        Span<byte> held = stackalloc byte[2];
        var heldLength = 0;
        var any = false;
        while (true)
        {
            var kind = Next(out var content, out var eol, out _, out var complete, passThroughLevel);
            if (kind == Line.Eof)
            {
                // Inside a started multipart the end of input stands in for the missing close delimiter, which would
                // have taken the last line ending; elsewhere the body simply ends and keeps it.
                if (heldLength > 0 && _opened == 0) decoder.LineBreak(held[..heldLength]);
                return any;
            }
            if (kind == Line.Boundary)
            {
                _lastEolLength = heldLength;
                return any;
            }
            any = true;
            if (heldLength > 0)
            {
                decoder.LineBreak(held[..heldLength]);
                heldLength = 0;
            }
            decoder.Content(content);
            if (complete && eol.Length > 0)
            {
                eol.CopyTo(held);
                heldLength = eol.Length;
            }
        }
    }

    private MimeEntity ParseMultipart(HeaderList headers, ContentType ct, List<MimeDefect> defects, int depth, string boundary)
    {
        var level = _boundaries.Count;
        _boundaries.Add(Encoding.UTF8.GetBytes("--" + boundary));
        var childDefault = ct.MediaSubtype == "digest" ? ContentType.MessageRfc822 : ContentType.TextPlain;

        // Preamble: spooled, because if no boundary ever comes it is the whole body and must not be lost.
        using var preamble = new Spool(_options);
        var preambleDecoder = new IdentityDecoder(preamble);
        var sawPreamble = CopyBody(preambleDecoder, -1);
        preambleDecoder.End(defects);
        if (_hitLevel != level)
        {
            _boundaries.RemoveAt(level);
            defects.Add(new MimeDefect(DefectCodes.MissingFirstBoundary, $"boundary '{Charsets.Truncate(boundary)}' never occurs; the body is kept as one text/plain part"));
            return _budget.Own(new MimePart(headers, ct with { MediaType = "text", MediaSubtype = "plain" }, defects, TransferEncodingOf(headers, [], false), preamble.Complete()));
        }
        var multipart = new Multipart(headers, ct, defects);
        _opened++;
        if (sawPreamble) multipart.Preamble = KeptText(preamble, defects, "preamble");
        var closed = _hitClose;
        TakeHit();
        if (closed) defects.Add(new MimeDefect(DefectCodes.UnterminatedBoundary, "close delimiter before any part"));
        else SkipRepeatedDelimiters(level);

        while (!closed)
        {
            if (_budget.Parts >= _options.MaxParts)
            {
                // Stop splitting: everything up to this multipart's close delimiter stays together as one leaf.
                defects.Add(new MimeDefect(DefectCodes.MaxParts, $"more than {_options.MaxParts} parts; the rest of {ct.MimeType} is kept as one leaf"));
                _budget.Parts++;
                var rest = ParseLeaf(HeaderList.Empty, new ContentType("application", "octet-stream", new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)), [], level);
                multipart.ChildList.Add(rest);
            }
            else
            {
                var childDefects = new List<MimeDefect>();
                var childHeaders = ReadHeaders(childDefects, allowEnvelope: false);
                var child = ParseBody(childHeaders, depth + 1, childDefault);
                child.DefectList.InsertRange(0, childDefects);
                multipart.ChildList.Add(child);
            }
            if (_hitLevel == level)
            {
                closed = _hitClose;
                TakeHit();
                if (closed) break;
                SkipRepeatedDelimiters(level);
                continue;
            }
            // End of input, or a boundary of an enclosing multipart: this one never got its close delimiter.
            defects.Add(new MimeDefect(DefectCodes.UnterminatedBoundary, $"no close delimiter for boundary '{Charsets.Truncate(boundary)}'"));
            break;
        }
        _boundaries.RemoveAt(level);
        _opened--;
        if (closed)
        {
            using var epilogue = new Spool(_options);
            var epilogueDecoder = new IdentityDecoder(epilogue);
            if (CopyBody(epilogueDecoder, -1))
            {
                epilogueDecoder.End(defects);
                multipart.Epilogue = KeptText(epilogue, defects, "epilogue");
            }
        }
        return multipart;
    }

    /// <summary>
    /// Delimiter lines directly after a delimiter line delimit nothing: in RFC 2046 §5.1.1's grammar a body-part follows
    /// the CRLF of a delimiter line and ends at the next CRLF-delimiter, so no empty part sits between two such lines
    /// (Python's email package reads the grammar the same way).
    /// </summary>
    private void SkipRepeatedDelimiters(int level)
    {
        while (true)
        {
            var kind = Next(out _, out _, out _, out _);
            if (kind == Line.Data)
            {
                _reader.Unread();
                return;
            }
            if (kind == Line.Eof || _hitLevel != level || _hitClose) return;
            TakeHit();
        }
    }

    private static string KeptText(Spool spool, List<MimeDefect> defects, string what)
    {
        if (spool.Length > MaxKeptText) defects.Add(new MimeDefect(DefectCodes.TruncatedText, $"{what} longer than {MaxKeptText} bytes; only the start is kept"));
        return Charsets.DecodeUtf8OrLatin1(spool.Head(MaxKeptText));
    }

    /// <summary>
    /// message/rfc822 may only be 7bit, 8bit or binary (RFC 2046 §5.2.1), but some software base64-encodes it. The body
    /// is decoded and the decoded bytes are parsed as the encapsulated message, with a defect.
    /// </summary>
    private MessagePart ParseEncodedMessage(HeaderList headers, ContentType ct, List<MimeDefect> defects, int depth, string cte)
    {
        defects.Add(new MimeDefect(DefectCodes.EncodedMessagePart, $"{ct.MimeType} with Content-Transfer-Encoding {cte} (RFC 2046 §5.2.1 allows only 7bit, 8bit, binary); decoded and parsed"));
        using var spool = new Spool(_options);
        var decoder = BodyDecoder.For(cte, spool);
        CopyBody(decoder, -1);
        decoder.End(defects);
        using var content = spool.Complete();
        using var decoded = content.Open();
        using var inner = new ParserCore(decoded, _budget);
        var message = inner.ParseMessage(depth + 1, top: true);
        return new MessagePart(headers, ct, defects, message);
    }
}
