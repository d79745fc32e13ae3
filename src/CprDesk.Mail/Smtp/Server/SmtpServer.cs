// The SMTP server: listeners, the accept loop, the connection limit and graceful stop.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CprDesk.Mail.Smtp.Server;

namespace CprDesk.Mail.Smtp;

/// <summary>
/// An RFC 5321 server engine (with SIZE, 8BITMIME, PIPELINING, ENHANCEDSTATUSCODES, STARTTLS) whose
/// message store decides every RCPT and the reply to the end of DATA: 250 is sent only after the
/// store's <see cref="ISmtpMessageStore.SaveAsync"/> returned 250.
/// </summary>
public sealed class SmtpServer : IAsyncDisposable
{
    private const int NotStarted = 0, Running = 1, Stopped = 2;

    private readonly ServerSettings _settings;
    private readonly ISmtpMessageStore _store;
    private readonly ServerLog _log;
    // Never disposed: sessions may still look at their tokens after the server is gone; they hold no timers.
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _hard = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private IReadOnlyList<IPEndPoint> _boundEndpoints = [];
    private int _state;
    private int _activeSessions;
    private long _nextConnectionId;

    /// <summary>
    /// Creates a server. <paramref name="log"/> receives one line per notable event (connections,
    /// messages, failures); it is the only logging, so the library needs no logging package.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid (they are copied and checked here).</exception>
    public SmtpServer(SmtpServerOptions options, ISmtpMessageStore store, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _settings = ServerSettings.From(options);
        _store = store;
        _log = new ServerLog(log);
    }

    /// <summary>The addresses actually listened on (with the ports chosen for port 0); empty before start.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _boundEndpoints;

    /// <summary>Binds every endpoint and starts accepting. If any endpoint cannot be bound, none stays bound.</summary>
    public Task StartAsync(CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        if (Interlocked.CompareExchange(ref _state, Running, NotStarted) != NotStarted)
        {
            throw new InvalidOperationException("The server can be started only once.");
        }
        try
        {
            foreach (var endpoint in _settings.Endpoints)
            {
                var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                _listeners.Add(listener);
                listener.Bind(endpoint);
                listener.Listen();
            }
        }
        catch
        {
            foreach (var listener in _listeners)
            {
                listener.Dispose();
            }
            _listeners.Clear();
            _state = Stopped;
            throw;
        }
        _boundEndpoints = [.. _listeners.Select(l => (IPEndPoint)l.LocalEndPoint!)];
        foreach (var listener in _listeners)
        {
            _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(listener)));
        }
        _log.Write($"smtp: listening on {string.Join(", ", _boundEndpoints)}");
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting, tells idle clients 421 4.3.2 and lets transactions in flight (receiving DATA,
    /// or waiting for the store) finish. When <paramref name="ct"/> is cancelled first, the remaining
    /// sessions are aborted (their store calls see cancellation, their clients get no 250) and this returns
    /// without waiting for a store that ignores cancellation.
    /// </summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        var previous = Interlocked.Exchange(ref _state, Stopped);
        if (previous == NotStarted)
        {
            return;
        }
        if (previous == Running)
        {
            _stopping.Cancel();
            foreach (var listener in _listeners)
            {
                listener.Dispose();
            }
            await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
            _log.Write("smtp: stopped accepting");
        }
        var remaining = _connections.Values.ToArray();
        try
        {
            await Task.WhenAll(remaining).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _log.Write($"smtp: stop grace period over, aborting {remaining.Count(t => !t.IsCompleted)} session(s)");
            _hard.Cancel();
        }
    }

    /// <summary>Stops at once (see <see cref="StopAsync"/> with an already cancelled token). Call StopAsync first for a graceful stop.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
    }

    /// <summary>Accepts until stopped. Never throws: a failed accept is logged and the loop goes on.</summary>
    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // E.g. out of file descriptors: pause briefly rather than spin, then keep serving.
                _log.Write($"smtp: accept failed: {e.Message}");
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _settings.TimeProvider, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            Admit(client);
        }
    }

    private void Admit(Socket client)
    {
        var id = Interlocked.Increment(ref _nextConnectionId);
        Task task;
        try
        {
            client.NoDelay = true;
            if (Interlocked.Increment(ref _activeSessions) > _settings.MaxConnections)
            {
                Interlocked.Decrement(ref _activeSessions);
                task = Task.Run(() => RefuseAsync(client));
            }
            else
            {
                task = Task.Run(() => SmtpSession.RunAsync(
                    _settings, _store, _log, client, _stopping.Token, _hard.Token,
                    () => Interlocked.Decrement(ref _activeSessions)));
            }
        }
        catch (Exception e)
        {
            _log.Write($"smtp: could not start a session: {e.Message}");
            client.Dispose();
            return;
        }
        _connections[id] = task;
        _ = ForgetWhenDoneAsync(id, task);
    }

    private async Task ForgetWhenDoneAsync(long id, Task connection)
    {
        await connection.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _connections.TryRemove(id, out _);
    }

    /// <summary>Over the connection limit: 421 4.7.0 instead of the greeting, then close (RFC 5321 §3.1).</summary>
    private async Task RefuseAsync(Socket client)
    {
        EndPoint? remote = null;
        try
        {
            remote = client.RemoteEndPoint;
            using var deadline = new CancellationTokenSource(_settings.CommandTimeout, _settings.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _hard.Token);
            var line = SmtpReply.FormatLine(421, "4.7.0", $"{_settings.HostName} too many connections, try again later", last: true);
            await client.SendAsync(Encoding.ASCII.GetBytes(line), SocketFlags.None, linked.Token).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);
            _log.Write($"smtp: refused {remote}: too many connections ({_settings.MaxConnections})");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _log.Write($"smtp: could not refuse {remote}: {e.Message}");
        }
        finally
        {
            client.Dispose();
        }
    }
}
