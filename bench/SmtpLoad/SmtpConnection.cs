using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SmtpLoad;

readonly record struct SmtpReply(int Code, string Text)
{
    public override string ToString() => Text;
}

/// <summary>The connection broke or did not answer in time; the session cannot go on.</summary>
sealed class SmtpSessionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A minimal SMTP client connection: every connect, read and write is bounded by a timeout.</summary>
sealed class SmtpConnection : IAsyncDisposable
{
    const int MaxReplyLine = 4096;
    const int MaxReplyLines = 100;

    readonly Socket socket;
    readonly NetworkStream stream;
    readonly TimeSpan timeout;
    readonly CancellationToken abort;
    readonly byte[] buffer = new byte[8192];
    int start;
    int end;
    List<string>? collect; // the lines of the reply being read, when asked for (EHLO)

    /// <summary>The server listed PIPELINING (RFC 2920) in its EHLO reply.</summary>
    public bool Pipelining { get; private set; }

    SmtpConnection(Socket socket, TimeSpan timeout, CancellationToken abort)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        this.timeout = timeout;
        this.abort = abort;
    }

    /// <summary>Connects, reads the greeting and says EHLO; throws <see cref="SmtpSessionException"/> on any failure.</summary>
    public static async Task<SmtpConnection> OpenAsync(EndPoint server, string helo, TimeSpan timeout, CancellationToken abort)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(abort))
            {
                cts.CancelAfter(timeout);
                try { await socket.ConnectAsync(server, cts.Token); }
                catch (OperationCanceledException) when (!abort.IsCancellationRequested)
                {
                    throw new SmtpSessionException($"connect timed out after {timeout.TotalSeconds:0} s");
                }
                catch (SocketException e) { throw new SmtpSessionException($"connect: {e.SocketErrorCode}", e); }
            }
            var connection = new SmtpConnection(socket, timeout, abort);
            try
            {
                var greeting = await connection.ReadReplyAsync("greeting");
                if (greeting.Code != 220) throw new SmtpSessionException($"greeting: {greeting.Text}");
                connection.collect = [];
                var ehlo = await connection.CommandAsync("EHLO " + helo);
                if (ehlo.Code != 250) throw new SmtpSessionException($"EHLO: {ehlo.Text}");
                connection.Pipelining = connection.collect.Any(l => l.Length > 4 && l[4..].Trim().Equals("PIPELINING", StringComparison.OrdinalIgnoreCase));
                connection.collect = null;
                return connection;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task<SmtpReply> CommandAsync(string command)
    {
        await WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), command);
        return await ReadReplyAsync(command);
    }

    /// <summary>RFC 2920: writes the commands in one go, then reads one reply per command, in order.</summary>
    public async Task<SmtpReply[]> PipelineAsync(params string[] commands)
    {
        await WriteAsync(Encoding.ASCII.GetBytes(string.Concat(commands.Select(c => c + "\r\n"))), commands[0]);
        var replies = new SmtpReply[commands.Length];
        for (var i = 0; i < commands.Length; i++) replies[i] = await ReadReplyAsync(commands[i]);
        return replies;
    }

    public async Task WriteAsync(ReadOnlyMemory<byte> data, string what)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(abort);
        cts.CancelAfter(timeout);
        try
        {
            await stream.WriteAsync(data, cts.Token);
        }
        catch (OperationCanceledException) when (!abort.IsCancellationRequested)
        {
            throw new SmtpSessionException($"write timed out after {timeout.TotalSeconds:0} s ({Short(what)})");
        }
        catch (IOException e)
        {
            throw new SmtpSessionException($"write failed ({Short(what)}): {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    /// <summary>Reads one (possibly multi-line) reply; its text is the last line.</summary>
    public async Task<SmtpReply> ReadReplyAsync(string after)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(abort);
        cts.CancelAfter(timeout);
        try
        {
            for (var lines = 0; lines < MaxReplyLines; lines++)
            {
                var line = await ReadLineAsync(cts.Token);
                collect?.Add(line);
                if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code) || code is < 200 or > 599 ||
                    (line.Length > 3 && line[3] is not (' ' or '-')))
                {
                    throw new SmtpSessionException($"malformed reply to {Short(after)}: {Short(line)}");
                }
                if (line.Length == 3 || line[3] == ' ') return new SmtpReply(code, line);
            }
            throw new SmtpSessionException($"reply to {Short(after)} has more than {MaxReplyLines} lines");
        }
        catch (OperationCanceledException) when (!abort.IsCancellationRequested)
        {
            throw new SmtpSessionException($"no reply to {Short(after)} within {timeout.TotalSeconds:0} s");
        }
        catch (IOException e)
        {
            throw new SmtpSessionException($"read failed after {Short(after)}: {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    async Task<string> ReadLineAsync(CancellationToken token)
    {
        while (true)
        {
            var lf = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (lf >= 0)
            {
                var stop = lf > start && buffer[lf - 1] == '\r' ? lf - 1 : lf;
                var line = Encoding.Latin1.GetString(buffer, start, stop - start);
                start = lf + 1;
                return line;
            }
            if (end - start >= MaxReplyLine) throw new SmtpSessionException("reply line too long");
            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            var n = await stream.ReadAsync(buffer.AsMemory(end), token);
            if (n == 0) throw new SmtpSessionException("server closed the connection");
            end += n;
        }
    }

    /// <summary>Says QUIT and waits briefly for the answer; errors are ignored.</summary>
    public async Task QuitAsync()
    {
        try
        {
            await WriteAsync("QUIT\r\n"u8.ToArray(), "QUIT");
            await ReadReplyAsync("QUIT");
        }
        catch (SmtpSessionException) { }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        socket.Dispose();
    }

    static string Short(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
