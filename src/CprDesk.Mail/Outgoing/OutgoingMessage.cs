// The message CprDesk sends: plain data, turned into RFC 5322/MIME bytes by MessageWriter.
namespace CprDesk.Mail.Outgoing;

/// <summary>A mailbox: optional display name (any Unicode) and an ASCII addr-spec such as <c>alice@example.com</c>
/// or <c>"john doe"@example.com</c>.</summary>
public sealed record OutgoingAddress(string? DisplayName, string Address);

/// <summary>A file sent as a base64 part of a multipart/mixed message. <paramref name="ContentType"/> is
/// <c>type/subtype</c>, optionally followed by parameters (<c>; name=value</c>).</summary>
public sealed record OutgoingAttachment(string FileName, string ContentType, byte[] Content);

public sealed class OutgoingMessage
{
    public required OutgoingAddress From { get; init; }
    public required IReadOnlyList<OutgoingAddress> To { get; init; }
    public IReadOnlyList<OutgoingAddress> Cc { get; init; } = [];
    public OutgoingAddress? ReplyTo { get; init; }
    public required string Subject { get; init; }

    /// <summary>Plain text; any of CRLF, CR or LF ends a line (all are written as CRLF).</summary>
    public required string TextBody { get; init; }

    /// <summary>Without angle brackets, e.g. <c>cpr-2026-000042.ack.1a2b@cprdesk.example</c>.</summary>
    public required string MessageId { get; init; }

    /// <summary>Without angle brackets.</summary>
    public string? InReplyTo { get; init; }

    /// <summary>Message ids without angle brackets, oldest first (RFC 5322 §3.6.4).</summary>
    public IReadOnlyList<string> References { get; init; } = [];

    /// <summary>The origination date; defaults to the moment the object was created.</summary>
    public DateTimeOffset Date { get; init; } = DateTimeOffset.Now;

    /// <summary>Further header fields, written after the standard ones in this order (e.g. Auto-Submitted,
    /// X-CPR-Ticket). Values are treated as unstructured text: non-ASCII becomes RFC 2047 encoded-words.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders { get; init; } = [];

    public IReadOnlyList<OutgoingAttachment> Attachments { get; init; } = [];
}
