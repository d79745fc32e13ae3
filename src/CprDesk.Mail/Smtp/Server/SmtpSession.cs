// One SMTP connection: the RFC 5321 command state machine, DATA reception, STARTTLS, timeouts.
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;

namespace CprDesk.Mail.Smtp.Server;

/// <summary>
/// Serves one connection from greeting to close. Commands are handled one at a time in arrival order;
/// replies are batched and flushed whenever the session is about to wait for the client (RFC 2920).
/// The reply to the end of DATA is the store's answer, written only after <see cref="ISmtpMessageStore.SaveAsync"/>
/// has returned it. Never throws: every failure ends this session and is logged.
/// </summary>
internal sealed class SmtpSession
{
    private sealed class Transaction(string mailFrom, long declaredSize, bool eightBitMime)
    {
        public string MailFrom { get; } = mailFrom;
        public long DeclaredSize { get; } = declaredSize;
        public bool EightBitMime { get; } = eightBitMime;
        public List<string> Recipients { get; } = [];
    }

    private readonly ServerSettings _settings;
    private readonly ISmtpMessageStore _store;
    private readonly ServerLog _log;
    private readonly Socket _socket;
    private readonly CancellationToken _stopping;
    private readonly CancellationToken _hard;
    private readonly SessionWatchdog _watchdog;
    private readonly CancellationTokenSource _ioCts;
    private readonly CancellationTokenSource _commandCts;
    private readonly SmtpConnectionReader _reader;
    private readonly ReplyWriter _writer = new();
    private readonly string _id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private Stream _stream;
    private SmtpSessionInfo _info;
    private bool _extended;
    private bool _inData;
    private Transaction? _transaction;
    private int _errors;

    private SmtpSession(ServerSettings settings, ISmtpMessageStore store, ServerLog log, Socket socket, CancellationToken stopping, CancellationToken hard)
    {
        _settings = settings;
        _store = store;
        _log = log;
        _socket = socket;
        _stopping = stopping;
        _hard = hard;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _info = new SmtpSessionInfo((IPEndPoint)socket.RemoteEndPoint!, (IPEndPoint)socket.LocalEndPoint!, null, false, null);
        _watchdog = new SessionWatchdog(settings.TimeProvider);
        // Network I/O stops on a timeout or a hard stop; waiting for a command also stops on a graceful stop.
        _ioCts = CancellationTokenSource.CreateLinkedTokenSource(hard, _watchdog.Token);
        _commandCts = CancellationTokenSource.CreateLinkedTokenSource(hard, _watchdog.Token, stopping);
        _reader = new SmtpConnectionReader(ReceiveAsync);
    }

    /// <summary>Serves the connection; <paramref name="ended"/> runs before the socket is closed.</summary>
    public static async Task RunAsync(
        ServerSettings settings, ISmtpMessageStore store, ServerLog log, Socket socket,
        CancellationToken stopping, CancellationToken hard, Action ended)
    {
        SmtpSession session;
        try
        {
            session = new SmtpSession(settings, store, log, socket, stopping, hard);
        }
        catch (Exception e)
        {
            // E.g. the peer reset before we asked for its address.
            log.Write($"smtp: connection dropped before the session started: {e.Message}");
            ended();
            socket.Dispose();
            return;
        }
        await session.RunAsync(ended).ConfigureAwait(false);
    }

