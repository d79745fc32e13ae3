// What is known about one SMTP connection at a given moment.
using System.Net;

namespace CprDesk.Mail.Smtp;

/// <summary>
/// What is known about an SMTP connection: the peers, the HELO/EHLO name the client gave
/// (null before it gave one, and again after STARTTLS, RFC 3207 §4.2) and whether TLS is in use.
/// </summary>
public sealed record SmtpSessionInfo(IPEndPoint Remote, IPEndPoint Local, string? HeloName, bool Secure, string? TlsProtocol);
