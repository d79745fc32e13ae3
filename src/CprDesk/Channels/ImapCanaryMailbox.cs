// The sender mailbox read over IMAP with our read-only client (EXAMINE, UID SEARCH, BODY.PEEK): the canary checker
// looks for acknowledgements without marking, moving or deleting anything, so a person reading the same mailbox sees
// it as before.
using CprDesk.Intake.Imap;
using CprDesk.Mail.Imap;
using CprDesk.Mail.Mime;

namespace CprDesk.Channels;

/// <summary>Section <c>CprDesk:Canary:Imap</c>: the sender mailbox on an IMAP server. The connection settings mean what
/// they mean for a polled mailbox (<see cref="MailboxSettings"/>); the password never sits in the configuration.</summary>
public sealed class CanaryImapSettings
{
    public const string Section = "CprDesk:Canary:Imap";

    public string Host { get; set; } = "";
    /// <summary>Default 993 for Implicit, 143 otherwise.</summary>
    public int? Port { get; set; }
    /// <summary>Implicit (IMAPS), StartTls, or None (loopback or a trusted tunnel only).</summary>
    public ImapTls Tls { get; set; } = ImapTls.Implicit;
    public string User { get; set; } = "";
    /// <summary>The environment variable holding the password.</summary>
    public string? PasswordEnv { get; set; }
    /// <summary>A file holding the password (first line).</summary>
    public string? PasswordFile { get; set; }
    /// <summary>Server certificates accepted although they do not validate: SHA-1 or SHA-256 fingerprints, ';'-separated.</summary>
    public string? CertificateFingerprints { get; set; }
    /// <summary>Accept any server certificate (not for production).</summary>
    public bool AcceptAnyCertificate { get; set; }
    /// <summary>The folder acknowledgements arrive in.</summary>
    public string Folder { get; set; } = "INBOX";
    public int TimeoutSeconds { get; set; } = 30;
    /// <summary>Larger messages are not acknowledgements: found by SEARCH LARGER and never fetched.</summary>
    public long MaxMessageBytes { get; set; } = MaildirMailbox.MaxMessageBytes;
    /// <summary>At most this many messages (the newest) are fetched per check.</summary>
    public int MaxMessages { get; set; } = 200;

    /// <summary>The same settings as a polled mailbox's, for its password reading and client options.</summary>
    public MailboxSettings AsMailbox() => new()
    {
        Name = "canary-sender", Host = Host, Port = Port, Tls = Tls, User = User, PasswordEnv = PasswordEnv, PasswordFile = PasswordFile,
        CertificateFingerprints = CertificateFingerprints, AcceptAnyCertificate = AcceptAnyCertificate, TimeoutSeconds = TimeoutSeconds,
        MaxMessageBytes = MaxMessageBytes,
    };

    /// <summary>Start-up validation: a clear message naming the setting, or nothing.</summary>
    public void Validate(IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new InvalidOperationException($"{Section}:Host is required.");
        if (Port is < 1 or > 65535) throw new InvalidOperationException($"{Section}:Port must be between 1 and 65535.");
        if (string.IsNullOrWhiteSpace(User)) throw new InvalidOperationException($"{Section}:User is required.");
        if (string.IsNullOrWhiteSpace(PasswordEnv) == string.IsNullOrWhiteSpace(PasswordFile))
            throw new InvalidOperationException($"{Section}: set exactly one of PasswordEnv and PasswordFile (the password itself never goes in the configuration).");
        if (configuration[$"{Section}:Password"] is not null)
            throw new InvalidOperationException($"{Section}:Password: passwords are not read from the configuration; use PasswordEnv or PasswordFile.");
        if (string.IsNullOrWhiteSpace(Folder)) throw new InvalidOperationException($"{Section}:Folder must name a folder (default INBOX).");
        if (TimeoutSeconds < 1) throw new InvalidOperationException($"{Section}:TimeoutSeconds must be at least 1.");
        if (MaxMessageBytes < 1024) throw new InvalidOperationException($"{Section}:MaxMessageBytes must be at least 1024.");
        if (MaxMessages < 1) throw new InvalidOperationException($"{Section}:MaxMessages must be at least 1.");
    }
}

public sealed class ImapCanaryMailbox(CanaryImapSettings settings, string tempDirectory) : ICanaryMailbox
{
    private readonly MailboxSettings _connection = settings.AsMailbox();

    public string Name => $"imap:{settings.User}@{settings.Host}:{_connection.EffectivePort}/{settings.Folder}";

    public async Task<IReadOnlyList<MailboxMessage>> ReadSinceAsync(DateTime sinceUtc, CancellationToken ct)
    {
        ImapClient? client = null;
        try
        {
            Directory.CreateDirectory(tempDirectory);
            client = await ImapClient.ConnectAsync(_connection.ClientOptions(tempDirectory), ct);
            await client.AuthenticateAsync(settings.User, _connection.ReadPassword(), ct);
            var state = await client.ExamineAsync(settings.Folder, ct);
            if (state.Exists == 0)
            {
                await client.LogoutAsync(ct);
                return [];
            }
            // SEARCH SINCE compares dates in the server's zone: a day earlier covers any zone; INTERNALDATE filters below.
            var since = await client.UidSearchSinceAsync(DateOnly.FromDateTime(sinceUtc).AddDays(-1), ct);
            var tooLarge = (await client.UidSearchLargerAsync(settings.MaxMessageBytes, ct)).ToHashSet();
            // UIDs ascend with arrival (RFC 3501 §2.3.1.1): the newest are the last ones.
            var wanted = since.Where(u => !tooLarge.Contains(u)).TakeLast(settings.MaxMessages).ToList();
            var found = new List<MailboxMessage>();
            foreach (var uid in wanted)
            {
                using var message = await client.FetchAsync(uid, ct);
                if (message is null) continue; // expunged since the search
                var receivedAt = message.InternalDate?.UtcDateTime;
                if (receivedAt is { } at && at < sinceUtc) continue;
                using var mime = MimeParser.Parse(message.Body.ToArray());
                found.Add(new MailboxMessage($"{state.UidValidity}:{uid}", receivedAt ?? sinceUtc, mime.Subject, mime.From.FirstOrDefault()?.Address,
                    mime.Headers["X-CPR-Ticket"]?.Trim(), mime.TextBody ?? ""));
            }
            await client.LogoutAsync(ct);
            return found.OrderBy(m => m.ReceivedAt).ToList();
        }
        catch (Exception ex) when (ex is ImapConnectionException or ImapCommandException or MailboxConfigurationException && !ct.IsCancellationRequested)
        {
            throw new CanaryMailboxException($"The sender mailbox {Name} could not be read: {ex.Message}", ex);
        }
        finally
        {
            if (client is not null) await client.DisposeAsync();
        }
    }
}
