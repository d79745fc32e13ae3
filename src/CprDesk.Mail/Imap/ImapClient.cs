// A read-only IMAP client (RFC 3501 / RFC 9051 subset): it can look at mail but has no command that changes it.
// EXAMINE, never SELECT; BODY.PEEK[], never BODY[] (which would set \Seen); no STORE, COPY, MOVE, EXPUNGE, APPEND.
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CprDesk.Mail.Imap;

public enum ImapTls { Implicit, StartTls, None }

public sealed class ImapClientOptions
{
    public required string Host { get; init; }
    public int Port { get; init; } = 993;
    public ImapTls Tls { get; init; } = ImapTls.Implicit;
    /// <summary>Accept any server certificate (tests, or a server reached over a trusted tunnel).</summary>
    public bool AcceptAnyCertificate { get; init; }
    /// <summary>Certificates accepted even when the chain or name does not validate: SHA-1 or SHA-256 fingerprints in hex
    /// (colons and case ignored). For a self-signed server certificate the operator has checked.</summary>
    public IReadOnlyList<string> TrustedCertificateFingerprints { get; init; } = [];
    /// <summary>Connect, TLS handshake, and every read and write each wait at most this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
    public ImapReaderOptions Reader { get; init; } = new();
}

/// <summary>A folder from LIST. <see cref="Name"/> is decoded; <see cref="WireName"/> is what the server calls it.</summary>
public sealed record ImapFolder(string Name, string WireName, char? Delimiter, IReadOnlyList<string> Attributes)
{
    public bool Selectable => !Attributes.Any(a => a.Equals(@"\Noselect", StringComparison.OrdinalIgnoreCase) || a.Equals(@"\NonExistent", StringComparison.OrdinalIgnoreCase));
    public bool HasAttribute(string attribute) => Attributes.Any(a => a.Equals(attribute, StringComparison.OrdinalIgnoreCase));
}

/// <summary>What EXAMINE reported about a folder.</summary>
public sealed record ImapFolderState(uint UidValidity, uint? UidNext, uint Exists, bool ReadOnly);

/// <summary>One message from UID FETCH. Dispose it to delete a spilled literal's temp file.</summary>
public sealed class ImapFetchedMessage(uint uid, IReadOnlyList<string> flags, DateTimeOffset? internalDate, long? size, ImapLiteral body) : IDisposable
{
    public uint Uid { get; } = uid;
    public IReadOnlyList<string> Flags { get; } = flags;
    public DateTimeOffset? InternalDate { get; } = internalDate;
    public long? Size { get; } = size;
    public ImapLiteral Body { get; } = body;
    public void Dispose() => Body.Dispose();
}

public sealed class ImapClient : IAsyncDisposable
{
    private readonly ImapClientOptions _options;
    private readonly ImapResponseReader _reader;
    private Stream _stream;
    private int _tag;
    private bool _broken;
    private HashSet<string> _capabilities = new(StringComparer.OrdinalIgnoreCase);

    private ImapClient(ImapClientOptions options, Stream stream)
    {
        _options = options;
        _stream = stream;
        _reader = new ImapResponseReader(stream, options.Reader.Timeout == options.Timeout ? options.Reader : new ImapReaderOptions
        {
            Timeout = options.Timeout, MaxLineLength = options.Reader.MaxLineLength, MaxLiteralBytes = options.Reader.MaxLiteralBytes,
            LiteralMemoryThreshold = options.Reader.LiteralMemoryThreshold, TempDirectory = options.Reader.TempDirectory,
            MaxLiteralsPerResponse = options.Reader.MaxLiteralsPerResponse,
        });
    }

    public IReadOnlySet<string> Capabilities => _capabilities;
    public bool IsTls => _stream is SslStream;
    public bool IsAuthenticated { get; private set; }
    /// <summary>False once the connection failed; only a new connection helps then.</summary>
    public bool IsConnected => !_broken;

