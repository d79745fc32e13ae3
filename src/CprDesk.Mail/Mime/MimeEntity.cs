// The entity tree: the abstract entity with its Content-Type and Content-Disposition, and its three kinds.
namespace CprDesk.Mail.Mime;

/// <summary>A MIME entity: a multipart, an encapsulated message, or a leaf.</summary>
public abstract class MimeEntity
{
    private protected MimeEntity(HeaderList headers, ContentType contentType, List<MimeDefect> defects)
    {
        Headers = headers;
        ContentType = contentType;
        DefectList = defects;
        if (headers.First("Content-Disposition") is { } cd)
        {
            var (main, parameters) = HeaderParameters.Parse(cd.RawValue, defects);
            var kind = main.ToLowerInvariant();
            // RFC 2183 §2.8: an unrecognised disposition type is treated as "attachment".
            ContentDisposition = kind.Length == 0 ? null : kind == "inline" ? "inline" : "attachment";
            if (parameters.TryGetValue("filename", out var f) && f.Trim().Length > 0) FileName = f.Trim();
        }
        if (FileName is null && contentType.Name is { } name && name.Trim().Length > 0) FileName = name.Trim();
    }

    /// <summary>The entity's own header fields (for a message's top-level body, the message's header block).</summary>
    public HeaderList Headers { get; }

    /// <summary>The parsed Content-Type; text/plain when absent or invalid (RFC 2045 §5.2), message/rfc822 by default in a digest.</summary>
    public ContentType ContentType { get; }

    /// <summary>"attachment", "inline" or null when there is no Content-Disposition.</summary>
    public string? ContentDisposition { get; }

    /// <summary>Content-Disposition filename (RFC 2231-decoded), else the Content-Type name parameter.</summary>
    public string? FileName { get; }

    /// <summary>Defects of this entity alone (not of its children).</summary>
    public IReadOnlyList<MimeDefect> EntityDefects => DefectList;

    internal List<MimeDefect> DefectList { get; }
}

/// <summary>A multipart entity (any subtype; unknown subtypes behave as multipart/mixed, RFC 2046 §5.1.3).</summary>
public sealed class Multipart : MimeEntity
{
    internal Multipart(HeaderList headers, ContentType contentType, List<MimeDefect> defects)
        : base(headers, contentType, defects)
    {
    }

    internal List<MimeEntity> ChildList { get; } = [];

    public IReadOnlyList<MimeEntity> Children => ChildList;

    /// <summary>Text before the first boundary (at most 64 KiB kept), or null when there was none.</summary>
    public string? Preamble { get; internal set; }

    /// <summary>Text after the closing boundary (at most 64 KiB kept), or null when there was none.</summary>
    public string? Epilogue { get; internal set; }
}

/// <summary>An encapsulated message: message/rfc822 or message/global (RFC 2046 §5.2.1, RFC 6532 §3.7).</summary>
public sealed class MessagePart : MimeEntity
{
    internal MessagePart(HeaderList headers, ContentType contentType, List<MimeDefect> defects, MimeMessage message)
        : base(headers, contentType, defects)
    {
        Message = message;
    }

    public MimeMessage Message { get; }
}

/// <summary>A leaf part. Its decoded bytes live in memory, or in a temp file when larger than the spool threshold.</summary>
public sealed class MimePart : MimeEntity, IDisposable
{
    private readonly PartContent _content;

    internal MimePart(HeaderList headers, ContentType contentType, List<MimeDefect> defects, string? transferEncoding, PartContent content)
        : base(headers, contentType, defects)
    {
        TransferEncoding = transferEncoding;
        _content = content;
    }

    /// <summary>The Content-Transfer-Encoding as written, lower-cased; null when absent.</summary>
    public string? TransferEncoding { get; }

    public long DecodedLength => _content.Length;

    /// <summary>SHA-256 of the decoded bytes, lower-case hex.</summary>
    public string Sha256 => _content.Sha256;

    /// <summary>True when the decoded bytes are in a temp file rather than memory.</summary>
    public bool IsSpooled => _content.FilePath is not null;

    /// <summary>The temp file holding the decoded bytes, or null when they are in memory.</summary>
    public string? SpoolPath => _content.FilePath;

    /// <summary>Disposition "attachment", or any filename (RFC 2183 §2.3: a filename marks content meant to be saved).</summary>
    public bool IsAttachment => ContentDisposition == "attachment" || FileName is not null;

    /// <summary>A fresh read stream over the decoded bytes. Throws ObjectDisposedException once the message is disposed.</summary>
    public Stream OpenDecoded() => _content.Open();

    /// <summary>
    /// The decoded bytes as text through the part's charset. No charset or US-ASCII: UTF-8 when valid, else Latin-1;
    /// unknown charset: the same fallback. Malformed sequences become U+FFFD. Throws only ObjectDisposedException after Dispose.
    /// </summary>
    public string GetText() => Charsets.Decode(_content.ReadAll(), ContentType.Charset);

    public void Dispose() => _content.Dispose();
}
