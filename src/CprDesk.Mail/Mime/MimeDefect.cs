// A problem found while parsing: the parser records it and carries on instead of throwing.
namespace CprDesk.Mail.Mime;

/// <summary>A defect found in the input. <see cref="Code"/> is stable kebab-case (see <see cref="DefectCodes"/>); Message is for people.</summary>
public sealed record MimeDefect(string Code, string Message);

/// <summary>The stable defect codes, so callers can match on them without typos.</summary>
public static class DefectCodes
{
    public const string BareLf = "bare-lf";
    public const string BareCr = "bare-cr";
    public const string NulByte = "nul-byte";
    public const string HeaderWithoutColon = "header-without-colon";
    public const string OrphanContinuation = "orphan-continuation";
    public const string HeaderTooLarge = "header-too-large";
    public const string TooManyHeaders = "too-many-headers";
    public const string EightBitHeader = "eight-bit-header";
    public const string InvalidEncodedWord = "invalid-encoded-word";
    public const string UnknownCharset = "unknown-charset";
    public const string InvalidDate = "invalid-date";
    public const string InvalidAddress = "invalid-address";
    public const string InvalidContentType = "invalid-content-type";
    public const string InvalidParameter = "invalid-parameter";
    public const string MissingBoundary = "missing-boundary";
    public const string UnterminatedBoundary = "unterminated-boundary";
    public const string MissingFirstBoundary = "missing-first-boundary";
    public const string InvalidBase64 = "invalid-base64";
    public const string MissingBase64Padding = "missing-base64-padding";
    public const string InvalidQuotedPrintable = "invalid-quoted-printable";
    public const string UnknownTransferEncoding = "unknown-transfer-encoding";
    public const string EncodedMessagePart = "encoded-message-part";
    public const string MaxDepth = "max-depth";
    public const string MaxParts = "max-parts";
    public const string InvalidMessageId = "invalid-message-id";
    public const string TruncatedText = "truncated-text";
}
