// IMAP errors sorted by what the caller can do about them (as MailKit does): a broken connection means reconnect;
// a refused command means the session is still good and the caller may carry on with the next command.
namespace CprDesk.Mail.Imap;

/// <summary>The connection is unusable: it closed, timed out, failed TLS, or the server broke the protocol.
/// Reconnect (later) and start again.</summary>
public class ImapConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>No answer within the timeout. The connection is closed; reconnect.</summary>
public sealed class ImapTimeoutException(string message) : ImapConnectionException(message);

/// <summary>The server sent something that is not IMAP (or exceeds our bounds). The connection is closed.</summary>
public sealed class ImapProtocolException(string message) : ImapConnectionException(message);

/// <summary>The server refused one command with NO or BAD. The session is still usable.</summary>
public sealed class ImapCommandException(string command, string status, string? code, string text)
    : Exception($"The server answered {command} with {status}{(code is null ? "" : $" [{code}]")}: {text}")
{
    public string Command { get; } = command;
    /// <summary>NO or BAD.</summary>
    public string Status { get; } = status;
    /// <summary>The response code (RFC 3501 §7.1), e.g. <c>AUTHENTICATIONFAILED</c>, when one was given.</summary>
    public string? Code { get; } = code;
    public string Text { get; } = text;
}
