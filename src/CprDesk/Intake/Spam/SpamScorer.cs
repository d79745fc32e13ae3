// The spam scorer seam: spamd over SPAMC, or none. A score is a flag on a report, never a filter: nothing is
// dropped, delayed past the scorer's timeout, or kept from its clocks because of it.
using System.Globalization;
using CprDesk.Mail.Spam;

namespace CprDesk.Intake.Spam;

/// <summary><c>CprDesk:Spam</c>.</summary>
public sealed class SpamSettings
{
    public const string Section = "CprDesk:Spam";
    /// <summary>spamd's address as host:port; empty disables scoring.</summary>
    public string? Spamd { get; set; }
    /// <summary>Score at or above which a message is suspected spam; spamd's own threshold (required_score) when unset.</summary>
    public double? Threshold { get; set; }
    /// <summary>The whole exchange with spamd; past it the message is flagged unscored and intake carries on.</summary>
    public int TimeoutMs { get; set; } = 5000;
    /// <summary>Larger messages are not sent to spamd (unscored). spamc's default is 500 KB.</summary>
    public long MaxMessageBytes { get; set; } = 512 * 1024;
}

/// <summary>A scorer's answer for one message.</summary>
public sealed record SpamScore(bool Scored, double Score, double Threshold, IReadOnlyList<string> Rules, string? Error, TimeSpan Elapsed)
{
    public bool Suspected => Scored && Score >= Threshold;
}

/// <summary>disabled, up or down (with the last error), as of the last check or scoring.</summary>
public sealed record ScorerStatus(string State, string Scorer, string? LastError, DateTime? CheckedAt)
{
    public const string Disabled = "disabled";
    public const string Up = "up";
    public const string Down = "down";
    public const string Unknown = "unknown";
}

public interface ISpamScorer
{
    bool Enabled { get; }
    /// <summary>Which scorer, for the record (e.g. <c>spamd 127.0.0.1:783</c>).</summary>
    string Name { get; }
    ScorerStatus Status { get; }
    /// <summary>Never throws for a scorer fault: an unscored result says why.</summary>
    Task<SpamScore> ScoreAsync(ReadOnlyMemory<byte> message, CancellationToken ct = default);
    /// <summary>Asks the scorer whether it is up (health checks).</summary>
    Task<ScorerStatus> CheckAsync(CancellationToken ct = default);
}

/// <summary>No scorer configured: nothing is scored and nothing is flagged.</summary>
public sealed class NoSpamScorer : ISpamScorer
{
    public bool Enabled => false;
    public string Name => "none";
    public ScorerStatus Status { get; } = new(ScorerStatus.Disabled, "none", null, null);
    public Task<SpamScore> ScoreAsync(ReadOnlyMemory<byte> message, CancellationToken ct = default) =>
        Task.FromResult(new SpamScore(false, 0, 0, [], "no scorer configured", TimeSpan.Zero));
    public Task<ScorerStatus> CheckAsync(CancellationToken ct = default) => Task.FromResult(Status);
}

/// <summary>SpamAssassin's spamd over SPAMC/1.5 (SYMBOLS).</summary>
public sealed class SpamdScorer : ISpamScorer
{
    private readonly SpamcClient _client;
    private readonly SpamSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<SpamdScorer> _log;
    private volatile ScorerStatus _status;

    public SpamdScorer(SpamSettings settings, TimeProvider time, ILogger<SpamdScorer> log)
    {
        var (host, port) = ParseEndpoint(settings.Spamd!);
        if (settings.TimeoutMs <= 0) throw new InvalidOperationException($"{SpamSettings.Section}:TimeoutMs must be a positive number of milliseconds.");
        _client = new SpamcClient(new SpamcOptions
        {
            Host = host, Port = port, Timeout = TimeSpan.FromMilliseconds(settings.TimeoutMs), MaxMessageBytes = settings.MaxMessageBytes,
        });
        _settings = settings;
        _time = time;
        _log = log;
        Name = $"spamd {host}:{port}";
        _status = new ScorerStatus(ScorerStatus.Unknown, Name, null, null);
    }

    public bool Enabled => true;
    public string Name { get; }
    public ScorerStatus Status => _status;

    /// <summary>After spamd failed, messages are not sent to it for this long (they are flagged unscored at once), so a
    /// dead or stalled spamd costs one timeout, not one per message; the health check's ping or the next try after
    /// this pause finds it again.</summary>
    public static readonly TimeSpan PauseAfterFailure = TimeSpan.FromSeconds(30);

    public async Task<SpamScore> ScoreAsync(ReadOnlyMemory<byte> message, CancellationToken ct = default)
    {
        var status = _status;
        if (status is { State: ScorerStatus.Down, CheckedAt: { } failedAt } && _time.GetUtcNow().UtcDateTime - failedAt < PauseAfterFailure)
            return new SpamScore(false, 0, 0, [], $"spamd was down at {failedAt:yyyy-MM-dd HH:mm:ss}Z ({status.LastError}); not retried for {PauseAfterFailure.TotalSeconds:0} s", TimeSpan.Zero);
        var r = await _client.CheckAsync(message, ct);
        if (!r.Scored)
        {
            // A message too large to send says nothing about spamd's health.
            if (!r.Error!.Contains("scanning limit", StringComparison.Ordinal)) Set(ScorerStatus.Down, r.Error);
            _log.LogWarning("Spam scoring failed ({Scorer}): {Error}; the message is flagged unscored", Name, r.Error);
            return new SpamScore(false, 0, 0, [], r.Error, r.Elapsed);
        }
        Set(ScorerStatus.Up, null);
        return new SpamScore(true, r.Score, _settings.Threshold ?? r.Threshold, r.Rules, null, r.Elapsed);
    }

    public async Task<ScorerStatus> CheckAsync(CancellationToken ct = default)
    {
        var ping = await _client.PingAsync(ct);
        Set(ping.Up ? ScorerStatus.Up : ScorerStatus.Down, ping.Error);
        return _status;
    }

    private void Set(string state, string? error) => _status = new ScorerStatus(state, Name, error, _time.GetUtcNow().UtcDateTime);

    public static (string Host, int Port) ParseEndpoint(string value)
    {
        var v = value.Trim();
        var colon = v.LastIndexOf(':');
        // host:port; a bare host uses spamd's default port 783. [v6]:port keeps its brackets off the host.
        if (colon > 0 && v.IndexOf(']') < colon && int.TryParse(v[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
            return (v[..colon].Trim('[', ']'), port);
        if (colon < 0 || v.EndsWith(']')) return (v.Trim('[', ']'), 783);
        throw new InvalidOperationException($"{SpamSettings.Section}:Spamd must be host:port (e.g. 127.0.0.1:783), not '{value}'.");
    }
}
