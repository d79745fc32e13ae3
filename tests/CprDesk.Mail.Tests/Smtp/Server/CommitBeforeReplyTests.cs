// The core rule: no 250 to the end of DATA before the store's SaveAsync has returned its 250.
using CprDesk.Mail.Smtp;
using CprDesk.Mail.Tests.Smtp.Server.Support;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class CommitBeforeReplyTests
{
    [Fact]
    public async Task The_250_arrives_only_after_SaveAsync_returned_it()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource<SmtpReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        var committed = 0;
        var store = new RecordingStore
        {
            OnSave = async (_, _) =>
            {
                entered.SetResult();
                var reply = await release.Task;
                Volatile.Write(ref committed, 1);
                return reply;
            },
        };
        await using var server = await TestServer.StartAsync(store: store);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(server.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<reporter@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<cpr@ca.test.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        // A pipelined NOOP after the dot must not be answered ahead of the message either.
        await client.WriteAsync("Subject: commit first\r\n\r\nbody\r\n.\r\nNOOP\r\n");

        var replyToData = client.ReadReplyAsync(TimeSpan.FromSeconds(10));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Nothing signals "no bytes were sent", so give them a bounded chance to (wrongly) arrive.
        var first = await Task.WhenAny(replyToData, Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.NotSame(replyToData, first);
        Assert.Equal(0, Volatile.Read(ref committed));
        Assert.Empty(store.Saved);

        release.SetResult(SmtpReply.Ok("committed as CPR-7"));
        var reply = await replyToData;
        Assert.Equal("250 2.0.0 committed as CPR-7", reply.Lines[0]);
        Assert.Equal(1, Volatile.Read(ref committed));
        Assert.Single(store.Saved);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code); // the NOOP, after
    }
}
