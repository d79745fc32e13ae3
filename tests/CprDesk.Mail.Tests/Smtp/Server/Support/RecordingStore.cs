// A message store for tests: records copies of what it accepts and lets a test choose its answers.
using System.Collections.Concurrent;
using CprDesk.Mail.Smtp;

namespace CprDesk.Mail.Tests.Smtp.Server.Support;

/// <summary>What the store saw at the end of DATA, copied (the server disposes the message afterwards).</summary>
public sealed record StoredMessage(
    string MailFrom,
    IReadOnlyList<string> Recipients,
    bool EightBitMime,
    long DeclaredSize,
    long Length,
    string Sha256,
    byte[] Bytes,
    SmtpSessionInfo Session,
    string ReceivedHeader,
    DateTimeOffset ReceivedAt);

public sealed class RecordingStore : ISmtpMessageStore
{
    private int _saveCalls;

    /// <summary>Messages this store acknowledged (returned a 250 for), in order.</summary>
    public ConcurrentQueue<StoredMessage> Saved { get; } = new();

    public int SaveCalls => Volatile.Read(ref _saveCalls);

    /// <summary>Recipients refused with 550 5.1.1: by default those whose local part is "nobody".</summary>
    public Func<string, bool> Refuse { get; set; } = r => r.StartsWith("nobody@", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs inside SaveAsync before the copy is recorded; may throw, block, or replace the reply.</summary>
    public Func<SmtpIncomingMessage, CancellationToken, Task<SmtpReply?>>? OnSave { get; set; }

    public ValueTask<SmtpReply> CheckRecipientAsync(SmtpSessionInfo session, string mailFrom, string recipient, CancellationToken ct) =>
        ValueTask.FromResult(Refuse(recipient) ? SmtpReply.NoSuchUser() : new SmtpReply(250, "2.1.5", "recipient OK"));

    public async ValueTask<SmtpReply> SaveAsync(SmtpIncomingMessage message, CancellationToken ct)
    {
        var n = Interlocked.Increment(ref _saveCalls);
        SmtpReply? reply = null;
        if (OnSave is not null)
        {
            reply = await OnSave(message, ct);
        }
        reply ??= SmtpReply.Ok($"queued as {n}");
        if (reply.Code == 250)
        {
            Saved.Enqueue(new StoredMessage(
                message.MailFrom, message.Recipients, message.EightBitMime, message.DeclaredSize, message.Length,
                message.Sha256, await ReadAllAsync(message, ct), message.Session, message.ReceivedHeader, message.ReceivedAt));
        }
        return reply;
    }

    /// <summary>Reads the bytes twice, since OpenRead must be callable more than once; both reads must agree.</summary>
    private static async Task<byte[]> ReadAllAsync(SmtpIncomingMessage message, CancellationToken ct)
    {
        var first = new MemoryStream();
        await using (var s = message.OpenRead())
        {
            await s.CopyToAsync(first, ct);
        }
        var second = new MemoryStream();
        await using (var s = message.OpenRead())
        {
            await s.CopyToAsync(second, ct);
        }
        Assert.Equal(first.ToArray(), second.ToArray());
        return first.ToArray();
    }
}
