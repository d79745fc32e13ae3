// The sender mailbox canaries come back to: read through a seam because a mailbox may be reached by IMAP or be a
// local Maildir (Postfix's virtual(8) delivers there).
using CprDesk.Mail.Mime;

namespace CprDesk.Channels;

/// <summary>A message in the sender mailbox, as far as the canary checker cares.</summary>
/// <param name="Id">Stable within the mailbox (Maildir: the unique part of the file name; IMAP: the UID).</param>
/// <param name="ReceivedAt">When the mailbox got it (Maildir: the file's time; IMAP: INTERNALDATE).</param>
public sealed record MailboxMessage(string Id, DateTime ReceivedAt, string? Subject, string? From, string? Ticket, string Text);

public interface ICanaryMailbox
{
    string Name { get; }

    /// <summary>Messages the mailbox received at or after <paramref name="sinceUtc"/>. A mailbox that cannot be read
    /// (server down, wrong password, directory gone) throws <see cref="CanaryMailboxException"/>.</summary>
    Task<IReadOnlyList<MailboxMessage>> ReadSinceAsync(DateTime sinceUtc, CancellationToken ct);
}

/// <summary>The sender mailbox could not be read: the checker does not know whether acknowledgements came, so it
/// decides nothing that depends on them (a run is not lost because our reader failed).</summary>
public sealed class CanaryMailboxException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A Maildir (new/ and cur/; tmp/ holds deliveries in progress and is never read). Read-only: the files are
/// left where they are, so another reader (a person's mail client) sees the same mailbox.</summary>
public sealed class MaildirMailbox(string directory) : ICanaryMailbox
{
    /// <summary>Larger files are not canary acknowledgements; they are skipped, not read into memory.</summary>
    public const long MaxMessageBytes = 1024 * 1024;

    public string Name => $"maildir:{directory}";

    public async Task<IReadOnlyList<MailboxMessage>> ReadSinceAsync(DateTime sinceUtc, CancellationToken ct)
    {
        if (!Directory.Exists(directory)) throw new CanaryMailboxException($"The sender mailbox {directory} does not exist (CprDesk:Canary:Maildir).");
        var found = new List<MailboxMessage>();
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = new DirectoryInfo(Path.Combine(directory, sub));
            if (!dir.Exists) continue;
            foreach (var file in dir.EnumerateFiles())
            {
                ct.ThrowIfCancellationRequested();
                FileInfo f = file;
                if (f.LastWriteTimeUtc < sinceUtc || f.Length > MaxMessageBytes) continue;
                byte[] raw;
                try { raw = await File.ReadAllBytesAsync(f.FullName, ct); }
                catch (FileNotFoundException) { continue; } // moved from new/ to cur/ while we looked
                using var mime = MimeParser.Parse(raw);
                // "unique:2,flags" in cur/: the part before the colon names the message wherever it lives.
                var id = f.Name.Split(':')[0];
                found.Add(new MailboxMessage(id, f.LastWriteTimeUtc, mime.Subject, mime.From.FirstOrDefault()?.Address,
                    mime.Headers["X-CPR-Ticket"]?.Trim(), mime.TextBody ?? ""));
            }
        }
        return found.DistinctBy(m => m.Id).OrderBy(m => m.ReceivedAt).ToList();
    }
}
