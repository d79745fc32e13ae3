// Batches SMTP replies and writes them when the session is about to wait for the client (RFC 2920 §3.2).
using System.Buffers;
using System.Text;

namespace CprDesk.Mail.Smtp.Server;

/// <summary>
/// Collects replies in a bounded buffer. The session flushes before every network read and before
/// closing, so a pipelining client gets its replies in one batch and a non-pipelining client gets each
/// reply before it is expected to send again. Replies are ASCII (see <see cref="SmtpReply"/>).
/// </summary>
internal sealed class ReplyWriter
{
    /// <summary>Above this, a batch is written even if more pipelined commands are waiting.</summary>
    public const int FlushThreshold = 4096;

    private readonly ArrayBufferWriter<byte> _pending = new(1024);

    public bool HasPending => _pending.WrittenCount > 0;

    public bool ShouldFlushEarly => _pending.WrittenCount >= FlushThreshold;

    public void Add(SmtpReply reply) => Append(reply.ToWireLine());

    public void Add(int code, string enhancedCode, string text) =>
        Append(SmtpReply.FormatLine(code, enhancedCode, text, last: true));

    /// <summary>A multi-line reply (RFC 5321 §4.2.1): "250-first", ..., "250 last".</summary>
    public void AddMultiline(int code, IReadOnlyList<string> lines)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            Append(SmtpReply.FormatLine(code, null, lines[i], last: i == lines.Count - 1));
        }
    }

    public async ValueTask FlushAsync(Stream stream, CancellationToken ct)
    {
        if (!HasPending)
        {
            return;
        }
        await stream.WriteAsync(_pending.WrittenMemory, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
        _pending.ResetWrittenCount();
    }

    /// <summary>Drops unsent replies (after STARTTLS's 220 went out, nothing else may be pending).</summary>
    public void Clear() => _pending.ResetWrittenCount();

    private void Append(string line)
    {
        var span = _pending.GetSpan(line.Length);
        var n = Encoding.ASCII.GetBytes(line, span);
        _pending.Advance(n);
    }
}
