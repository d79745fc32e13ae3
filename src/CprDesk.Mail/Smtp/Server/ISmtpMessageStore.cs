// The application's side of the SMTP server: it decides recipients and its commit is the reply to DATA.
namespace CprDesk.Mail.Smtp;

/// <summary>
/// Where accepted mail goes. The server relays the store's answers to the client as they are:
/// in particular it says 250 to the end of DATA only when <see cref="SaveAsync"/> returned 250,
/// so the store must return 250 only after the message is durably committed.
/// </summary>
public interface ISmtpMessageStore
{
    /// <summary>
    /// Called for each RCPT TO. Return 250 (or 251) to accept, a 5xx such as 550 5.1.1 to refuse,
    /// a 4xx to refuse for now. If it throws, the client gets 451 4.3.0 for that recipient.
    /// </summary>
    ValueTask<SmtpReply> CheckRecipientAsync(SmtpSessionInfo session, string mailFrom, string recipient, CancellationToken ct);

    /// <summary>
    /// Called at the end of DATA; its reply is the reply to the client. The message (and its
    /// spooled bytes) is disposed by the server when this returns: copy what you keep.
    /// If it throws, or returns anything but a 250 or a well-formed 4xx/5xx, the client gets 451 4.3.0.
    /// <paramref name="ct"/> is cancelled only when the server is stopped without grace.
    /// </summary>
    ValueTask<SmtpReply> SaveAsync(SmtpIncomingMessage message, CancellationToken ct);
}
