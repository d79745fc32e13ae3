// A client for SpamAssassin's spamd over its SPAMC/1.5 protocol (the protocol spamc speaks; spamd's
// PROTOCOL file). One connection per request. It never throws for anything the server does: a refused,
// dropped, stalled or garbled exchange is an "unscored" result that says why.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace CprDesk.Mail.Spam;

/// <summary>What spamd said about a message, or why it said nothing usable.</summary>
/// <param name="Scored">False when the exchange failed; <see cref="Error"/> says why and the numbers are zero.</param>
/// <param name="IsSpam">spamd's own verdict (score at or above its threshold).</param>
/// <param name="Rules">Names of the rules hit (SYMBOLS), in spamd's order.</param>
public sealed record SpamCheckResult(bool Scored, bool IsSpam, double Score, double Threshold, IReadOnlyList<string> Rules, string? Error, TimeSpan Elapsed)
{
    public static SpamCheckResult Unscored(string error, TimeSpan elapsed) => new(false, false, 0, 0, [], error, elapsed);
}

/// <summary>The answer to PING: whether spamd is there and answering the protocol.</summary>
public sealed record SpamPingResult(bool Up, string? Error, TimeSpan Elapsed);

public sealed class SpamcOptions
{
    public required string Host { get; init; }
    public required int Port { get; init; }
    /// <summary>The whole exchange (connect, send, scan, answer) must finish within this.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Larger messages are not sent (spamc's own default is 500 KB): scanning them is slow and
    /// large mail with attachments is rarely spam. The result is unscored, saying so.</summary>
    public long MaxMessageBytes { get; init; } = 512 * 1024;
    /// <summary>A SYMBOLS answer is a status line, two headers and a list of rule names: far below this.</summary>
    public int MaxResponseBytes { get; init; } = 64 * 1024;
}

public sealed class SpamcClient(SpamcOptions options)
{
    public SpamcOptions Options => options;

    /// <summary>Sends the message with SYMBOLS and returns score, threshold and rules hit. Only the caller's own
    /// cancellation escapes as an exception; every server fault is an unscored result.</summary>
    public async Task<SpamCheckResult> CheckAsync(ReadOnlyMemory<byte> message, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        if (message.Length > options.MaxMessageBytes)
            return SpamCheckResult.Unscored($"message of {message.Length} bytes is larger than the {options.MaxMessageBytes}-byte scanning limit", clock.Elapsed);
        var header = Encoding.ASCII.GetBytes($"SYMBOLS SPAMC/1.5\r\nContent-length: {message.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n");
        var (response, error) = await ExchangeAsync(header, message, ct);
        if (error is not null) return SpamCheckResult.Unscored(error, clock.Elapsed);
        return Parse(response!, clock.Elapsed);
    }

