// Configured hosted mailboxes (CprDesk:Mail:Mailboxes:N:…). The password never sits in the configuration file:
// it comes from an environment variable or a secret file.
using CprDesk.Mail.Imap;

namespace CprDesk.Intake.Imap;

public sealed class MailboxSettings
{
    public const string Section = "CprDesk:Mail:Mailboxes";

    /// <summary>Our name for the mailbox (unique; shown on the dashboard, in metrics and alarms).</summary>
    public string Name { get; set; } = "";
    public string Host { get; set; } = "";
    /// <summary>Default 993 for Implicit, 143 otherwise.</summary>
    public int? Port { get; set; }
    public ImapTls Tls { get; set; } = ImapTls.Implicit;
    public string User { get; set; } = "";
    /// <summary>The environment variable holding the password.</summary>
    public string? PasswordEnv { get; set; }
    /// <summary>A file holding the password (first line; e.g. a systemd credential or a Kubernetes secret).</summary>
    public string? PasswordFile { get; set; }
    public int IntervalSeconds { get; set; } = 60;
    /// <summary>Use IDLE on INBOX between polls, when the server offers it, to poll sooner.</summary>
    public bool Idle { get; set; } = true;
    public int TimeoutSeconds { get; set; } = 60;
    /// <summary>Accept any server certificate (not for production).</summary>
    public bool AcceptAnyCertificate { get; set; }
    /// <summary>Server certificates accepted although they do not validate: SHA-1 or SHA-256 fingerprints, ';'-separated.</summary>
    public string? CertificateFingerprints { get; set; }
    /// <summary>Larger messages are not fetched; reconciliation raises the alarm for them so a person looks.</summary>
    public long MaxMessageBytes { get; set; } = 50L * 1024 * 1024;
    /// <summary>Folders treated as junk besides those with the \Junk special-use attribute, ';'-separated (last name segment, any case).</summary>
    public string JunkFolders { get; set; } = "Junk;Spam;Junk E-mail;Junk Email;Bulk Mail;Quarantine";

    public int EffectivePort => Port ?? (Tls == ImapTls.Implicit ? 993 : 143);
    public TimeSpan Interval => TimeSpan.FromSeconds(Math.Max(1, IntervalSeconds));

    public static List<MailboxSettings> Load(IConfiguration configuration)
    {
        var list = configuration.GetSection(Section).Get<List<MailboxSettings>>() ?? [];
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < list.Count; i++)
        {
            var m = list[i];
            var at = $"{Section}:{i}";
            if (string.IsNullOrWhiteSpace(m.Name)) throw new InvalidOperationException($"{at}:Name is required.");
            if (!names.Add(m.Name)) throw new InvalidOperationException($"{at}:Name: '{m.Name}' is used twice.");
            if (string.IsNullOrWhiteSpace(m.Host)) throw new InvalidOperationException($"{at}:Host is required.");
            if (string.IsNullOrWhiteSpace(m.User)) throw new InvalidOperationException($"{at}:User is required.");
            if (string.IsNullOrWhiteSpace(m.PasswordEnv) == string.IsNullOrWhiteSpace(m.PasswordFile))
                throw new InvalidOperationException($"{at}: set exactly one of PasswordEnv and PasswordFile (the password itself never goes in the configuration).");
            if (configuration[$"{at}:Password"] is not null)
                throw new InvalidOperationException($"{at}:Password: passwords are not read from the configuration; use PasswordEnv or PasswordFile.");
            if (m.IntervalSeconds < 1) throw new InvalidOperationException($"{at}:IntervalSeconds must be at least 1.");
        }
        return list;
    }

    /// <summary>Read at every connection, so a rotated secret is picked up without a restart.</summary>
    public string ReadPassword()
    {
        if (!string.IsNullOrWhiteSpace(PasswordEnv))
            return Environment.GetEnvironmentVariable(PasswordEnv) is { Length: > 0 } p ? p
                : throw new MailboxConfigurationException($"The environment variable {PasswordEnv} (PasswordEnv of mailbox {Name}) is not set.");
        try
        {
            using var reader = new StreamReader(PasswordFile!);
            return reader.ReadLine() is { Length: > 0 } line ? line : throw new MailboxConfigurationException($"The password file {PasswordFile} of mailbox {Name} is empty.");
        }
        catch (IOException ex)
        {
            throw new MailboxConfigurationException($"The password file {PasswordFile} of mailbox {Name} cannot be read: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MailboxConfigurationException($"The password file {PasswordFile} of mailbox {Name} cannot be read: {ex.Message}");
        }
    }

    public ImapClientOptions ClientOptions(string tempDirectory) => new()
    {
        Host = Host, Port = EffectivePort, Tls = Tls, AcceptAnyCertificate = AcceptAnyCertificate,
        TrustedCertificateFingerprints = (CertificateFingerprints ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Timeout = TimeSpan.FromSeconds(Math.Max(1, TimeoutSeconds)),
        Reader = new ImapReaderOptions
        {
            Timeout = TimeSpan.FromSeconds(Math.Max(1, TimeoutSeconds)),
            // The body of an allowed message must fit; bigger ones are found by SEARCH LARGER and never fetched.
            MaxLiteralBytes = MaxMessageBytes + 1024 * 1024, TempDirectory = tempDirectory,
        },
    };

    public bool IsJunk(ImapFolder folder)
    {
        if (folder.HasAttribute(@"\Junk")) return true;
        var last = folder.Delimiter is { } d ? folder.Name.Split(d)[^1] : folder.Name;
        return JunkFolders.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(last, StringComparer.OrdinalIgnoreCase);
    }
}

/// <summary>The mailbox cannot be polled because of its configuration (password missing): an operator must act.</summary>
public sealed class MailboxConfigurationException(string message) : Exception(message);
