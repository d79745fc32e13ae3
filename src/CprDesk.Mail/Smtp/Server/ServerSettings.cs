// A validated, immutable copy of SmtpServerOptions, and the server's log sink.
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace CprDesk.Mail.Smtp.Server;

internal sealed class ServerSettings
{
    /// <summary>RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.</summary>
    public const int MaxCommandLineOctets = 512;

    /// <summary>Syntax and sequence errors tolerated in one session before it is closed with 421.</summary>
    public const int MaxProtocolErrors = 20;

    private ServerSettings(SmtpServerOptions o, string spoolDirectory, SslStreamCertificateContext? tls)
    {
        Endpoints = [.. o.Endpoints];
        HostName = o.HostName;
        MaxMessageBytes = o.MaxMessageBytes;
        MaxRecipients = o.MaxRecipients;
        MaxConnections = o.MaxConnections;
        CommandTimeout = o.CommandTimeout;
        DataTimeout = o.DataTimeout;
        MemoryThresholdBytes = o.MemoryThresholdBytes;
        SpoolDirectory = spoolDirectory;
        TimeProvider = o.TimeProvider;
        Tls = tls;
    }

    public IReadOnlyList<IPEndPoint> Endpoints { get; }
    public string HostName { get; }
    public long MaxMessageBytes { get; }
    public int MaxRecipients { get; }
    public int MaxConnections { get; }
    public TimeSpan CommandTimeout { get; }
    public TimeSpan DataTimeout { get; }
    public long MemoryThresholdBytes { get; }
    public string SpoolDirectory { get; }
    public TimeProvider TimeProvider { get; }

    /// <summary>Built once so that each handshake does not rebuild the certificate chain; null: no STARTTLS.</summary>
    public SslStreamCertificateContext? Tls { get; }

    public static ServerSettings From(SmtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("At least one endpoint is needed.", nameof(options));
        }
        if (string.IsNullOrEmpty(options.HostName) || options.HostName.Any(c => c is <= ' ' or > '~'))
        {
            throw new ArgumentException("HostName must be printable ASCII without spaces.", nameof(options));
        }
        Positive(options.MaxMessageBytes, nameof(options.MaxMessageBytes));
        Positive(options.MaxRecipients, nameof(options.MaxRecipients));
        Positive(options.MaxConnections, nameof(options.MaxConnections));
        Positive(options.CommandTimeout.Ticks, nameof(options.CommandTimeout));
        Positive(options.DataTimeout.Ticks, nameof(options.DataTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MemoryThresholdBytes, nameof(options.MemoryThresholdBytes));
        // The in-memory part of a message is one array.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MemoryThresholdBytes, Array.MaxLength / 2, nameof(options.MemoryThresholdBytes));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));

        SslStreamCertificateContext? tls = null;
        if (options.Certificate is { } certificate)
        {
            if (!certificate.HasPrivateKey)
            {
                throw new ArgumentException("The certificate has no private key.", nameof(options));
            }
            tls = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        }

        string spool;
        if (options.SpoolDirectory is { } dir)
        {
            spool = Path.GetFullPath(dir);
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(spool);
            }
            else
            {
                Directory.CreateDirectory(spool, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        else
        {
            spool = Path.GetTempPath();
        }
        return new ServerSettings(options, spool, tls);
    }

    private static void Positive(long value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}

/// <summary>The log callback, guarded: a failing logger must not take a session or the accept loop down.</summary>
internal sealed class ServerLog(Action<string>? sink)
{
    public void Write(string message)
    {
        if (sink is null)
        {
            return;
        }
        try
        {
            sink(message);
        }
        catch (Exception)
        {
            // Deliberately swallowed: logging is best effort, mail handling is not.
        }
    }
}

/// <summary>
/// One timer per session, armed around each network read or write. When it fires, its token is cancelled,
/// which aborts the pending socket operation; the session then says 421 4.4.2 and closes.
/// </summary>
internal sealed class SessionWatchdog : IDisposable
{
    private readonly CancellationTokenSource _expired = new();
    private readonly ITimer _timer;

    public SessionWatchdog(TimeProvider time)
    {
        _timer = time.CreateTimer(static state => Expire((CancellationTokenSource)state!), _expired, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public CancellationToken Token => _expired.Token;

    public bool HasExpired => _expired.IsCancellationRequested;

    public void Arm(TimeSpan timeout) => _timer.Change(timeout, Timeout.InfiniteTimeSpan);

    public void Disarm() => _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        _timer.Dispose();
        _expired.Dispose();
    }

    private static void Expire(CancellationTokenSource expired)
    {
        try
        {
            expired.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The timer can fire while the session is being disposed; an exception here would end the process.
        }
    }
}
