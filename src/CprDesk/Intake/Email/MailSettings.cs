namespace CprDesk.Intake.Email;

/// <summary>Mail settings (section CprDesk:Mail and CprDesk:Smtp).</summary>
public sealed class MailSettings
{
    /// <summary>The address our mail comes from; also the domain of our Message-IDs.</summary>
    public string From { get; set; } = "cpr-desk@localhost";
    public string FromName { get; set; } = "Certificate Problem Reports";
    /// <summary>The SMTP relay for outbound mail. Empty: write .eml files to data/outbox/ instead (development).</summary>
    public RelaySettings Relay { get; set; } = new();
    /// <summary>Acknowledgements to one address per hour at most (RFC 3834 §2: avoid mail storms).</summary>
    public int AcknowledgementsPerAddressPerHour { get; set; } = 10;
    /// <summary>Host names of relays whose Received: headers we trust for the receipt time (the "by" host).</summary>
    public List<string> TrustedRelays { get; set; } = [];
    public SmtpListenerSettings Listener { get; set; } = new();

    /// <summary>While mail is still arriving (a message committed within <c>Database.IntakeBusyWindow</c>), turning
    /// stored mail into reports gives way to intake: after each batch it pauses so that it runs about this share of the
    /// time (0.1: a tenth), and a burst is committed and answered 250 first, its reports made right after. It never
    /// stops (a long flood still gets this share), and it gives way no more once the next queued message has waited
    /// <c>IntakePipeline.MaxGiveWayAge</c> (30 s). 1 = never give way.</summary>
    public double ProcessingShareWhileReceiving { get; set; } = 0.1;

    public void Validate()
    {
        if (double.IsNaN(ProcessingShareWhileReceiving) || ProcessingShareWhileReceiving is < 0.05 or > 1)
            throw new InvalidOperationException("CprDesk:Mail:ProcessingShareWhileReceiving must be between 0.05 and 1 (1 = processing never gives way to intake).");
    }
}

public sealed class RelaySettings
{
    public string? Host { get; set; }
    public int Port { get; set; } = 25;
    /// <summary>None, StartTlsWhenAvailable, StartTlsRequired, Implicit.</summary>
    public string Tls { get; set; } = "StartTlsWhenAvailable";
    public string? Username { get; set; }
    /// <summary>Read from this environment variable, never from a file in the repository.</summary>
    public string? PasswordEnvironmentVariable { get; set; }
    public bool AcceptAnyCertificate { get; set; }
}

public sealed class SmtpListenerSettings
{
    public bool Enabled { get; set; } = true;
    /// <summary>Semicolon-separated host:port pairs.</summary>
    public string Endpoints { get; set; } = "127.0.0.1:2525";
    public string HostName { get; set; } = "localhost";
    /// <summary>The CPR addresses accepted (others get 550), semicolon-separated.</summary>
    public string Addresses { get; set; } = "cpr@localhost";
    public bool CatchAll { get; set; }
    public long MaxMessageBytes { get; set; } = 50L * 1024 * 1024;
    public int MaxRecipients { get; set; } = 100;
    public int MaxConnections { get; set; } = 100;
    /// <summary>A PFX for STARTTLS; when unset a self-signed development certificate is created in the data directory.</summary>
    public string? CertificatePath { get; set; }
    public string? CertificatePasswordEnvironmentVariable { get; set; }

    public IReadOnlyList<string> AddressList => Addresses.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
