// A message received by the SMTP server, handed to the store at the end of DATA.
namespace CprDesk.Mail.Smtp;

/// <summary>
/// A message at the end of DATA: the envelope, and the exact bytes received after dot-unstuffing
/// (RFC 5321 §4.5.2). The bytes end with the CRLF of the last line; the ".CRLF" terminator line
/// is not part of them (RFC 5321 §4.1.1.4: the CRLF before the dot ends the previous line).
/// The server disposes the message when <see cref="ISmtpMessageStore.SaveAsync"/> returns.
/// </summary>
public sealed class SmtpIncomingMessage : IAsyncDisposable
{
    private readonly Server.MessageContent _content;

    internal SmtpIncomingMessage(
        string id,
        SmtpSessionInfo session,
        string mailFrom,
        IReadOnlyList<string> recipients,
        bool eightBitMime,
        long declaredSize,
        DateTimeOffset receivedAt,
        string receivedHeader,
        long length,
        string sha256,
        Server.MessageContent content)
    {
        Id = id;
        Session = session;
        MailFrom = mailFrom;
        Recipients = recipients;
        EightBitMime = eightBitMime;
        DeclaredSize = declaredSize;
        ReceivedAt = receivedAt;
        ReceivedHeader = receivedHeader;
        Length = length;
        Sha256 = sha256;
        _content = content;
    }

    /// <summary>The server's identifier of this transaction (also in <see cref="ReceivedHeader"/> and the log).</summary>
    public string Id { get; }

    public SmtpSessionInfo Session { get; }

    /// <summary>The reverse-path; "" for the null sender &lt;&gt;.</summary>
    public string MailFrom { get; }

    /// <summary>The accepted recipients, in order, without duplicates.</summary>
    public IReadOnlyList<string> Recipients { get; }

    /// <summary>True when MAIL FROM carried BODY=8BITMIME (RFC 6152).</summary>
    public bool EightBitMime { get; }

    /// <summary>The SIZE= the client declared on MAIL FROM (RFC 1870), or 0.</summary>
    public long DeclaredSize { get; }

    /// <summary>When the end of DATA was read, from the server's TimeProvider.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>
    /// The trace field this server would prepend (RFC 5321 §4.4), "Received: ...CRLF" folded.
    /// It is not part of the bytes, so that <see cref="Sha256"/> is the hash of exactly what the client sent;
    /// a store that relays or exports the message puts it in front.
    /// </summary>
    public string ReceivedHeader { get; }

    /// <summary>Number of bytes after dot-unstuffing, without the terminating ".CRLF" line.</summary>
    public long Length { get; }

    /// <summary>Lower-case hex SHA-256 of exactly those bytes, computed while they were received.</summary>
    public string Sha256 { get; }

    /// <summary>A new read-only stream over the bytes (from memory or the spool file); callable more than once.</summary>
    public Stream OpenRead() => _content.OpenRead();

    public ValueTask DisposeAsync() => _content.DisposeAsync();
}
