// One SMTP transaction as a client (RFC 5321 with STARTTLS, AUTH, SIZE, 8BITMIME, PIPELINING), replies into a result.
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace CprDesk.Mail.Smtp.Client;

/// <summary>The protocol steps of one transaction, with the bookkeeping that turns replies into a result.</summary>
internal sealed class RelaySession(SmtpRelayOptions relay, IReadOnlyList<string> recipients, CancellationToken ct)
{
    /// <summary>Commands in flight at once under PIPELINING. RFC 2920 §3.1 warns that a client writing without
    /// reading can deadlock against a server whose replies fill the socket buffers; small groups cannot.</summary>
    private const int PipelineGroup = 100;

    private static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(5);

    private readonly SmtpRecipientResult?[] _recipientResults = new SmtpRecipientResult?[recipients.Count];
    private Dictionary<string, string> _extensions = new(StringComparer.OrdinalIgnoreCase);
    private ClientConnection? _connection;
    private string _phase = "";

    private ClientConnection Connection => _connection!;

    public async Task<SmtpSendResult> RunAsync(string mailFrom, DataTransfer data)
    {
        try
        {
            return await TransactAsync(mailFrom, data).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return NetworkFailure($"timed out after {relay.Timeout.TotalSeconds:0.###} s {_phase}");
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or SmtpProtocolException
                                      or ObjectDisposedException)
        {
            return NetworkFailure($"{_phase}: {Describe(e)}");
        }
        finally
        {
            if (_connection is not null) await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<SmtpSendResult> TransactAsync(string mailFrom, DataTransfer data)
    {
        _phase = $"connecting to {relay.Host}:{relay.Port}";
        _connection = await ClientConnection.ConnectAsync(relay.Host, relay.Port, relay.Timeout, ct).ConfigureAwait(false);
        if (relay.Tls == SmtpTlsMode.Implicit) await HandshakeAsync().ConfigureAwait(false);

        var greeting = await ReadAsync("the greeting").ConfigureAwait(false);
        if (greeting.Code != 220) return await RefusedAsync(greeting).ConfigureAwait(false);

        var hello = await HelloAsync().ConfigureAwait(false);
        if (hello.Class != 2) return await RefusedAsync(hello).ConfigureAwait(false);

        if (relay.Tls is SmtpTlsMode.StartTlsWhenAvailable or SmtpTlsMode.StartTlsRequired)
        {
            if (_extensions.ContainsKey("STARTTLS"))
            {
                var reply = await CommandAsync("STARTTLS").ConfigureAwait(false);
                if (reply.Code == 220)
                {
                    // Bytes already buffered arrived in clear text but would be read as if they came over TLS, so
                    // an attacker could inject replies this way; RFC 3207 §4.2 has the client trust nothing from
                    // before TLS. A correct server sends nothing until the handshake.
                    if (Connection.HasUnreadInput)
                        throw new SmtpProtocolException("the server sent more data after its 220 reply to STARTTLS, before TLS began; refused as possible response injection");
                    await HandshakeAsync().ConfigureAwait(false);
                    // RFC 3207 §4.2: discard what was learnt before TLS and ask again.
                    hello = await HelloAsync().ConfigureAwait(false);
                    if (hello.Class != 2) return await RefusedAsync(hello).ConfigureAwait(false);
                }
                else if (relay.Tls == SmtpTlsMode.StartTlsRequired)
                {
                    return await RefusedAsync(reply).ConfigureAwait(false);
                }
                // Opportunistic: after a refused STARTTLS the session goes on in clear text (RFC 3207 §4).
            }
            else if (relay.Tls == SmtpTlsMode.StartTlsRequired)
            {
                return await LocalFailureAsync($"{relay.Host} does not offer STARTTLS and the relay settings require TLS; nothing was sent", permanent: false).ConfigureAwait(false);
            }
        }

        if (relay.Username is not null)
        {
            var auth = await AuthenticateAsync().ConfigureAwait(false);
            if (auth is not null) return auth;
        }

        if (data.HasEightBit && !_extensions.ContainsKey("8BITMIME"))
            return await LocalFailureAsync($"the message contains 8-bit data and {relay.Host} does not advertise 8BITMIME (RFC 6152); not sent rather than corrupted", permanent: true).ConfigureAwait(false);

        var mail = new StringBuilder($"MAIL FROM:<{mailFrom}>");
        if (_extensions.TryGetValue("SIZE", out var sizeParameter))
        {
            // RFC 1870 §4: a limit of 0 (or none given) means no fixed limit.
            if (long.TryParse(sizeParameter, out var limit) && limit > 0 && data.Size > limit)
                return await LocalFailureAsync($"the message is {data.Size} octets and {relay.Host} accepts at most {limit} (RFC 1870); not sent", permanent: true).ConfigureAwait(false);
            mail.Append(" SIZE=").Append(data.Size);
        }
        if (data.HasEightBit) mail.Append(" BODY=8BITMIME");

        var mailReply = _extensions.ContainsKey("PIPELINING")
            ? await EnvelopePipelinedAsync(mail.ToString()).ConfigureAwait(false)
            : await EnvelopeInTurnAsync(mail.ToString()).ConfigureAwait(false);
        if (mailReply.Class != 2) return await RefusedAsync(mailReply).ConfigureAwait(false);

        var results = _recipientResults.Select(r => r!).ToList();
        if (!results.Any(r => r.Accepted))
        {
            // Retrying helps only if some refusal was temporary; report that one if there is one.
            var deciding = results.FirstOrDefault(r => r.Code / 100 == 4) ?? results[0];
            await QuitAsync().ConfigureAwait(false);
            return new SmtpSendResult(false, deciding.Code / 100 == 5, deciding.Code, deciding.Reply, results);
        }

        var dataReply = await CommandAsync("DATA").ConfigureAwait(false);
        if (dataReply.Code != 354) return await RefusedAsync(dataReply).ConfigureAwait(false);
        _phase = "sending the message data";
        await Connection.WriteAsync(data.Wire).ConfigureAwait(false);
        // If this wait fails the server may still have taken the message (RFC 5321 §6.1 on duplicates).
        var final = await ReadAsync("the end of the message data (the server may have accepted it)").ConfigureAwait(false);
        await QuitAsync().ConfigureAwait(false);
        return new SmtpSendResult(final.Class == 2, final.Class == 5, final.Code, final.Text, results);
    }

    private async Task HandshakeAsync()
    {
        _phase = $"in the TLS handshake with {relay.Host}";
        await Connection.StartTlsAsync(relay.Host, relay.AcceptAnyCertificate).ConfigureAwait(false);
    }

    /// <summary>EHLO, or HELO when EHLO is not understood (RFC 5321 §3.2 and §4.1.4: a 5xx to EHLO).</summary>
    private async Task<ClientReply> HelloAsync()
    {
        _extensions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var reply = await CommandAsync($"EHLO {relay.HeloName}").ConfigureAwait(false);
        if (reply.Class == 5) return await CommandAsync($"HELO {relay.HeloName}").ConfigureAwait(false);
        if (reply.Class != 2) return reply;
        // RFC 5321 §4.1.1.1: each line after the first is "keyword [params]". "AUTH=" is a pre-RFC 4954 spelling
        // some servers still send alongside or instead of AUTH.
        foreach (var line in reply.Payloads.Skip(1))
        {
            var space = line.IndexOf(' ');
            var keyword = space < 0 ? line : line[..space];
            var parameters = space < 0 ? "" : line[(space + 1)..].Trim();
            if (keyword.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase))
            {
                parameters = $"{keyword[5..]} {parameters}".Trim();
                keyword = "AUTH";
            }
            if (keyword.Length == 0) continue;
            _extensions[keyword] = _extensions.TryGetValue(keyword, out var earlier) ? $"{earlier} {parameters}".Trim() : parameters;
        }
        return reply;
    }

    /// <summary>RFC 4954 with PLAIN (RFC 4616, initial response) or LOGIN. Returns a result only on failure.</summary>
    private async Task<SmtpSendResult?> AuthenticateAsync()
    {
        if (!Connection.IsTls && !relay.AllowAuthWithoutTls)
            return await LocalFailureAsync("refusing to send credentials over an unencrypted connection (no TLS was negotiated); nothing was sent", permanent: false).ConfigureAwait(false);
        var offered = _extensions.TryGetValue("AUTH", out var list)
            ? list.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(m => m.ToUpperInvariant()).ToHashSet()
            : [];
        ClientReply reply;
        if (offered.Contains("PLAIN"))
        {
            // authzid NUL authcid NUL passwd, with an empty authzid.
            var response = Base64($"\0{relay.Username}\0{relay.Password}");
            reply = await CommandAsync($"AUTH PLAIN {response}", display: "AUTH PLAIN").ConfigureAwait(false);
            // A server that ignores initial responses asks with an empty 334 challenge (RFC 4954 §4).
            if (reply.Code == 334) reply = await CommandAsync(response, display: "AUTH PLAIN").ConfigureAwait(false);
        }
        else if (offered.Contains("LOGIN"))
        {
            reply = await CommandAsync("AUTH LOGIN").ConfigureAwait(false);
            if (reply.Code == 334) reply = await CommandAsync(Base64(relay.Username!), display: "AUTH LOGIN").ConfigureAwait(false);
            if (reply.Code == 334) reply = await CommandAsync(Base64(relay.Password!), display: "AUTH LOGIN").ConfigureAwait(false);
        }
        else
        {
            var what = offered.Count == 0 ? "no AUTH" : $"only AUTH {string.Join(' ', offered.Order())}";
            return await LocalFailureAsync($"{relay.Host} offers {what}; this client supports PLAIN and LOGIN; nothing was sent", permanent: false).ConfigureAwait(false);
        }
        return reply.Code == 235 ? null : await RefusedAsync(reply).ConfigureAwait(false);
    }

    private static string Base64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private async Task<ClientReply> EnvelopeInTurnAsync(string mail)
    {
        var mailReply = await CommandAsync(mail, display: "MAIL FROM").ConfigureAwait(false);
        if (mailReply.Class != 2) return mailReply;
        for (var i = 0; i < recipients.Count; i++)
            Record(i, await CommandAsync($"RCPT TO:<{recipients[i]}>", display: "RCPT TO").ConfigureAwait(false));
        return mailReply;
    }

    /// <summary>RFC 2920: MAIL and the RCPTs go out in groups without waiting; replies come back in order.</summary>
    private async Task<ClientReply> EnvelopePipelinedAsync(string mail)
    {
        ClientReply? mailReply = null;
        for (var start = 0; start < recipients.Count; start += PipelineGroup)
        {
            var count = Math.Min(PipelineGroup, recipients.Count - start);
            var batch = new StringBuilder();
            if (mailReply is null) batch.Append(mail).Append("\r\n");
            for (var i = start; i < start + count; i++) batch.Append("RCPT TO:<").Append(recipients[i]).Append(">\r\n");
            _phase = "sending MAIL FROM and RCPT TO";
            await Connection.WriteAsync(Encoding.ASCII.GetBytes(batch.ToString())).ConfigureAwait(false);
            mailReply ??= await ReadAsync("MAIL FROM").ConfigureAwait(false);
            for (var i = start; i < start + count; i++) Record(i, await ReadAsync("RCPT TO").ConfigureAwait(false));
            if (mailReply.Class != 2) break;
        }
        return mailReply!;
    }

    private void Record(int i, ClientReply reply) =>
        _recipientResults[i] = new SmtpRecipientResult(recipients[i], reply.Class == 2, reply.Code, reply.Text);

    private async Task<ClientReply> CommandAsync(string line, string? display = null)
    {
        var name = display ?? line.Split(' ')[0];
        _phase = $"sending {name}";
        await Connection.WriteLineAsync(line).ConfigureAwait(false);
        return await ReadAsync(name).ConfigureAwait(false);
    }

    private Task<ClientReply> ReadAsync(string what)
    {
        _phase = $"waiting for the reply to {what}";
        return Connection.ReadReplyAsync();
    }

    /// <summary>The server said no at some step: end politely and report its reply.</summary>
    private async Task<SmtpSendResult> RefusedAsync(ClientReply reply)
    {
        await QuitAsync().ConfigureAwait(false);
        return new SmtpSendResult(false, reply.Class == 5, reply.Code, reply.Text, Recipients($"not accepted: the session ended with \"{reply.Text}\""));
    }

    /// <summary>This client declined to go on; the connection still works, so end it politely.</summary>
    private async Task<SmtpSendResult> LocalFailureAsync(string why, bool permanent)
    {
        await QuitAsync().ConfigureAwait(false);
        return new SmtpSendResult(false, permanent, 0, why, Recipients($"not offered: {why}"));
    }

    private SmtpSendResult NetworkFailure(string why) => new(false, false, 0, why, Recipients($"no reply: {why}"));

    private List<SmtpRecipientResult> Recipients(string why) =>
        _recipientResults.Select((r, i) => r ?? new SmtpRecipientResult(recipients[i], false, 0, why)).ToList();

    /// <summary>RFC 5321 §4.1.1.10. Best effort and briefly bounded: the outcome is already known.</summary>
    private async Task QuitAsync()
    {
        try
        {
            var timeout = relay.Timeout < QuitTimeout ? relay.Timeout : QuitTimeout;
            await Connection.WriteLineAsync("QUIT", timeout).ConfigureAwait(false);
            await Connection.ReadReplyAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or SmtpProtocolException
                                      or ObjectDisposedException or AuthenticationException)
        {
            // The transaction's result stands whatever happens to QUIT.
        }
    }

    private static string Describe(Exception e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            if (!text.Contains(inner.Message, StringComparison.Ordinal)) text += $" ({inner.Message})";
        return text;
    }
}
