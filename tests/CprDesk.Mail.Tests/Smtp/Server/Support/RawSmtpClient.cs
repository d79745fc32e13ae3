// A bare TCP SMTP client for tests: writes exactly the bytes given and reads replies with a deadline.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace CprDesk.Mail.Tests.Smtp.Server.Support;

public sealed record Reply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The last line without its code and separator, e.g. "2.0.0 OK".</summary>
    public string Text => Lines[^1].Length > 4 ? Lines[^1][4..] : "";

    public override string ToString() => string.Join(" | ", Lines);
}

public sealed class RawSmtpClient : IAsyncDisposable
{
    /// <summary>No single read in these tests should take longer; a hang fails instead of blocking the run.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;

    private RawSmtpClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawSmtpClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return new RawSmtpClient(tcp);
    }

    /// <summary>Connects and reads the 220 greeting.</summary>
    public static async Task<RawSmtpClient> ConnectAndGreetAsync(int port, string? ehlo = "client.test.example")
    {
        var client = await ConnectAsync(port);
        var greeting = await client.ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        if (ehlo is not null)
        {
            Assert.Equal(250, (await client.CommandAsync($"EHLO {ehlo}")).Code);
        }
        return client;
    }

    public Task WriteAsync(string text) => WriteAsync(Encoding.UTF8.GetBytes(text));

    public async Task WriteAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Writes a command line (CRLF added) and reads its reply.</summary>
    public async Task<Reply> CommandAsync(string line)
    {
        await WriteAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>Reads one (possibly multi-line) reply; fails if none arrives in time or the connection closes.</summary>
    public async Task<Reply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(timeout) ?? throw new IOException($"connection closed; reply so far: {string.Join(" | ", lines)}");
            lines.Add(line);
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code))
            {
                throw new InvalidDataException($"not a reply line: {line}");
            }
            if (line.Length == 3 || line[3] == ' ')
            {
                return new Reply(code, lines);
            }
        }
    }

    /// <summary>One line without CRLF, or null at end of stream.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                _start = lf + 1;
                return line;
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int n;
            try
            {
                n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no line from the server within {(timeout ?? DefaultTimeout).TotalSeconds} s");
            }
            catch (IOException) when (_end == _start)
            {
                return null; // reset by peer after it closed
            }
            if (n == 0)
            {
                return null;
            }
            _end += n;
        }
    }

    /// <summary>True when the server has closed the connection (end of stream) with nothing more to read.</summary>
    public async Task<bool> IsClosedByServerAsync() => await ReadLineAsync() is null;

    /// <summary>Upgrades to TLS after a 220 to STARTTLS, trusting any certificate (ours is self-signed).</summary>
    public async Task<SslStream> StartTlsAsync()
    {
        Assert.Equal(_start, _end);
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cts.Token);
        _stream = ssl;
        return ssl;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
