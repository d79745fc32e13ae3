using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CprDesk.Tests.Support;

/// <summary>A loopback IMAP server that plays along until a chosen point and then misbehaves. Plain text, one
/// folder (INBOX, UIDVALIDITY 7, UIDs 1 and 2).</summary>
public sealed class HostileImapServer : IAsyncDisposable
{
    public enum Fault { None, DropMidLiteral, Garbage, StallAfterLogin }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _connections;

    public Fault Mode { get; set; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Connections => Volatile.Read(ref _connections);

    public static readonly byte[] Message = Encoding.ASCII.GetBytes(
        "From: Reporter <reporter@example.org>\r\nTo: cpr@ca.example\r\nSubject: Key compromise\r\nMessage-ID: <hostile-1@example.org>\r\n\r\nThe private key is attached.\r\n");

    public HostileImapServer(Fault mode)
    {
        Mode = mode;
        _listener.Start();
        _accept = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                sessions.Add(SessionAsync(client));
            }
        }
        catch (OperationCanceledException) { }
        catch (SocketException) { }
        await Task.WhenAll(sessions);
    }

    private async Task SessionAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.Latin1);
                async Task Send(string s) => await stream.WriteAsync(Encoding.Latin1.GetBytes(s), _stop.Token);
                await Send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hostile test server\r\n");
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    var parts = line.Split(' ', 3);
                    var tag = parts[0];
                    var cmd = parts.Length > 1 ? parts[1].ToUpperInvariant() : "";
                    var rest = parts.Length > 2 ? parts[2] : "";
                    if (cmd == "UID") { cmd += " " + rest.Split(' ')[0].ToUpperInvariant(); }
                    switch (cmd)
                    {
                        case "CAPABILITY":
                            await Send($"* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\n{tag} OK done\r\n");
                            break;
                        case "AUTHENTICATE":
                        case "LOGIN":
                            if (Mode == Fault.StallAfterLogin)
                            {
                                await Task.Delay(Timeout.Infinite, _stop.Token);
                                return;
                            }
                            await Send($"{tag} OK [CAPABILITY IMAP4rev1] logged in\r\n");
                            break;
                        case "LIST":
                            await Send($"* LIST (\\HasNoChildren) \"/\" INBOX\r\n{tag} OK done\r\n");
                            break;
                        case "EXAMINE":
                            await Send($"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n{tag} OK [READ-ONLY] done\r\n");
                            break;
                        case "UID SEARCH":
                            await Send(rest.Contains("LARGER", StringComparison.Ordinal) ? $"* SEARCH\r\n{tag} OK done\r\n" : $"* SEARCH 1 2\r\n{tag} OK done\r\n");
                            break;
                        case "UID FETCH":
                            var uid = rest.Split(' ')[1];
                            var head = $"* {uid} FETCH (UID {uid} FLAGS () INTERNALDATE \"04-Mar-2026 10:00:00 +0000\" RFC822.SIZE {Message.Length} BODY[] {{{Message.Length}}}\r\n";
                            if (Mode == Fault.DropMidLiteral)
                            {
                                await Send(head + Encoding.ASCII.GetString(Message, 0, Message.Length / 2));
                                return; // the connection closes in the middle of the literal
                            }
                            if (Mode == Fault.Garbage)
                            {
                                await Send("\u0001\u0002 this is not IMAP \u00ff\r\n");
                                break;
                            }
                            await Send(head + Encoding.ASCII.GetString(Message) + $")\r\n{tag} OK done\r\n");
                            break;
                        case "LOGOUT":
                            await Send($"* BYE bye\r\n{tag} OK done\r\n");
                            return;
                        default:
                            await Send($"{tag} OK done\r\n");
                            break;
                    }
                }
            }
            catch (OperationCanceledException) { }
            catch (IOException) { }
            catch (SocketException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accept;
        _stop.Dispose();
    }
}
