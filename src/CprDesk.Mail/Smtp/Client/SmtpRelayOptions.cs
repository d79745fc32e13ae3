// Where and how SmtpClient relays outgoing mail: host, TLS policy, credentials, timeouts.
namespace CprDesk.Mail.Smtp;

public enum SmtpTlsMode
{
    /// <summary>Plain text throughout; STARTTLS is never attempted.</summary>
    None,

    /// <summary>STARTTLS if the server advertises it (opportunistic, RFC 3207), else plain text.</summary>
    StartTlsWhenAvailable,

    /// <summary>STARTTLS or nothing: no command after EHLO is sent in plain text.</summary>
    StartTlsRequired,

    /// <summary>TLS from the first byte (submissions port 465, RFC 8314 §3.3).</summary>
    Implicit,
}

public sealed class SmtpRelayOptions
{
    public required string Host { get; init; }
    public int Port { get; init; } = 25;
    public SmtpTlsMode Tls { get; init; } = SmtpTlsMode.StartTlsWhenAvailable;

    /// <summary>With <see cref="Password"/>: AUTH PLAIN, or AUTH LOGIN if that is all the server offers
    /// (RFC 4954). Sent only over TLS unless <see cref="AllowAuthWithoutTls"/>.</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }
    public bool AllowAuthWithoutTls { get; init; }

    /// <summary>Skips certificate validation. For tests and development only: it makes TLS useless against an
    /// active attacker.</summary>
    public bool AcceptAnyCertificate { get; init; }

    /// <summary>The name given in EHLO/HELO: a domain name or an address literal such as [192.0.2.1].</summary>
    public string HeloName { get; init; } = System.Net.Dns.GetHostName();

    /// <summary>The longest wait for any one step: connecting, the TLS handshake, each reply, each write.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}
