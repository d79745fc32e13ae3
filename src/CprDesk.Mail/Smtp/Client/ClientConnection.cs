// One client-side SMTP connection: connect, TLS, replies in, commands out, every step bounded by the timeout.
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace CprDesk.Mail.Smtp.Client;

/// <summary>A complete server reply (RFC 5321 §4.2): its code and every line as received, code included.</summary>
internal sealed record ClientReply(int Code, IReadOnlyList<string> Lines)
{
    public int Class => Code / 100;
    public string Text => string.Join("\n", Lines);

    /// <summary>The text after the code on each line: EHLO keywords, AUTH challenges.</summary>
    public IEnumerable<string> Payloads => Lines.Select(l => l.Length > 4 ? l[4..] : "");
}

/// <summary>The server broke the protocol (malformed or oversized reply, data where none may be).</summary>
internal sealed class SmtpProtocolException(string message) : Exception(message);

internal sealed class ClientConnection : IAsyncDisposable
{
    /// <summary>RFC 5321 §4.5.3.1.5 limits reply lines to 512 octets; we accept more but not without bound.</summary>
    private const int MaxLineLength = 8192;

    private const int MaxReplyLines = 256;

    private readonly CancellationTokenSource _deadline;
    private readonly TimeSpan _timeout;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private Stream _stream;
    private int _start;
    private int _end;

    private ClientConnection(Stream stream, CancellationTokenSource deadline, TimeSpan timeout)
    {
        _stream = stream;
        _deadline = deadline;
        _timeout = timeout;
    }

    public bool IsTls => _stream is SslStream;

    /// <summary>Bytes received but not yet read as a reply.</summary>
    public bool HasUnreadInput => _end > _start;

    /// <summary>Connects to the first address of <paramref name="host"/> that answers. The returned connection owns
    /// a token source linked to <paramref name="ct"/> that it re-arms with the timeout before every step.</summary>
    public static async Task<ClientConnection> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            deadline.CancelAfter(timeout);
            await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            return new ClientConnection(new NetworkStream(socket, ownsSocket: true), deadline, timeout);
        }
        catch
        {
            socket.Dispose();
            deadline.Dispose();
            throw;
        }
    }

    private CancellationToken Arm(TimeSpan? timeout = null)
    {
        _deadline.CancelAfter(timeout ?? _timeout);
        return _deadline.Token;
    }

    public async Task StartTlsAsync(string targetHost, bool acceptAnyCertificate)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions { TargetHost = targetHost };
        if (acceptAnyCertificate) options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        try
        {
            await ssl.AuthenticateAsClientAsync(options, Arm()).ConfigureAwait(false);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _stream = ssl;
    }

    public async Task<ClientReply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var token = Arm(timeout);
        var lines = new List<string>();
        var code = -1;
        while (true)
        {
            var line = await ReadLineAsync(token).ConfigureAwait(false);
            // RFC 5321 §4.2: three digits, the first 2-5; then SP (last line), "-" (more follow) or nothing.
            var wellFormed = line.Length >= 3 && line[0] is >= '2' and <= '5' && char.IsAsciiDigit(line[1])
                             && char.IsAsciiDigit(line[2]) && (line.Length == 3 || line[3] is ' ' or '-');
            if (!wellFormed) throw new SmtpProtocolException($"malformed reply line from server: \"{Shorten(line)}\"");
            var lineCode = int.Parse(line.AsSpan(0, 3), provider: null);
            if (code >= 0 && lineCode != code)
                throw new SmtpProtocolException($"reply code changed from {code} to {lineCode} within one multi-line reply");
            code = lineCode;
            lines.Add(line);
            if (line.Length == 3 || line[3] == ' ') return new ClientReply(code, lines);
            if (lines.Count >= MaxReplyLines) throw new SmtpProtocolException($"reply longer than {MaxReplyLines} lines");
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken token)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var length = newline - _start;
                if (length > 0 && _buffer[newline - 1] == '\r') length--;
                var line = Encoding.UTF8.GetString(_buffer, _start, length);
                _start = newline + 1;
                return line;
            }
            if (_end - _start >= MaxLineLength) throw new SmtpProtocolException($"reply line longer than {MaxLineLength} octets");
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), token).ConfigureAwait(false);
            if (n == 0) throw new IOException("the server closed the connection");
            _end += n;
        }
    }

    public Task WriteLineAsync(string line, TimeSpan? timeout = null) => WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), timeout);

    /// <summary>Writes in slices, re-arming the timeout for each, so a large message on a slow link is limited by
    /// progress rather than by its total time.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> data, TimeSpan? timeout = null)
    {
        const int slice = 64 * 1024;
        for (var offset = 0; offset < data.Length; offset += slice)
        {
            var token = Arm(timeout);
            await _stream.WriteAsync(data.Slice(offset, Math.Min(slice, data.Length - offset)), token).ConfigureAwait(false);
        }
        await _stream.FlushAsync(Arm(timeout)).ConfigureAwait(false);
    }

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "…";

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Closing a connection that is already broken has nothing more to tell.
        }
        _deadline.Dispose();
    }
}
