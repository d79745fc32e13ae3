using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SmtpLoad;

sealed class OptionsException(string message) : Exception(message);

/// <summary>Command-line options. Parsed by hand: the bench uses in-box APIs only.</summary>
sealed record Options
{
    public const string Usage = """
        usage: SmtpLoad --server HOST:PORT [options]

          --server HOST:PORT      SMTP server to load; must be a loopback address (127.0.0.0/8, ::1, localhost)
          --to ADDR               envelope and header recipient       (default cpr@ca.example)
          --from ADDR             envelope and header sender          (default bench@example.org)
          --concurrency LIST      connections per cell, e.g. 1,4,16   (default 1,4,16)
          --size LIST             message sizes in bytes (k = 1024), e.g. 3072,100k (default 3072,102400)
          --messages N            messages per cell                   (default 2000)
          --duration-limit S      per cell: stop claiming new messages after S seconds (default 120)
          --timeout S             limit on every connect, read and write (default 30)
          --warmup N              before each cell, send N messages the same way, unmeasured (default 0)
          --no-pipelining         one command, one reply: do not group MAIL/RCPT/DATA (RFC 2920) even
                                  when the server offers PIPELINING
          --attachment            pad with a base64 application/octet-stream MIME part instead of
                                  base64-looking text lines in a text/plain body
          --helo NAME             EHLO name                           (default smtpload.localdomain)
          --label NAME            label for the report rows           (default smtpload)
          --csv FILE              also write the results as CSV (overwritten)
          --help                  this text

        Each cell (concurrency x size) opens that many connections; each connection says EHLO once and
        then sends MAIL/RCPT/DATA back to back until the cell's message count or duration limit is
        reached; MAIL, RCPT and DATA go in one write when the server offers PIPELINING, as MTAs do. Latency is measured from writing the final CRLF.CRLF to reading the reply.
        Exit status: 0 ok; 1 a cell accepted no message (or the run was interrupted); 2 bad usage.
        """;

    public required EndPoint Server { get; init; }
    public required string ServerText { get; init; }
    public string To { get; init; } = "cpr@ca.example";
    public string From { get; init; } = "bench@example.org";
    public IReadOnlyList<int> Concurrency { get; init; } = [1, 4, 16];
    public IReadOnlyList<int> Sizes { get; init; } = [3072, 102400];
    public int Messages { get; init; } = 2000;
    public double DurationLimitSeconds { get; init; } = 120;
    public double TimeoutSeconds { get; init; } = 30;
    public int Warmup { get; init; }
    public bool Attachment { get; init; }
    public bool Pipelining { get; init; } = true;
    public string Helo { get; init; } = "smtpload.localdomain";
    public string Label { get; init; } = "smtpload";
    public string? CsvPath { get; init; }

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>Returns null when --help was asked for.</summary>
    public static Options? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string[] valued = ["--server", "--to", "--from", "--concurrency", "--size", "--messages", "--duration-limit",
            "--timeout", "--warmup", "--helo", "--label", "--csv"];
        string[] boolean = ["--attachment", "--no-pipelining", "--help", "-h"];
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? inline = null;
            var eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            if (boolean.Contains(arg) && inline is null)
            {
                flags.Add(arg);
            }
            else if (valued.Contains(arg))
            {
                var value = inline ?? (i + 1 < args.Length ? args[++i] : throw new OptionsException($"{arg} needs a value"));
                values[arg] = value;
            }
            else
            {
                throw new OptionsException($"unknown argument: {args[i]}");
            }
        }
        if (flags.Contains("--help") || flags.Contains("-h")) return null;

        if (!values.TryGetValue("--server", out var server)) throw new OptionsException("--server HOST:PORT is required");
        // Defaults come from the initialisers; the required endpoint is parsed first.
        var defaults = new Options
        {
            Server = ParseLoopbackEndPoint(server),
            ServerText = server,
            Attachment = flags.Contains("--attachment"),
        };
        return new Options
        {
            Server = defaults.Server,
            ServerText = defaults.ServerText,
            Attachment = defaults.Attachment,
            Pipelining = !flags.Contains("--no-pipelining"),
            To = values.TryGetValue("--to", out var to) ? Address(to, "--to") : defaults.To,
            From = values.TryGetValue("--from", out var from) ? Address(from, "--from") : defaults.From,
            Concurrency = values.TryGetValue("--concurrency", out var c) ? IntList(c, "--concurrency", 1, 1024, allowK: false) : defaults.Concurrency,
            Sizes = values.TryGetValue("--size", out var s) ? IntList(s, "--size", 1, 50 * 1024 * 1024, allowK: true) : defaults.Sizes,
            Messages = values.TryGetValue("--messages", out var m) ? IntList(m, "--messages", 1, 100_000_000, allowK: true) is [var one] ? one : throw new OptionsException("--messages takes one number") : defaults.Messages,
            DurationLimitSeconds = values.TryGetValue("--duration-limit", out var d) ? Seconds(d, "--duration-limit") : defaults.DurationLimitSeconds,
            TimeoutSeconds = values.TryGetValue("--timeout", out var t) ? Seconds(t, "--timeout") : defaults.TimeoutSeconds,
            Warmup = values.TryGetValue("--warmup", out var w) ? (w == "0" ? 0 : IntList(w, "--warmup", 1, 1_000_000, allowK: false) is [var wu] ? wu : throw new OptionsException("--warmup takes one number")) : 0,
            Helo = values.TryGetValue("--helo", out var h) ? Token(h, "--helo") : defaults.Helo,
            Label = values.TryGetValue("--label", out var l) ? Token(l, "--label") : defaults.Label,
            CsvPath = values.GetValueOrDefault("--csv"),
        };
    }

    static EndPoint ParseLoopbackEndPoint(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new OptionsException($"--server wants HOST:PORT, got '{text}'");
        var host = text[..colon].Trim('[', ']');
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal)) addresses = [literal];
        else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            try { addresses = Dns.GetHostAddresses(host); }
            catch (SocketException e) { throw new OptionsException($"cannot resolve {host}: {e.Message}"); }
        }
        else throw new OptionsException($"--server must be a loopback address or localhost, got '{host}'");
        var loopback = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && IPAddress.IsLoopback(a))
                       ?? addresses.FirstOrDefault(IPAddress.IsLoopback);
        return loopback is null
            ? throw new OptionsException($"refusing to load a non-loopback address: {host}")
            : new IPEndPoint(loopback, port);
    }

    static string Address(string value, string name) =>
        value.Length is > 0 and < 256 && value.Contains('@') && !value.Any(ch => ch <= ' ' || ch is '<' or '>' || ch > '~')
            ? value
            : throw new OptionsException($"{name}: not a plain address: '{value}'");

    static string Token(string value, string name) =>
        value.Length is > 0 and < 64 && value.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '-' or '_')
            ? value
            : throw new OptionsException($"{name}: letters, digits, '.', '-', '_' only: '{value}'");

    static double Seconds(string value, string name) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 86400
            ? s
            : throw new OptionsException($"{name}: a number of seconds > 0, got '{value}'");

    static List<int> IntList(string value, string name, int min, int max, bool allowK)
    {
        var list = new List<int>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var text = part;
            long factor = 1;
            if (allowK && (text.EndsWith('k') || text.EndsWith('K'))) { factor = 1024; text = text[..^1]; }
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n * factor < min || n * factor > max)
                throw new OptionsException($"{name}: '{part}' is not a number from {min} to {max}");
            list.Add((int)(n * factor));
        }
        return list.Count > 0 ? list : throw new OptionsException($"{name}: empty list");
    }
}