    /// <summary>Connects, reads the greeting and, for STARTTLS, upgrades before anything else is said.</summary>
    public static async Task<ImapClient> ConnectAsync(ImapClientOptions options, CancellationToken ct = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream stream;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            cts.CancelAfter(options.Timeout);
            try
            {
                await socket.ConnectAsync(options.Host, options.Port, cts.Token).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: true);
                if (options.Tls == ImapTls.Implicit) stream = await TlsAsync(stream, options, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                socket.Dispose();
                throw new ImapTimeoutException($"Could not connect to {options.Host}:{options.Port} within {options.Timeout.TotalSeconds:0.###} s.");
            }
            catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException)
            {
                socket.Dispose();
                throw new ImapConnectionException($"Could not connect to {options.Host}:{options.Port}: {ex.Message}", ex);
            }
        }
        var client = new ImapClient(options, stream);
        try
        {
            await client.GreetingAsync(ct).ConfigureAwait(false);
            if (options.Tls == ImapTls.StartTls) await client.StartTlsAsync(ct).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<SslStream> TlsAsync(Stream inner, ImapClientOptions options, CancellationToken ct)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        var opts = new SslClientAuthenticationOptions
        {
            TargetHost = options.Host,
            RemoteCertificateValidationCallback = (_, cert, _, errors) => errors == SslPolicyErrors.None || options.AcceptAnyCertificate || Pinned(cert, options.TrustedCertificateFingerprints),
        };
        await ssl.AuthenticateAsClientAsync(opts, ct).ConfigureAwait(false);
        return ssl;
    }

    private static bool Pinned(X509Certificate? cert, IReadOnlyList<string> fingerprints)
    {
        if (cert is null || fingerprints.Count == 0) return false;
        var der = cert.GetRawCertData();
        var sha1 = Convert.ToHexString(SHA1.HashData(der));
        var sha256 = Convert.ToHexString(SHA256.HashData(der));
        return fingerprints.Select(f => f.Replace(":", "", StringComparison.Ordinal).Trim())
            .Any(f => f.Equals(sha1, StringComparison.OrdinalIgnoreCase) || f.Equals(sha256, StringComparison.OrdinalIgnoreCase));
    }

    private async Task GreetingAsync(CancellationToken ct)
    {
        using var greeting = await ReadAsync(ct).ConfigureAwait(false);
        switch (greeting.Status)
        {
            case "OK": break;
            case "PREAUTH": IsAuthenticated = true; break;
            case "BYE": throw Broken(new ImapConnectionException($"The server refused the connection: {greeting.Text}"));
            default: throw Broken(new ImapProtocolException($"Not an IMAP greeting: '{ImapResponseReader.Excerpt(greeting.ToString())}'."));
        }
        TakeCapabilityCode(greeting.Code);
    }

    private async Task StartTlsAsync(CancellationToken ct)
    {
        if (_capabilities.Count == 0) await CapabilityAsync(ct).ConfigureAwait(false);
        // Never fall back to plain text: the password would follow.
        if (!_capabilities.Contains("STARTTLS")) throw Broken(new ImapConnectionException("The server does not offer STARTTLS, and TLS is required."));
        (await RunAsync("STARTTLS", ["STARTTLS"], ct).ConfigureAwait(false)).ForEach(r => r.Dispose());
        // Anything the server sent after its OK arrived before TLS and cannot be trusted (a command injection).
        if (_reader.HasBufferedInput) throw Broken(new ImapProtocolException("The server sent data after its STARTTLS answer, before the TLS handshake."));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_options.Timeout);
        try
        {
            _stream = await TlsAsync(_stream, _options, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Broken(new ImapTimeoutException($"The TLS handshake did not finish within {_options.Timeout.TotalSeconds:0.###} s."));
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException)
        {
            throw Broken(new ImapConnectionException($"The TLS handshake failed: {ex.Message}", ex));
        }
        _reader.Stream = _stream;
        _capabilities.Clear(); // RFC 3501 §6.2.1: capabilities learnt before TLS are void
        await CapabilityAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlySet<string>> CapabilityAsync(CancellationToken ct = default)
    {
        foreach (var r in await RunAsync("CAPABILITY", ["CAPABILITY"], ct).ConfigureAwait(false)) r.Dispose();
        return _capabilities;
    }

    /// <summary>AUTHENTICATE PLAIN when offered (RFC 4616), LOGIN otherwise. A wrong password is an <see cref="ImapCommandException"/>.</summary>
    public async Task AuthenticateAsync(string user, string password, CancellationToken ct = default)
    {
        if (IsAuthenticated) return;
        if (_capabilities.Count == 0) await CapabilityAsync(ct).ConfigureAwait(false);
        List<ImapResponse> untagged;
        if (_capabilities.Contains("AUTH=PLAIN"))
        {
            var initial = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
            untagged = _capabilities.Contains("SASL-IR")
                ? await RunAsync("AUTHENTICATE", ["AUTHENTICATE PLAIN ", new Secret(initial)], ct).ConfigureAwait(false)
                : await RunAsync("AUTHENTICATE", ["AUTHENTICATE PLAIN"], ct, continuation: initial).ConfigureAwait(false);
        }
        else
        {
            if (_capabilities.Contains("LOGINDISABLED")) throw new ImapCommandException("LOGIN", "NO", "PRIVACYREQUIRED", "The server disables LOGIN here and offers no AUTH=PLAIN; use TLS.");
            untagged = await RunAsync("LOGIN", ["LOGIN ", AString(user), " ", new Secret(AString(password))], ct).ConfigureAwait(false);
        }
        untagged.ForEach(r => r.Dispose());
        IsAuthenticated = true;
        // The OK usually carries the new capabilities; otherwise ask (RFC 9051 §6.2: they may change after login).
        if (!_capabilitiesFromLastOk) await CapabilityAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Every folder (LIST "" "*"), with SPECIAL-USE attributes such as <c>\Junk</c> when the server offers them.</summary>
    public async Task<IReadOnlyList<ImapFolder>> ListAsync(CancellationToken ct = default)
    {
        var command = _capabilities.Contains("SPECIAL-USE") && _capabilities.Contains("LIST-EXTENDED") ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"";
        var folders = new List<ImapFolder>();
        foreach (var r in await RunAsync("LIST", [command], ct).ConfigureAwait(false))
        {
            using (r)
            {
                if (r.DataName != "LIST" || r.Values.Count < 4 || r.Values[1] is not ImapList attrs) continue;
                var delimiter = r.Values[2].AsString() is { Length: > 0 } d ? d[0] : (char?)null;
                var wire = r.Values[3].AsString();
                if (wire is null) continue;
                var attributes = attrs.Items.Select(a => a.AsString() ?? "").Where(a => a.Length > 0).ToList();
                var name = wire.Equals("INBOX", StringComparison.OrdinalIgnoreCase) ? "INBOX" : ImapUtf7.Decode(wire);
                if (folders.All(f => f.WireName != wire)) folders.Add(new ImapFolder(name, wire, delimiter, attributes));
            }
        }
        return folders;
    }

    /// <summary>Opens <paramref name="folder"/> read-only (EXAMINE: nothing in it can change, not even \Recent or \Seen).</summary>
    public async Task<ImapFolderState> ExamineAsync(ImapFolder folder, CancellationToken ct = default) => await ExamineAsync(folder.WireName, ct).ConfigureAwait(false);

    public async Task<ImapFolderState> ExamineAsync(string wireName, CancellationToken ct = default)
    {
        uint? validity = null, next = null;
        uint exists = 0;
        var responses = await RunAsync("EXAMINE", ["EXAMINE ", AString(wireName)], ct).ConfigureAwait(false);
        foreach (var r in responses)
        {
            using (r)
            {
                if (r.Status == "OK" && r.Code is { } code)
                {
                    var parts = code.Split(' ', 2);
                    if (parts.Length == 2 && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    {
                        if (parts[0].Equals("UIDVALIDITY", StringComparison.OrdinalIgnoreCase)) validity = n;
                        else if (parts[0].Equals("UIDNEXT", StringComparison.OrdinalIgnoreCase)) next = n;
                    }
                }
                else if (r.DataName == "EXISTS" && r.Number is { } e) exists = e;
            }
        }
        // RFC 3501 §6.3.1: a server without UIDVALIDITY has no persistent UIDs; we cannot track stored UIDs then.
        if (validity is null) throw new ImapCommandException("EXAMINE", "NO", null, $"The server gave no UIDVALIDITY for {wireName}.");
        return new ImapFolderState(validity.Value, next, exists, !_lastTaggedCode.Equals("READ-WRITE", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The UIDs of every message in the examined folder, ascending.</summary>
    public Task<IReadOnlyList<uint>> UidSearchAllAsync(CancellationToken ct = default) => UidSearchAsync("ALL", ct);

    /// <summary>UIDs of messages larger than <paramref name="bytes"/> (SEARCH LARGER): found without downloading them.</summary>
    public Task<IReadOnlyList<uint>> UidSearchLargerAsync(long bytes, CancellationToken ct = default) =>
        UidSearchAsync("LARGER " + bytes.ToString(CultureInfo.InvariantCulture), ct);

    /// <summary>UIDs of messages whose INTERNALDATE falls on <paramref name="date"/> or later (SEARCH SINCE). RFC 3501
    /// §6.4.4: the comparison is by date only, in the server's time zone; callers wanting an instant take a day more
    /// and filter on the fetched INTERNALDATE.</summary>
    public Task<IReadOnlyList<uint>> UidSearchSinceAsync(DateOnly date, CancellationToken ct = default) =>
        UidSearchAsync("SINCE " + date.ToString("d-MMM-yyyy", CultureInfo.InvariantCulture), ct);

    private async Task<IReadOnlyList<uint>> UidSearchAsync(string criteria, CancellationToken ct)
    {
        var uids = new SortedSet<uint>();
        foreach (var r in await RunAsync("UID SEARCH", ["UID SEARCH " + criteria], ct).ConfigureAwait(false))
        {
            using (r)
            {
                if (r.DataName != "SEARCH") continue;
                foreach (var v in r.Values.Skip(1))
                    if (v is ImapAtom a && uint.TryParse(a.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid > 0) uids.Add(uid);
            }
        }
        return [.. uids];
    }

    /// <summary>Fetches one message without marking it (BODY.PEEK[]). Null when the server has no message with that UID (expunged meanwhile).</summary>
    public async Task<ImapFetchedMessage?> FetchAsync(uint uid, CancellationToken ct = default)
    {
        var u = uid.ToString(CultureInfo.InvariantCulture);
        var responses = await RunAsync("UID FETCH", [$"UID FETCH {u} (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"], ct).ConfigureAwait(false);
        List<string>? flags = null;
        DateTimeOffset? internalDate = null;
        long? size = null;
        ImapLiteral? body = null;
        var keep = new List<ImapResponse>();
        try
        {
            // Several FETCH responses may describe the same message (e.g. a flag change pushed in between): merge them.
            foreach (var r in responses)
            {
                if (r.DataName != "FETCH" || r.Values.Count < 3 || r.Values[2] is not ImapList items) { r.Dispose(); continue; }
                var map = new Dictionary<string, ImapValue>(StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i + 1 < items.Items.Count; i += 2)
                    if (items.Items[i] is ImapAtom key) map[key.Value] = items.Items[i + 1];
                if (!map.TryGetValue("UID", out var uv) || uv.AsString() != u) { r.Dispose(); continue; }
                if (map.TryGetValue("FLAGS", out var f) && f is ImapList fl) flags = fl.Items.Select(x => x.AsString() ?? "").ToList();
                if (map.TryGetValue("INTERNALDATE", out var d) && d.AsString() is { } ds) internalDate = ParseInternalDate(ds);
                if (map.TryGetValue("RFC822.SIZE", out var s) && long.TryParse(s.AsString(), NumberStyles.None, CultureInfo.InvariantCulture, out var sz)) size = sz;
                if (map.TryGetValue("BODY[]", out var b))
                {
                    body = b switch
                    {
                        ImapLiteralValue l => l.Literal,
                        ImapQuoted q => new ImapLiteral(Encoding.Latin1.GetBytes(q.Value)),
                        _ => body,
                    };
                    if (b is ImapLiteralValue) { keep.Add(r); continue; }
                }
                r.Dispose();
            }
        }
        catch
        {
            keep.ForEach(r => r.Dispose());
            throw;
        }
        if (body is null) return null;
        // The literal belongs to its response; hand its ownership to the message (the other literals, if any, go).
        foreach (var r in keep) r.Literals.Remove(body);
        keep.ForEach(r => r.Dispose());
        return new ImapFetchedMessage(uid, flags ?? [], internalDate, size, body);
    }

    /// <summary>RFC 3501 date-time: "dd-MMM-yyyy HH:mm:ss +zzzz" (day may be space-padded).</summary>
    public static DateTimeOffset? ParseInternalDate(string s)
    {
        s = s.Trim();
        var parts = s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3 || parts[2].Length != 5 || parts[2][0] is not ('+' or '-')) return null;
        if (!DateTime.TryParseExact(parts[0] + " " + parts[1], ["d-MMM-yyyy HH:mm:ss", "dd-MMM-yyyy HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)) return null;
        if (!int.TryParse(parts[2].AsSpan(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hh) ||
            !int.TryParse(parts[2].AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var mm) || hh > 23 || mm > 59) return null;
        var offset = new TimeSpan(hh, mm, 0);
        if (parts[2][0] == '-') offset = -offset;
        return new DateTimeOffset(local, offset);
    }

    public async Task NoopAsync(CancellationToken ct = default) => (await RunAsync("NOOP", ["NOOP"], ct).ConfigureAwait(false)).ForEach(r => r.Dispose());

    /// <summary>IDLE (RFC 2177) in the examined folder until the server reports a change or <paramref name="maxWait"/>
    /// passes on <paramref name="time"/>'s clock. True when the server reported new or expunged mail.</summary>
    public async Task<bool> IdleAsync(TimeSpan maxWait, TimeProvider time, CancellationToken ct = default)
    {
        if (!_capabilities.Contains("IDLE")) throw new ImapCommandException("IDLE", "BAD", null, "The server does not offer IDLE.");
        ThrowIfBroken();
        var tag = NextTag();
        await WriteAsync(Encoding.ASCII.GetBytes(tag + " IDLE\r\n"), ct).ConfigureAwait(false);
        var woke = false;
        while (true)
        {
            using var r = await ReadAsync(ct).ConfigureAwait(false);
            if (r.Kind == ImapResponseKind.Continuation) break;
            if (r.Kind == ImapResponseKind.Tagged) { ThrowIfRefused(r, tag, "IDLE"); return false; }
            woke |= Noted(r);
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(maxWait, time, stop.Token);
        while (!woke)
        {
            var read = ReadAsync(ct, Timeout.InfiniteTimeSpan);
            var first = await Task.WhenAny(read, delay).ConfigureAwait(false);
            if (first == read)
            {
                using var r = await read.ConfigureAwait(false);
                woke |= Noted(r);
                continue;
            }
            // Time is up: end IDLE and collect the read still pending, bounded by the usual timeout.
            await WriteAsync("DONE\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            try
            {
                using var r = await read.WaitAsync(_options.Timeout, ct).ConfigureAwait(false);
                if (r.Kind == ImapResponseKind.Tagged) { ThrowIfRefused(r, tag, "IDLE"); return false; }
                woke |= Noted(r);
            }
            catch (TimeoutException)
            {
                throw Broken(new ImapTimeoutException($"The server did not end IDLE within {_options.Timeout.TotalSeconds:0.###} s."));
            }
            return await EndIdleAsync(tag, woke, sentDone: true, ct).ConfigureAwait(false);
        }
        stop.Cancel();
        return await EndIdleAsync(tag, woke, sentDone: false, ct).ConfigureAwait(false);
    }

    private async Task<bool> EndIdleAsync(string tag, bool woke, bool sentDone, CancellationToken ct)
    {
        if (!sentDone) await WriteAsync("DONE\r\n"u8.ToArray(), ct).ConfigureAwait(false);
        while (true)
        {
            using var r = await ReadAsync(ct).ConfigureAwait(false);
            if (r.Kind == ImapResponseKind.Tagged) { ThrowIfRefused(r, tag, "IDLE"); return woke; }
            woke |= Noted(r);
        }
    }

    /// <summary>True for the untagged responses that mean the folder changed.</summary>
    private bool Noted(ImapResponse r)
    {
        if (r.Status == "BYE") throw Broken(new ImapConnectionException($"The server is closing the connection: {r.Text}"));
        return r.DataName is "EXISTS" or "EXPUNGE" or "RECENT" or "VANISHED";
    }

    /// <summary>LOGOUT, then close. Errors are ignored: we are leaving anyway.</summary>
    public async Task LogoutAsync(CancellationToken ct = default)
    {
        if (_broken) return;
        try
        {
            (await RunAsync("LOGOUT", ["LOGOUT"], ct).ConfigureAwait(false)).ForEach(r => r.Dispose());
        }
        catch (Exception ex) when (ex is ImapConnectionException or ImapCommandException)
        {
        }
        _broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    // ---- commands ----

    /// <summary>A password or SASL response: sent, never shown in an error.</summary>
    private sealed record Secret(object Value);

    /// <summary>An astring (RFC 3501 §9): an atom when it can be one, a quoted string for other printable ASCII, a literal otherwise.</summary>
    private static object AString(string s)
    {
        if (s.Length > 0 && s.All(c => c is > ' ' and < '\x7f' and not ('(' or ')' or '{' or '%' or '*' or '"' or '\\'))) return s;
        if (s.All(c => c is >= ' ' and < '\x7f')) return "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        return Encoding.UTF8.GetBytes(s);
    }

    private string NextTag() => "C" + (++_tag).ToString("D4", CultureInfo.InvariantCulture);

    private bool _capabilitiesFromLastOk;
    private string _lastTaggedCode = "";

    /// <summary>Sends one command (strings, byte[] literals, secrets) and returns the untagged responses that came
    /// before its tagged OK, in the order received. NO/BAD: <see cref="ImapCommandException"/>.</summary>
    private async Task<List<ImapResponse>> RunAsync(string name, object[] parts, CancellationToken ct, string? continuation = null)
    {
        ThrowIfBroken();
        var tag = NextTag();
        var untagged = new List<ImapResponse>();
        try
        {
            var line = new MemoryStream();
            line.Write(Encoding.ASCII.GetBytes(tag + " "));
            foreach (var raw in parts)
            {
                var part = raw is Secret s ? s.Value : raw;
                if (part is string text) line.Write(Encoding.UTF8.GetBytes(text));
                else if (part is byte[] literal)
                {
                    var plus = _capabilities.Contains("LITERAL+") || (_capabilities.Contains("LITERAL-") && literal.Length <= 4096);
                    line.Write(Encoding.ASCII.GetBytes($"{{{literal.Length}{(plus ? "+" : "")}}}\r\n"));
                    await WriteAsync(line.ToArray(), ct).ConfigureAwait(false);
                    line.SetLength(0);
                    if (!plus) await AwaitContinuationAsync(tag, name, untagged, ct).ConfigureAwait(false);
                    line.Write(literal);
                }
            }
            line.Write("\r\n"u8);
            await WriteAsync(line.ToArray(), ct).ConfigureAwait(false);
            if (continuation is not null)
            {
                await AwaitContinuationAsync(tag, name, untagged, ct).ConfigureAwait(false);
                await WriteAsync(Encoding.ASCII.GetBytes(continuation + "\r\n"), ct).ConfigureAwait(false);
            }
            while (true)
            {
                var r = await ReadAsync(ct).ConfigureAwait(false);
                if (r.Kind == ImapResponseKind.Tagged)
                {
                    using (r)
                    {
                        ThrowIfRefused(r, tag, name);
                        _capabilitiesFromLastOk = TakeCapabilityCode(r.Code);
                        _lastTaggedCode = r.Code ?? "";
                        return untagged;
                    }
                }
                if (r.Kind == ImapResponseKind.Continuation)
                {
                    r.Dispose();
                    // A server asking for more than we have to give: cancel with "*" (RFC 4959 style) is for SASL only.
                    if (name == "AUTHENTICATE") { await WriteAsync("*\r\n"u8.ToArray(), ct).ConfigureAwait(false); continue; }
                    throw Broken(new ImapProtocolException($"An unexpected continuation request during {name}."));
                }
                Untagged(r);
                untagged.Add(r);
            }
        }
        catch
        {
            untagged.ForEach(r => r.Dispose());
            throw;
        }
    }

    private async Task AwaitContinuationAsync(string tag, string name, List<ImapResponse> untagged, CancellationToken ct)
    {
        while (true)
        {
            var r = await ReadAsync(ct).ConfigureAwait(false);
            if (r.Kind == ImapResponseKind.Continuation) { r.Dispose(); return; }
            if (r.Kind == ImapResponseKind.Tagged) using (r) { ThrowIfRefused(r, tag, name); throw Broken(new ImapProtocolException($"{name} completed before its literal was sent.")); }
            Untagged(r);
            untagged.Add(r);
        }
    }

    private void Untagged(ImapResponse r)
    {
        if (r.Status == "BYE") _byeText = r.Text;
        else if (r.Status is not null) TakeCapabilityCode(r.Code);
        else if (r.DataName == "CAPABILITY")
        {
            _capabilities = new HashSet<string>(r.Values.Skip(1).Select(v => v.AsString() ?? ""), StringComparer.OrdinalIgnoreCase);
            _capabilitiesFromLastOk = true;
        }
    }

    private string? _byeText;

    private bool TakeCapabilityCode(string? code)
    {
        if (code is null || !code.StartsWith("CAPABILITY ", StringComparison.OrdinalIgnoreCase)) return false;
        _capabilities = new HashSet<string>(code[11..].Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase);
        return true;
    }

    private void ThrowIfRefused(ImapResponse r, string tag, string name)
    {
        if (r.Tag != tag) throw Broken(new ImapProtocolException($"A reply to an unknown command '{r.Tag}' while waiting for {tag} ({name})."));
        if (r.Status != "OK") throw new ImapCommandException(name, r.Status!, r.Code, r.Text);
    }

    private async Task<ImapResponse> ReadAsync(CancellationToken ct, TimeSpan? timeout = null)
    {
        ThrowIfBroken();
        try
        {
            return await _reader.ReadAsync(ct, timeout).ConfigureAwait(false);
        }
        catch (ImapConnectionException ex)
        {
            if (_byeText is { } bye && ex is not ImapProtocolException) throw Broken(new ImapConnectionException($"The server closed the connection: {bye}", ex));
            throw Broken(ex);
        }
        catch (OperationCanceledException)
        {
            _broken = true; // a half-read response leaves the stream out of step
            throw;
        }
    }

    private async Task WriteAsync(byte[] bytes, CancellationToken ct)
    {
        ThrowIfBroken();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_options.Timeout);
        try
        {
            await _stream.WriteAsync(bytes, cts.Token).ConfigureAwait(false);
            await _stream.FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Broken(new ImapTimeoutException($"Could not send to the server within {_options.Timeout.TotalSeconds:0.###} s."));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw Broken(new ImapConnectionException($"The connection failed while sending: {ex.Message}", ex));
        }
    }

    private void ThrowIfBroken()
    {
        if (_broken) throw new ImapConnectionException("The connection is closed.");
    }

    private Exception Broken(ImapConnectionException ex)
    {
        _broken = true;
        try { _stream.Dispose(); } catch (IOException) { }
        return ex;
    }
}
