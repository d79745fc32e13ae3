// Relays one message to one SMTP server (RFC 5321) and reports the server's own reply for each step and recipient.
using CprDesk.Mail.Outgoing;
using CprDesk.Mail.Smtp.Client;

namespace CprDesk.Mail.Smtp;

public sealed class SmtpClient
{
    private SmtpClient()
    {
    }

    /// <summary>Sends <paramref name="message"/> (RFC 5322 bytes, CRLF line ends) in one SMTP transaction.
    /// Network, TLS and timeout problems come back as a result with Code 0, never as exceptions; only bad
    /// arguments throw (<see cref="ArgumentException"/>), and cancellation through <paramref name="ct"/> throws
    /// <see cref="OperationCanceledException"/> as usual.</summary>
    /// <param name="mailFrom">The reverse-path; "" sends the null path &lt;&gt; (RFC 5321 §4.5.5, for bounces
    /// and auto-replies).</param>
    public static async Task<SmtpSendResult> SendAsync(
        SmtpRelayOptions relay,
        string mailFrom,
        IReadOnlyList<string> recipients,
        ReadOnlyMemory<byte> message,
        CancellationToken ct = default)
    {
        Validate(relay, mailFrom, recipients);
        var data = DataTransfer.Prepare(message.Span);
        if (data.LongestLine > DataTransfer.MaxLineOctets)
            throw new ArgumentException(
                $"The message has a line of {data.LongestLine} octets; SMTP allows at most {DataTransfer.MaxLineOctets} (RFC 5321 §4.5.3.1.6).",
                nameof(message));
        ct.ThrowIfCancellationRequested();
        return await new RelaySession(relay, recipients, ct).RunAsync(mailFrom, data).ConfigureAwait(false);
    }

    private static void Validate(SmtpRelayOptions relay, string mailFrom, IReadOnlyList<string> recipients)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(mailFrom);
        ArgumentNullException.ThrowIfNull(recipients);
        if (string.IsNullOrWhiteSpace(relay.Host) || relay.Host.Any(c => c <= ' ' || c > '~'))
            throw new ArgumentException("Host must be a host name or address without spaces.", nameof(relay));
        if (relay.Port is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(relay), relay.Port, "Port must be 1 to 65535.");
        if (relay.Timeout <= TimeSpan.Zero || relay.Timeout.TotalMilliseconds > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(relay), relay.Timeout, "Timeout must be positive and under 24 days.");
        if (!Enum.IsDefined(relay.Tls))
            throw new ArgumentOutOfRangeException(nameof(relay), relay.Tls, "Unknown TLS mode.");
        MailSyntax.RequireNoLineBreak(relay.HeloName, "HeloName");
        if (string.IsNullOrEmpty(relay.HeloName) || !MailSyntax.IsDomain(relay.HeloName))
            throw new ArgumentException(
                $"HeloName '{relay.HeloName}' is neither a domain name nor an address literal (RFC 5321 §4.1.1.1); set it explicitly.",
                nameof(relay));
        if ((relay.Username is null) != (relay.Password is null))
            throw new ArgumentException("Username and Password go together: give both or neither.", nameof(relay));
        if (relay.Username is not null && (relay.Username.Length == 0 || relay.Username.Contains('\0') || relay.Password!.Contains('\0')))
            throw new ArgumentException("Username must be non-empty; neither it nor Password may contain NUL (RFC 4616).", nameof(relay));
        if (mailFrom.Length > 0) MailSyntax.RequireMailbox(mailFrom, nameof(mailFrom));
        if (recipients.Count == 0) throw new ArgumentException("At least one recipient is needed.", nameof(recipients));
        for (var i = 0; i < recipients.Count; i++) MailSyntax.RequireMailbox(recipients[i], $"recipients[{i}]");
    }
}
