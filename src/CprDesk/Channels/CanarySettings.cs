// Configuration of the channel checks (section CprDesk:Channels and CprDesk:Canary) and the canary token.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CprDesk.Channels;

/// <summary>Section CprDesk:Channels.</summary>
public sealed class ChannelSettings
{
    /// <summary>Our row in the CCADB CA Owner report.</summary>
    public string? CaOwnerName { get; set; }
    /// <summary>The CCADB CA Owner CSV report, re-read daily (a path; fetching it is left to cron or a sidecar).</summary>
    public string? CcadbCsv { get; set; }
    /// <summary>The CPS (Markdown, HTML or text), re-read daily.</summary>
    public string? CpsFile { get; set; }
}

/// <summary>Section CprDesk:Canary.</summary>
public sealed class CanarySettings
{
    /// <summary>Off unless enabled: canaries send real mail through a real relay.</summary>
    public bool Enabled { get; set; }
    /// <summary>The outside relay canaries are sent through (not our own outbound relay: the point is to come from outside).</summary>
    public Intake.Email.RelaySettings Relay { get; set; } = new();
    /// <summary>The sender mailbox's address: From of every canary, and where the acknowledgements come back.</summary>
    public string? From { get; set; }
    /// <summary>The sender mailbox as a local Maildir directory (Postfix virtual(8) delivers there). Exclusive with <see cref="Imap"/>.</summary>
    public string? Maildir { get; set; }
    /// <summary>The sender mailbox on an IMAP server (section CprDesk:Canary:Imap). Exclusive with <see cref="Maildir"/>.</summary>
    public CanaryImapSettings? Imap { get; set; }
    /// <summary>The checker failing to read the sender mailbox this long raises the alarm (once per outage).</summary>
    public TimeSpan CheckerAlarmAfter { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>No acknowledgement this long after sending: the canary is lost (Checkmk check_mail_loop's "lost" cut-off).</summary>
    public TimeSpan LostAfter { get; set; } = TimeSpan.FromHours(4);
    /// <summary>How often the checker looks (sends what is due, reads the mailbox, decides).</summary>
    public TimeSpan CheckEvery { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>The HMAC key for canary tokens; when unset a random key is kept in the data directory (keys/canary.key).</summary>
    public string? SecretEnvironmentVariable { get; set; }
    /// <summary>The EHLO name used towards the outside relay.</summary>
    public string HeloName { get; set; } = "localhost";

    /// <summary>Start-up validation with a message naming the setting. Canaries on need exactly one sender mailbox
    /// (without one no acknowledgement is ever seen and every run would be lost); off, at most one.</summary>
    public void Validate(IConfiguration configuration)
    {
        const string at = "CprDesk:Canary";
        var hasImap = configuration.GetSection(CanaryImapSettings.Section).GetChildren().Any();
        var hasMaildir = !string.IsNullOrWhiteSpace(Maildir);
        if (hasImap && hasMaildir) throw new InvalidOperationException($"{at}: set exactly one of Maildir and Imap (the sender mailbox is read one way).");
        if (Enabled && !hasImap && !hasMaildir)
            throw new InvalidOperationException($"{at}:Enabled is true but no sender mailbox is configured: set {at}:Imap:Host (and User, PasswordEnv) or {at}:Maildir.");
        if (Enabled && string.IsNullOrWhiteSpace(From)) throw new InvalidOperationException($"{at}:From (the sender mailbox address) is required when canaries are enabled.");
        if (hasImap) (Imap ?? new CanaryImapSettings()).Validate(configuration);
        if (LostAfter <= TimeSpan.Zero) throw new InvalidOperationException($"{at}:LostAfter must be positive.");
        if (CheckEvery <= TimeSpan.Zero) throw new InvalidOperationException($"{at}:CheckEvery must be positive.");
        if (CheckerAlarmAfter < TimeSpan.Zero) throw new InvalidOperationException($"{at}:CheckerAlarmAfter must not be negative.");
    }

    /// <summary>The configured sender mailbox, or null when none is.</summary>
    public ICanaryMailbox? Mailbox(string dataDirectory) =>
        Imap is { } imap && !string.IsNullOrWhiteSpace(imap.Host) ? new ImapCanaryMailbox(imap, Path.Combine(Path.GetFullPath(dataDirectory), "tmp"))
        : !string.IsNullOrWhiteSpace(Maildir) ? new MaildirMailbox(Maildir)
        : null;
}

/// <summary>A canary's token: the run id and an HMAC over it with a server secret. Only CprDesk can make one, and
/// intake honours it only for a run row still waiting for its report, so a real CPR cannot pass itself off as a
/// canary and be closed automatically.</summary>
public sealed partial class CanaryToken(byte[] secret)
{
    public string For(long runId) => $"cprdesk-canary-{runId}-{Mac(runId)}";

    /// <summary>The run id of the first well-formed token in <paramref name="raw"/>, and whether its MAC is ours.</summary>
    public (long RunId, bool Valid)? Find(ReadOnlySpan<byte> raw)
    {
        var text = Encoding.Latin1.GetString(raw.Length > 4 * 1024 * 1024 ? raw[..(4 * 1024 * 1024)] : raw);
        var m = TokenRegex().Match(text);
        if (!m.Success || !long.TryParse(m.Groups[1].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)) return null;
        var valid = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Mac(id)), Encoding.ASCII.GetBytes(m.Groups[2].Value.ToLowerInvariant()));
        return (id, valid);
    }

    private string Mac(long runId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes($"cprdesk canary run {runId}")))[..40];

    public static CanaryToken Load(CanarySettings settings, string dataDirectory)
    {
        if (settings.SecretEnvironmentVariable is { } env && Environment.GetEnvironmentVariable(env) is { Length: >= 16 } fromEnv)
            return new CanaryToken(Encoding.UTF8.GetBytes(fromEnv));
        var dir = Path.Combine(Path.GetFullPath(dataDirectory), "keys");
        var path = Path.Combine(dir, "canary.key");
        if (!File.Exists(path))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
            else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var key = RandomNumberGenerator.GetBytes(32);
            var tmp = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(tmp, []);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.WriteAllBytes(tmp, key);
            try
            {
                File.Move(tmp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(tmp); // another process made it first: use theirs
            }
        }
        return new CanaryToken(File.ReadAllBytes(path));
    }

    [GeneratedRegex(@"cprdesk-canary-(\d{1,18})-([0-9a-fA-F]{40})\b")]
    private static partial Regex TokenRegex();
}
