// Starts a real SmtpServer on 127.0.0.1 with an ephemeral port for one test.
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Mail.Smtp;

namespace CprDesk.Mail.Tests.Smtp.Server.Support;

public sealed class TestServer : IAsyncDisposable
{
    private static readonly Lazy<X509Certificate2> SharedCertificate = new(() => DevelopmentCertificate.CreateSelfSigned("mx.test.example"));

    private TestServer(SmtpServer server, RecordingStore store, ConcurrentQueue<string> log)
    {
        Server = server;
        Store = store;
        Log = log;
    }

    public SmtpServer Server { get; }
    public RecordingStore Store { get; }
    public ConcurrentQueue<string> Log { get; }
    public int Port => Server.BoundEndpoints[0].Port;

    public static X509Certificate2 Certificate => SharedCertificate.Value;

    public static async Task<TestServer> StartAsync(Action<SmtpServerOptions>? configure = null, RecordingStore? store = null)
    {
        var options = new SmtpServerOptions { HostName = "mx.test.example", Certificate = Certificate };
        options.Endpoints.Add(new IPEndPoint(IPAddress.Loopback, 0));
        configure?.Invoke(options);
        var log = new ConcurrentQueue<string>();
        store ??= new RecordingStore();
        var server = new SmtpServer(options, store, log.Enqueue);
        await server.StartAsync();
        return new TestServer(server, store, log);
    }

    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await Server.StopAsync(grace.Token);
        await Server.DisposeAsync();
    }
}
