// Limits and spooling settings for MimeParser; every limit turns into a defect, never an exception.
namespace CprDesk.Mail.Mime;

public sealed class MimeParserOptions
{
    /// <summary>The parser never recurses deeper than this, whatever MaxDepth says, so a caller cannot configure a stack overflow.</summary>
    public const int HardDepthLimit = 256;

    internal static readonly MimeParserOptions Default = new();

    /// <summary>Nesting of multiparts and message parts; deeper containers are kept as leaves.</summary>
    public int MaxDepth { get; init; } = 20;

    /// <summary>Entities (parts of any kind) per parse; the rest of a multipart past the limit is kept as one leaf.</summary>
    public int MaxParts { get; init; } = 2000;

    /// <summary>Bytes per header block; further header bytes are discarded up to the blank line.</summary>
    public int MaxHeaderBytes { get; init; } = 256 * 1024;

    /// <summary>Header fields per header block; further fields are discarded.</summary>
    public int MaxHeaderCount { get; init; } = 2000;

    /// <summary>Decoded leaves larger than this are written to a temp file instead of memory.</summary>
    public long SpoolThresholdBytes { get; init; } = 1024 * 1024;

    /// <summary>Where spooled leaves go; null means Path.GetTempPath().</summary>
    public string? SpoolDirectory { get; init; }

    internal int EffectiveMaxDepth => Math.Clamp(MaxDepth, 0, HardDepthLimit);
}
