// A raw TCP server on 127.0.0.1 that a test drives line by line, for behaviour a well-behaved sink cannot show.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CprDesk.Mail.Tests.Smtp.Client;

internal sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(20));
    private TcpClient? _client;
    private StreamReader? _reader;
    private Stream? _stream;

    public ScriptedPeer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async Task AcceptAsync()
    {
        _client = await _listener.AcceptTcpClientAsync(_cts.Token);
        _stream = _client.GetStream();
        _reader = new StreamReader(_stream, Encoding.ASCII);
    }

    public async Task SendAsync(string text) => await _stream!.WriteAsync(Encoding.ASCII.GetBytes(text), _cts.Token);

    /// <summary>The next line from the client; fails the test if none comes within the peer's 20 s budget.</summary>
    public async Task<string> ReadLineAsync() =>
        await _reader!.ReadLineAsync(_cts.Token) ?? throw new Xunit.Sdk.XunitException("the client closed the connection");

    /// <summary>Reads until the client closes; returns what arrived.</summary>
    public async Task<List<string>> ReadToEndAsync()
    {
        var lines = new List<string>();
        try
        {
            while (await _reader!.ReadLineAsync(_cts.Token) is { } line) lines.Add(line);
        }
        catch (IOException)
        {
            // A reset after the client's close is an end too.
        }
        return lines;
    }

    public void Close() => _client?.Close();

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        _listener.Stop();
        _listener.Dispose();
        await _cts.CancelAsync();
        _cts.Dispose();
    }
}
