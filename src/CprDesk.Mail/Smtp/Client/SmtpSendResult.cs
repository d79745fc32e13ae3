// What happened to one SendAsync: the overall outcome and each recipient's own reply.
namespace CprDesk.Mail.Smtp;

/// <summary>The server's reply to RCPT TO for one recipient. <see cref="Code"/> is 0 when no reply was had (the
/// session ended before this recipient was offered, or on a network error); <see cref="Reply"/> then says why.</summary>
public sealed record SmtpRecipientResult(string Recipient, bool Accepted, int Code, string Reply);

/// <param name="Delivered">The server accepted the message data for at least one recipient.</param>
/// <param name="Permanent">The deciding reply was a 5xx (or a local refusal that retrying cannot fix):
/// do not retry as is.</param>
/// <param name="Code">The deciding reply's code; 0 if the failure was local or on the network.</param>
/// <param name="Reply">The deciding reply as received (lines joined with "\n", each starting with its code),
/// or the description of a local or network failure.</param>
/// <param name="Recipients">One entry per recipient, in the order given.</param>
public sealed record SmtpSendResult(
    bool Delivered,
    bool Permanent,
    int Code,
    string Reply,
    IReadOnlyList<SmtpRecipientResult> Recipients);