    /// <summary>PING: is spamd up and speaking SPAMC?</summary>
    public async Task<SpamPingResult> PingAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var (response, error) = await ExchangeAsync("PING SPAMC/1.5\r\n\r\n"u8.ToArray(), ReadOnlyMemory<byte>.Empty, ct);
        if (error is not null) return new SpamPingResult(false, error, clock.Elapsed);
        var status = StatusLine(response!, out _);
        if (status is null) return new SpamPingResult(false, "the answer to PING is not a SPAMD status line: " + Printable(response!, 80), clock.Elapsed);
        return status.Value.Code == 0 && status.Value.Message.Contains("PONG", StringComparison.Ordinal)
            ? new SpamPingResult(true, null, clock.Elapsed)
            : new SpamPingResult(false, $"spamd answered PING with {status.Value.Code} {status.Value.Message}", clock.Elapsed);
    }

    /// <summary>Connects, writes, and reads until the server closes or the response limit is reached, all within
    /// the timeout. Returns the bytes read, or an error text.</summary>
    private async Task<(byte[]? Response, string? Error)> ExchangeAsync(byte[] header, ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.Timeout);
        var stage = "connecting to";
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(options.Host, options.Port, deadline.Token);
            stage = "sending to";
            await socket.SendAsync(header, SocketFlags.None, deadline.Token);
            if (!body.IsEmpty) await SendAllAsync(socket, body, deadline.Token);
            // The request is complete (Content-length says so); half-closing tells older spamd versions too.
            try { socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
            stage = "reading from";
            var buffer = new byte[options.MaxResponseBytes + 1];
            var total = 0;
            while (total < buffer.Length)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, deadline.Token);
                if (n == 0) break;
                total += n;
                // SYMBOLS/PING answers are complete once the declared body has arrived; spamd closes anyway.
                if (IsComplete(buffer.AsSpan(0, total))) break;
            }
            if (total > options.MaxResponseBytes) return (null, $"spamd's answer exceeded {options.MaxResponseBytes} bytes");
            if (total == 0) return (null, "spamd closed the connection without answering");
            return (buffer[..total], null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"timed out after {options.Timeout.TotalMilliseconds:0} ms {stage} spamd at {options.Host}:{options.Port}");
        }
        catch (SocketException ex)
        {
            return (null, $"{stage} spamd at {options.Host}:{options.Port} failed: {ex.SocketErrorCode} ({ex.Message})");
        }
        catch (IOException ex)
        {
            return (null, $"{stage} spamd at {options.Host}:{options.Port} failed: {ex.Message}");
        }
        catch (ObjectDisposedException ex)
        {
            return (null, $"{stage} spamd at {options.Host}:{options.Port} failed: {ex.Message}");
        }
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None, ct);
            data = data[n..];
        }
    }

    /// <summary>True once the headers have ended and as many body bytes as Content-length declares are there.</summary>
    private static bool IsComplete(ReadOnlySpan<byte> data)
    {
        var end = data.IndexOf("\r\n\r\n"u8);
        if (end < 0) return false;
        var headers = Encoding.ASCII.GetString(data[..end]);
        var length = 0L;
        foreach (var line in headers.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Trim().Equals("Content-length", StringComparison.OrdinalIgnoreCase)
                && !long.TryParse(line[(colon + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out length))
                return false;
        }
        return data.Length - (end + 4) >= length;
    }

    private static (int Code, string Message)? StatusLine(byte[] response, out int headerEnd)
    {
        headerEnd = -1;
        var eol = response.AsSpan().IndexOf("\r\n"u8);
        var first = Encoding.ASCII.GetString(response, 0, eol < 0 ? response.Length : eol);
        headerEnd = response.AsSpan().IndexOf("\r\n\r\n"u8);
        // SPAMD/1.1 0 EX_OK — the version is whatever spamd implements; only the shape is checked.
        var parts = first.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !parts[0].StartsWith("SPAMD/", StringComparison.Ordinal)) return null;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code)) return null;
        return (code, parts.Length > 2 ? parts[2] : "");
    }

    private static SpamCheckResult Parse(byte[] response, TimeSpan elapsed)
    {
        var status = StatusLine(response, out var headerEnd);
        if (status is null) return SpamCheckResult.Unscored("spamd's answer is not a SPAMD status line: " + Printable(response, 80), elapsed);
        if (status.Value.Code != 0) return SpamCheckResult.Unscored($"spamd refused the request: {status.Value.Code} {status.Value.Message}", elapsed);
        if (headerEnd < 0) return SpamCheckResult.Unscored("spamd's answer ended before its headers did", elapsed);
        var headers = Encoding.ASCII.GetString(response, 0, headerEnd).Split("\r\n").Skip(1);
        string? spam = null;
        long? length = null;
        foreach (var line in headers)
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Spam", StringComparison.OrdinalIgnoreCase)) spam = value;
            else if (name.Equals("Content-length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var l)) length = l;
        }
        // "Spam: True ; 1004.2 / 5.0" (older servers say Yes/No).
        if (spam is null) return SpamCheckResult.Unscored("spamd's answer has no Spam header", elapsed);
        var semi = spam.Split(';', 2);
        var numbers = semi.Length == 2 ? semi[1].Split('/', 2) : [];
        if (numbers.Length != 2
            || !double.TryParse(numbers[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var score)
            || !double.TryParse(numbers[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold)
            || !double.IsFinite(score) || !double.IsFinite(threshold))
            return SpamCheckResult.Unscored("spamd's Spam header cannot be read: " + Printable(Encoding.ASCII.GetBytes(spam), 80), elapsed);
        var verdict = semi[0].Trim();
        var isSpam = verdict.Equals("True", StringComparison.OrdinalIgnoreCase) || verdict.Equals("Yes", StringComparison.OrdinalIgnoreCase);
        var bodyStart = headerEnd + 4;
        var available = response.Length - bodyStart;
        if (length is { } declared && declared > available)
            return SpamCheckResult.Unscored($"spamd's answer was cut short ({available} of {declared} body bytes)", elapsed);
        var body = Encoding.ASCII.GetString(response, bodyStart, (int)Math.Min(available, length ?? available));
        var rules = body.Split([',', '\r', '\n', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Where(IsRuleName).Distinct(StringComparer.Ordinal).Take(200).ToList();
        return new SpamCheckResult(true, isSpam, score, threshold, rules, null, elapsed);
    }

    /// <summary>SpamAssassin rule names are identifiers (letters, digits, underscores; possibly with a dot or dash in plugins).</summary>
    private static bool IsRuleName(string s) => s.Length <= 64 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    private static string Printable(byte[] data, int max)
    {
        var text = new StringBuilder();
        foreach (var b in data.Take(max)) text.Append(b is >= 0x20 and < 0x7f ? (char)b : '?');
        return text.ToString();
    }
}
