// Start, graceful stop (transactions in flight finish, idle clients get 421) and stop without grace.
using System.Net;
using System.Net.Sockets;
using CprDesk.Mail.Smtp;
using CprDesk.Mail.Tests.Smtp.Server.Support;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class ServerLifecycleTests
{
    [Fact]
    public async Task Graceful_stop_lets_a_transaction_in_flight_finish()
    {
        await using var server = await TestServer.StartAsync();
        await using var busy = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(250, (await busy.CommandAsync("MAIL FROM:<reporter@example.org>")).Code);
        Assert.Equal(250, (await busy.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal(354, (await busy.CommandAsync("DATA")).Code);
        await busy.WriteAsync("Subject: in flight\r\n\r\n");
        await using var idle = await RawSmtpClient.ConnectAndGreetAsync(server.Port);

        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var stop = server.Server.StopAsync(grace.Token);
        var goodbye = await idle.ReadReplyAsync();
        Assert.Equal(421, goodbye.Code);
        Assert.StartsWith("4.3.2 ", goodbye.Text);
        Assert.True(await idle.IsClosedByServerAsync());
        Assert.False(stop.IsCompleted);

        await busy.WriteAsync("finished after stop began\r\n.\r\n");
        Assert.Equal(250, (await busy.ReadReplyAsync()).Code);
        Assert.Equal(421, (await busy.ReadReplyAsync()).Code);
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(server.Store.Saved);

        using var late = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => late.ConnectAsync(IPAddress.Loopback, server.Port));
    }

    [Fact]
    public async Task Stop_without_grace_cancels_the_store_and_acknowledges_nothing()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = new RecordingStore
        {
            OnSave = async (_, ct) =>
            {
                entered.SetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                return null;
            },
        };
        await using var server = await TestServer.StartAsync(store: store);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<reporter@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.WriteAsync("Subject: slow store\r\n\r\n.\r\n");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        using var grace = new CancellationTokenSource();
        var stop = server.Server.StopAsync(grace.Token);
        Assert.False(stop.IsCompleted);
        grace.Cancel();
        await stop.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(await client.IsClosedByServerAsync()); // no 250, no reply at all
        Assert.Empty(store.Saved);
        Assert.Equal(1, store.SaveCalls);
    }

    [Fact]
    public async Task Options_are_checked_and_ports_reported()
    {
        var store = new RecordingStore();
        Assert.Throws<ArgumentException>(() => new SmtpServer(new SmtpServerOptions(), store));
        var bad = new SmtpServerOptions { HostName = "two words" };
        bad.Endpoints.Add(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Throws<ArgumentException>(() => new SmtpServer(bad, store));

        var options = new SmtpServerOptions();
        options.Endpoints.Add(new IPEndPoint(IPAddress.Loopback, 0));
        options.Endpoints.Add(new IPEndPoint(IPAddress.Loopback, 0));
        await using var server = new SmtpServer(options, store);
        Assert.Empty(server.BoundEndpoints);
        await server.StartAsync();
        Assert.Equal(2, server.BoundEndpoints.Count);
        Assert.All(server.BoundEndpoints, e => Assert.NotEqual(0, e.Port));
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync());
        foreach (var endpoint in server.BoundEndpoints)
        {
            await using var client = await RawSmtpClient.ConnectAsync(endpoint.Port);
            Assert.Equal("220 localhost ESMTP ready", (await client.ReadReplyAsync()).Lines[0]);
        }
    }

    [Fact]
    public async Task A_throwing_logger_does_not_break_the_server()
    {
        var options = new SmtpServerOptions();
        options.Endpoints.Add(new IPEndPoint(IPAddress.Loopback, 0));
        await using var server = new SmtpServer(options, new RecordingStore(), _ => throw new InvalidOperationException("log down"));
        await server.StartAsync();
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.BoundEndpoints[0].Port);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
    }
}
