// The SMTP listener inside `serve`: our store's answer is the reply to the end of DATA, so a 250 is only ever
// sent after the raw message and its envelope are committed. Processing (parse, thread, report) follows.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Intake.Email;
using CprDesk.Mail.Smtp;
using CprDesk.Storage;

namespace CprDesk.Intake.Smtp;

public sealed class SmtpIntakeStore(IntakePipeline intake, MailSettings mail, ILogger<SmtpIntakeStore> log) : ISmtpMessageStore
{
    public ValueTask<SmtpReply> CheckRecipientAsync(SmtpSessionInfo session, string mailFrom, string recipient, CancellationToken ct)
    {
        var listener = mail.Listener;
        var ok = listener.CatchAll || listener.AddressList.Contains(recipient, StringComparer.OrdinalIgnoreCase);
        if (!ok) log.LogWarning("Refused recipient {Recipient} from {Remote} (not a configured CPR address)", recipient, session.Remote);
        return ValueTask.FromResult(ok ? new SmtpReply(250, "2.1.5", "OK") : new SmtpReply(550, "5.1.1", "No such mailbox here; Certificate Problem Reports go to " + string.Join(", ", listener.AddressList)));
    }

    public async ValueTask<SmtpReply> SaveAsync(SmtpIncomingMessage message, CancellationToken ct)
    {
        long id;
        try
        {
            // One copy, of exactly the received length (the listener's size limit keeps it far below 2 GiB).
            var bytes = new byte[message.Length];
            await using (var stream = message.OpenRead())
                await stream.ReadExactlyAsync(bytes, ct);
            id = await intake.StoreRawAsync(new RawSubmission(IntakePipeline.EmailChannel, bytes, "message/rfc822", message.Session.Remote.ToString())
            {
                Sha256 = message.Sha256, // hashed by the listener over these very bytes as they arrived
                EnvelopeFrom = message.MailFrom, EnvelopeTo = message.Recipients, Helo = message.Session.HeloName,
                Tls = message.Session.Secure, ReceivedAt = message.ReceivedAt.UtcDateTime,
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError(ex, "Could not store a message from {Remote} ({Length} bytes, sha256 {Sha}); answered 451", message.Session.Remote, message.Length, message.Sha256);
            return new SmtpReply(451, "4.3.0", "Could not store the message; please try again later");
        }
        // Committed: now the answer can be 250. Processing runs after the reply; a crash here is recovered at start.
        intake.EnqueueProcessing(id);
        return new SmtpReply(250, "2.0.0", $"Stored as message {id}");
    }
}

/// <summary>Runs the SMTP server for the lifetime of the host.</summary>
public sealed class SmtpListenerService(MailSettings mail, SmtpIntakeStore store, Database database, TimeProvider time, ILogger<SmtpListenerService> log)
    : IHostedService, IAsyncDisposable
{
    private SmtpServer? _server;

    public IReadOnlyList<IPEndPoint> BoundEndpoints => _server?.BoundEndpoints ?? [];

    public async Task StartAsync(CancellationToken ct)
    {
        var l = mail.Listener;
        if (!l.Enabled) return;
        var options = new SmtpServerOptions
        {
            HostName = l.HostName, MaxMessageBytes = l.MaxMessageBytes, MaxRecipients = l.MaxRecipients, MaxConnections = l.MaxConnections,
            Certificate = LoadCertificate(l), TimeProvider = time,
            SpoolDirectory = Path.Combine(database.DataDirectory, "spool"),
        };
        foreach (var e in l.Endpoints.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IPEndPoint.TryParse(e, out var ep)) throw new InvalidOperationException($"CprDesk:Mail:Listener:Endpoints: '{e}' is not host:port (an IP address and a port).");
            options.Endpoints.Add(ep);
        }
        Directory.CreateDirectory(options.SpoolDirectory);
        _server = new SmtpServer(options, store, message => log.LogInformation("smtp: {Message}", message));
        await _server.StartAsync(ct);
        log.LogInformation("SMTP listener on {Endpoints} for {Addresses}", string.Join(", ", _server.BoundEndpoints), l.Addresses);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        if (_server is not null) await _server.StopAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private X509Certificate2 LoadCertificate(SmtpListenerSettings l)
    {
        if (l.CertificatePath is { } path)
        {
            var password = l.CertificatePasswordEnvironmentVariable is { } env ? Environment.GetEnvironmentVariable(env) : null;
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        // Development: a self-signed certificate kept in the data directory so its fingerprint stays stable.
        var dev = Path.Combine(database.DataDirectory, "smtp-dev-cert.pfx");
        if (File.Exists(dev)) return X509CertificateLoader.LoadPkcs12FromFile(dev, null);
        var cert = DevelopmentCertificate.CreateSelfSigned(l.HostName);
        File.WriteAllBytes(dev, cert.Export(X509ContentType.Pfx));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dev, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return cert;
    }
}
