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
    /// <summary>How the sender mailbox is read: a Maildir directory (IMAP comes with the IMAP client).</summary>
    public string? Maildir { get; set; }
    /// <summary>No acknowledgement this long after sending: the canary is lost (Checkmk check_mail_loop's "lost" cut-off).</summary>
    public TimeSpan LostAfter { get; set; } = TimeSpan.FromHours(4);
    /// <summary>How often the checker looks (sends what is due, reads the mailbox, decides).</summary>
    public TimeSpan CheckEvery { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>The HMAC key for canary tokens; when unset a random key is kept in the data directory (keys/canary.key).</summary>
    public string? SecretEnvironmentVariable { get; set; }
    /// <summary>The EHLO name used towards the outside relay.</summary>
    public string HeloName { get; set; } = "localhost";
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