    private async Task RunAsync(Action ended)
    {
        _log.Write($"smtp[{_id}]: connection from {_info.Remote}");
        try
        {
            // No enhanced status code in the greeting (RFC 2034 §3).
            _writer.Add(220, "", $"{_settings.HostName} ESMTP ready");
            while (true)
            {
                if (_stopping.IsCancellationRequested)
                {
                    await SayLastAsync(421, "4.3.2", $"{_settings.HostName} service shutting down, try again later").ConfigureAwait(false);
                    return;
                }
                if (_writer.ShouldFlushEarly)
                {
                    await FlushAsync().ConfigureAwait(false);
                }
                var line = await _reader.ReadLineAsync(ServerSettings.MaxCommandLineOctets).ConfigureAwait(false);
                if (line.Status == LineStatus.EndOfStream)
                {
                    _log.Write($"smtp[{_id}]: client closed the connection");
                    return;
                }
                var keepOpen = line.Status == LineStatus.TooLong
                    ? Error(500, "5.5.2", "line too long")
                    : await HandleAsync(line.Text).ConfigureAwait(false);
                if (!keepOpen)
                {
                    await FlushAsync().ConfigureAwait(false);
                    return;
                }
                if (_errors >= ServerSettings.MaxProtocolErrors)
                {
                    await SayLastAsync(421, "4.7.0", $"{_settings.HostName} too many errors, closing connection").ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_hard.IsCancellationRequested)
        {
            _log.Write($"smtp[{_id}]: aborted by server stop");
        }
        catch (OperationCanceledException) when (_watchdog.HasExpired)
        {
            _log.Write($"smtp[{_id}]: timeout {(_inData ? "waiting for message data" : "waiting for a command")}");
            await SayLastAsync(421, "4.4.2", $"{_settings.HostName} timeout exceeded, closing connection").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            await SayLastAsync(421, "4.3.2", $"{_settings.HostName} service shutting down, try again later").ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
            _log.Write($"smtp[{_id}]: connection error: {e.Message}");
        }
        catch (Exception e)
        {
            _log.Write($"smtp[{_id}]: session failed: {e}");
        }
        finally
        {
            // Free the slot before closing, so a client that saw the close can connect again at once.
            ended();
            await CloseAsync().ConfigureAwait(false);
            _log.Write($"smtp[{_id}]: closed");
        }
    }

    private async ValueTask<bool> HandleAsync(string line)
    {
        foreach (var c in line)
        {
            if (c is < ' ' or > '~')
            {
                return Error(500, "5.5.2", "syntax error: commands are printable ASCII (SMTPUTF8 is not offered)");
            }
        }
        var (verb, argument) = SmtpCommandParser.SplitVerb(line);
        switch (verb)
        {
            case "EHLO":
                return Hello(argument, extended: true);
            case "HELO":
                return Hello(argument, extended: false);
            case "MAIL":
                return Mail(argument);
            case "RCPT":
                return await RecipientAsync(argument).ConfigureAwait(false);
            case "DATA":
                return await DataAsync(argument).ConfigureAwait(false);
            case "RSET":
                if (argument.Length > 0)
                {
                    return Error(501, "5.5.4", "RSET takes no arguments");
                }
                _transaction = null;
                return Say(250, "2.0.0", "OK");
            case "NOOP":
                return Say(250, "2.0.0", "OK");
            case "QUIT":
                _writer.Add(221, "2.0.0", $"{_settings.HostName} closing connection");
                return false;
            case "VRFY":
                // RFC 5321 §3.5.3: 252 neither confirms nor denies, so addresses cannot be harvested.
                return argument.Length == 0
                    ? Error(501, "5.5.4", "syntax: VRFY <address>")
                    : Say(252, "2.0.0", "cannot verify the user, but will accept the message and attempt delivery");
            case "HELP":
                return Say(214, "2.0.0", "commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP" + (_settings.Tls is null ? "" : " STARTTLS"));
            case "STARTTLS":
                return await StartTlsAsync(argument).ConfigureAwait(false);
            case "EXPN" or "AUTH" or "BDAT" or "ETRN" or "TURN" or "ATRN" or "SEND" or "SOML" or "SAML":
                return Error(502, "5.5.1", "command not implemented");
            case "":
                return Error(500, "5.5.2", "syntax error: empty command");
            default:
                return Error(500, "5.5.1", "command unrecognized");
        }
    }

    private bool Hello(string argument, bool extended)
    {
        var name = argument.Split(' ', 2)[0];
        if (name.Length == 0)
        {
            return Error(501, "5.5.4", $"syntax: {(extended ? "EHLO" : "HELO")} <domain or address literal>");
        }
        // RFC 5321 §4.1.4: EHLO/HELO also resets the transaction.
        _transaction = null;
        _extended = extended;
        _info = _info with { HeloName = name };
        var greeting = $"{_settings.HostName} Hello {AddressLiteral(_info.Remote.Address)}";
        if (!extended)
        {
            _writer.Add(250, "", greeting);
            return true;
        }
        var lines = new List<string>
        {
            greeting,
            "PIPELINING",
            $"SIZE {_settings.MaxMessageBytes.ToString(CultureInfo.InvariantCulture)}",
            "8BITMIME",
        };
        if (_settings.Tls is not null && !_info.Secure)
        {
            lines.Add("STARTTLS");
        }
        lines.Add("ENHANCEDSTATUSCODES");
        // No enhanced status code in replies to EHLO (RFC 2034 §3).
        _writer.AddMultiline(250, lines);
        return true;
    }

    private bool Mail(string argument)
    {
        if (_info.HeloName is null)
        {
            return Error(503, "5.5.1", "send EHLO or HELO first");
        }
        if (_transaction is not null)
        {
            return Error(503, "5.5.1", "nested MAIL command");
        }
        var parsed = SmtpCommandParser.ParsePathArgument(argument, "FROM:", allowNullPath: true, out var error);
        if (parsed is null)
        {
            return Error(501, "5.1.7", error);
        }
        long declaredSize = 0;
        var eightBit = false;
        foreach (var p in parsed.Parameters)
        {
            switch (p.Keyword)
            {
                case "SIZE":
                    if (p.Value is null || p.Value.Length > 20 || !p.Value.All(char.IsAsciiDigit))
                    {
                        return Error(501, "5.5.4", "SIZE needs a number");
                    }
                    // RFC 1870 §6.1: refuse at MAIL when the declared size is already over the limit.
                    if (!long.TryParse(p.Value, NumberStyles.None, CultureInfo.InvariantCulture, out declaredSize)
                        || declaredSize > _settings.MaxMessageBytes)
                    {
                        return Say(552, "5.3.4", $"message size exceeds fixed maximum message size of {_settings.MaxMessageBytes} bytes");
                    }
                    break;
                case "BODY":
                    if (string.Equals(p.Value, "8BITMIME", StringComparison.OrdinalIgnoreCase))
                    {
                        eightBit = true;
                    }
                    else if (!string.Equals(p.Value, "7BIT", StringComparison.OrdinalIgnoreCase))
                    {
                        return Error(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
                    }
                    break;
                default:
                    return Error(555, "5.5.4", $"MAIL parameter {p.Keyword} not recognized");
            }
        }
        _transaction = new Transaction(parsed.Address, declaredSize, eightBit);
        return Say(250, "2.1.0", "sender OK");
    }

    private async ValueTask<bool> RecipientAsync(string argument)
    {
        var transaction = _transaction;
        if (transaction is null)
        {
            return Error(503, "5.5.1", "need MAIL before RCPT");
        }
        var parsed = SmtpCommandParser.ParsePathArgument(argument, "TO:", allowNullPath: false, out var error);
        if (parsed is null)
        {
            return Error(501, "5.1.3", error);
        }
        if (parsed.Parameters.Count > 0)
        {
            return Error(555, "5.5.4", $"RCPT parameter {parsed.Parameters[0].Keyword} not recognized");
        }
        if (transaction.Recipients.Contains(parsed.Address))
        {
            return Say(250, "2.1.5", "recipient OK (duplicate)");
        }
        if (transaction.Recipients.Count >= _settings.MaxRecipients)
        {
            return Say(452, "4.5.3", "too many recipients");
        }
        SmtpReply? reply;
        try
        {
            reply = await _store.CheckRecipientAsync(_info, transaction.MailFrom, parsed.Address, _hard).ConfigureAwait(false);
        }
        catch (Exception e) when (!_hard.IsCancellationRequested)
        {
            _log.Write($"smtp[{_id}]: the store failed checking recipient {parsed.Address}: {e}");
            _writer.Add(SmtpReply.LocalError());
            return true;
        }
        if (reply is null || !reply.IsWellFormedFinalReply || reply.Code is >= 200 and <= 299 and not (250 or 251))
        {
            _log.Write($"smtp[{_id}]: the store answered RCPT with an invalid reply: {reply}");
            _writer.Add(SmtpReply.LocalError());
            return true;
        }
        if (reply.IsPositive)
        {
            transaction.Recipients.Add(parsed.Address);
        }
        _writer.Add(reply);
        return true;
    }

    private async ValueTask<bool> DataAsync(string argument)
    {
        if (argument.Length > 0)
        {
            return Error(501, "5.5.4", "DATA takes no arguments");
        }
        var transaction = _transaction;
        if (transaction is null)
        {
            return Error(503, "5.5.1", "need MAIL command");
        }
        if (transaction.Recipients.Count == 0)
        {
            return Error(503, "5.5.1", "need RCPT command (no valid recipients)");
        }
        _writer.Add(354, "", "end data with <CR><LF>.<CR><LF>");

        await using var spool = new MessageSpool(_settings.MaxMessageBytes, _settings.MemoryThresholdBytes, _settings.SpoolDirectory);
        _inData = true;
        var complete = await _reader.ReadDataAsync(new DotUnstuffer(), data => spool.WriteAsync(data, _hard)).ConfigureAwait(false);
        _inData = false;
        if (!complete)
        {
            _log.Write($"smtp[{_id}]: connection closed during DATA after {spool.Length} bytes; nothing saved");
            return false;
        }
        var receivedAt = _settings.TimeProvider.GetUtcNow();
        // Whatever the outcome, the transaction is over (RFC 5321 §4.1.1.4).
        _transaction = null;

        if (spool.Oversized)
        {
            _log.Write($"smtp[{_id}]: message of {spool.Length} bytes refused, limit {_settings.MaxMessageBytes}");
            return Say(552, "5.3.4", $"message exceeds fixed maximum message size of {_settings.MaxMessageBytes} bytes");
        }
        if (spool.Failure is { } failure)
        {
            _log.Write($"smtp[{_id}]: could not spool the message: {failure.Message}");
            _writer.Add(SmtpReply.LocalError());
            return true;
        }

        var messageId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        MessageContent content;
        string sha256;
        try
        {
            (content, sha256) = await spool.CompleteAsync(_hard).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Write($"smtp[{_id}]: could not finish the spool file: {e.Message}");
            _writer.Add(SmtpReply.LocalError());
            return true;
        }
        var message = new SmtpIncomingMessage(
            messageId, _info, transaction.MailFrom, [.. transaction.Recipients], transaction.EightBitMime,
            transaction.DeclaredSize, receivedAt, ReceivedHeader(messageId, transaction, receivedAt),
            spool.Length, sha256, content);
        SmtpReply reply;
        await using (message.ConfigureAwait(false))
        {
            reply = await SaveAsync(message).ConfigureAwait(false);
        }
        _writer.Add(reply);
        return true;
    }

    /// <summary>The store's answer, or 451 4.3.0 when it failed or answered something that is not a final reply.</summary>
    private async ValueTask<SmtpReply> SaveAsync(SmtpIncomingMessage message)
    {
        SmtpReply? reply;
        try
        {
            reply = await _store.SaveAsync(message, _hard).ConfigureAwait(false);
        }
        catch (Exception e) when (!_hard.IsCancellationRequested)
        {
            _log.Write($"smtp[{_id}]: the store failed to save message {message.Id} ({message.Length} bytes): {e}");
            return SmtpReply.LocalError();
        }
        if (reply is null || !reply.IsWellFormedFinalReply || (reply.IsPositive && reply.Code != 250))
        {
            _log.Write($"smtp[{_id}]: the store answered message {message.Id} with an invalid reply ({reply}); not acknowledged");
            return SmtpReply.LocalError();
        }
        _log.Write($"smtp[{_id}]: message {message.Id} from <{message.MailFrom}> to {message.Recipients.Count} recipient(s), {message.Length} bytes, sha256 {message.Sha256}: {reply.Code} {reply.EnhancedCode}");
        return reply;
    }

    private async ValueTask<bool> StartTlsAsync(string argument)
    {
        if (_settings.Tls is null)
        {
            return Error(502, "5.5.1", "STARTTLS not available");
        }
        if (_info.Secure)
        {
            return Error(503, "5.5.1", "TLS already active");
        }
        if (argument.Length > 0)
        {
            return Error(501, "5.5.4", "STARTTLS takes no arguments");
        }
        _writer.Add(220, "2.0.0", "ready to start TLS");
        await FlushAsync().ConfigureAwait(false);
        if (_reader.BufferedCount > 0)
        {
            _log.Write($"smtp[{_id}]: discarding {_reader.BufferedCount} bytes sent after STARTTLS before the handshake");
        }
        _reader.DiscardBuffered();

        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        _stream = ssl;
        _watchdog.Arm(_settings.CommandTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _settings.Tls,
                    ClientCertificateRequired = false,
                    CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                },
                _ioCts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException || (e is OperationCanceledException && _watchdog.HasExpired))
        {
            // Nothing can be said: the peer is mid-handshake, a plaintext reply would be noise to it.
            _log.Write($"smtp[{_id}]: TLS handshake failed: {e.Message}");
            return false;
        }
        finally
        {
            _watchdog.Disarm();
        }
        // RFC 3207 §4.2: forget everything learnt before TLS; the client must EHLO again.
        _info = _info with { HeloName = null, Secure = true, TlsProtocol = ssl.SslProtocol.ToString() };
        _extended = false;
        _transaction = null;
        _log.Write($"smtp[{_id}]: TLS started ({ssl.SslProtocol}, {ssl.NegotiatedCipherSuite})");
        return true;
    }

    /// <summary>
    /// The trace field (RFC 5321 §4.4, with the RFC 3848 protocol names). The EHLO name is the client's
    /// claim, so it is reduced to characters that cannot break the header's syntax.
    /// </summary>
    private string ReceivedHeader(string messageId, Transaction transaction, DateTimeOffset receivedAt)
    {
        var helo = string.Concat((_info.HeloName ?? "unknown").Select(c => c is '(' or ')' or '\\' or ';' or '"' ? '_' : c));
        var protocol = _info.Secure ? "ESMTPS" : _extended ? "ESMTP" : "SMTP";
        var sb = new StringBuilder(256);
        sb.Append("Received: from ").Append(helo).Append(" (").Append(AddressLiteral(_info.Remote.Address)).Append(")\r\n");
        sb.Append("\tby ").Append(_settings.HostName).Append(" with ").Append(protocol);
        if (_info.TlsProtocol is { } tls)
        {
            sb.Append(" (").Append(tls).Append(')');
        }
        sb.Append(" id ").Append(messageId);
        // Naming the recipient only when there is one, as is customary: it would otherwise disclose the others.
        if (transaction.Recipients.Count == 1)
        {
            sb.Append("\r\n\tfor <").Append(transaction.Recipients[0]).Append('>');
        }
        sb.Append(";\r\n\t").Append(receivedAt.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture)).Append("\r\n");
        return sb.ToString();
    }

    /// <summary>RFC 5321 §4.1.3 address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]" (no zone, IPv4 unmapped).</summary>
    private static string AddressLiteral(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[IPv6:{new IPAddress(address.GetAddressBytes())}]"
            : $"[{address}]";
    }

    private bool Say(int code, string enhancedCode, string text)
    {
        _writer.Add(code, enhancedCode, text);
        return true;
    }

    /// <summary>A reply to a command that was malformed or out of sequence; too many of those end the session.</summary>
    private bool Error(int code, string enhancedCode, string text)
    {
        _errors++;
        return Say(code, enhancedCode, text);
    }

    /// <summary>The network read behind the reader: flush batched replies, then wait with the phase's timeout.</summary>
    private async ValueTask<int> ReceiveAsync(Memory<byte> buffer)
    {
        await FlushAsync().ConfigureAwait(false);
        _watchdog.Arm(_inData ? _settings.DataTimeout : _settings.CommandTimeout);
        try
        {
            // While message data arrives, a graceful stop waits for it: the transaction is in flight.
            var token = _inData ? _ioCts.Token : _commandCts.Token;
            return await _stream.ReadAsync(buffer, token).ConfigureAwait(false);
        }
        finally
        {
            _watchdog.Disarm();
        }
    }

    private async ValueTask FlushAsync()
    {
        if (!_writer.HasPending)
        {
            return;
        }
        _watchdog.Arm(_settings.CommandTimeout);
        try
        {
            await _writer.FlushAsync(_stream, _ioCts.Token).ConfigureAwait(false);
        }
        finally
        {
            _watchdog.Disarm();
        }
    }

    /// <summary>
    /// Last words before closing (421 or the like), best effort: the watchdog may already have fired,
    /// so this write has its own deadline.
    /// </summary>
    private async ValueTask SayLastAsync(int code, string enhancedCode, string text)
    {
        _writer.Add(code, enhancedCode, text);
        try
        {
            using var deadline = new CancellationTokenSource(_settings.CommandTimeout, _settings.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _hard);
            await _writer.FlushAsync(_stream, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Anything: the connection is being closed either way, and a stream whose read was just
            // cancelled (TLS in particular) may refuse writes in ways of its own.
            _log.Write($"smtp[{_id}]: could not send the closing {code}: {e.Message}");
        }
    }

    private async ValueTask CloseAsync()
    {
        try
        {
            // Send FIN after the last reply rather than leaving it to the close.
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
        _reader.Dispose();
        _commandCts.Dispose();
        _ioCts.Dispose();
        _watchdog.Dispose();
    }
}
