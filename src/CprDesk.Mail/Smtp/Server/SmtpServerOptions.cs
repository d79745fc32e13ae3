// Settings of an SmtpServer; read once when the server is constructed.
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace CprDesk.Mail.Smtp;

/// <summary>Settings of an <see cref="SmtpServer"/>. The server takes a copy when it is constructed.</summary>
public sealed class SmtpServerOptions
{
    /// <summary>Addresses to listen on, e.g. 127.0.0.1:2525; port 0 picks a free port (see <see cref="SmtpServer.BoundEndpoints"/>).</summary>
    public IList<IPEndPoint> Endpoints { get; } = [];

    /// <summary>Our name in the 220 greeting, the EHLO reply and the Received trace line.</summary>
    public string HostName { get; set; } = "localhost";

    /// <summary>Largest message accepted, advertised as SIZE (RFC 1870); larger ones get 552 5.3.4.</summary>
    public long MaxMessageBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Recipients per transaction; more get 452 4.5.3 (RFC 5321 §4.5.3.1.10 says at least 100).</summary>
    public int MaxRecipients { get; set; } = 100;

    /// <summary>Concurrent sessions; a connection over this gets 421 4.7.0 and is closed.</summary>
    public int MaxConnections { get; set; } = 100;

    /// <summary>How long the server waits for a command line (and for each reply write); then 421 4.4.2.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the server waits for each block of message data while in DATA (RFC 5321 §4.5.3.2.6); then 421 4.4.2.</summary>
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Certificate with private key; when set, STARTTLS (RFC 3207) is offered.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Message bodies larger than this are spooled to a temporary file while they are received.</summary>
    public long MemoryThresholdBytes { get; set; } = 1024 * 1024;

    /// <summary>Directory for spool files (created owner-only if missing); the system temp directory when null.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Clock for ReceivedAt and for the timeouts.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
