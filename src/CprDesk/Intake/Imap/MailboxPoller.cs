// Polls one hosted mailbox: every folder, read-only, every message not yet stored goes through the intake pipeline
// with its INTERNALDATE as receipt time. Nothing on the server is ever changed (no \Seen, no delete, no move), so
// the mailbox's own users and other tools see it as before. A UID is recorded only after its message is committed;
// whatever is on the server but not stored after a cycle is an alarm.
using System.Security.Cryptography;
using CprDesk.Mail.Imap;
using CprDesk.Notifications;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake.Imap;

/// <summary>What one cycle did.</summary>
public sealed record MailboxCycle(bool Succeeded, int Stored, int Linked, IReadOnlyList<MissingMessage> Missing, string? Error, bool FailureAlarm);

/// <summary>A message on the server that is not stored.</summary>
public sealed record MissingMessage(string Folder, long UidValidity, long Uid, string Reason);

public sealed class MailboxPoller(MailboxSettings settings, Database database, IntakePipeline intake, Outbox outbox, TimeProvider time, ILogger<MailboxPoller> log)
{
    public const string FoundInJunk = "found-in-junk";
    /// <summary>A poller failing this long raises the alarm.</summary>
    public static readonly TimeSpan FailureAlarmAfter = TimeSpan.FromMinutes(10);

    private readonly SemaphoreSlim _gate = new(1, 1);

    public MailboxSettings Settings => settings;
    public string PeerAddress => $"imap:{settings.Name}";

    /// <summary>True after a cycle in which the server offered IDLE.</summary>
    public bool ServerOffersIdle { get; private set; }

    /// <summary>One poll of every folder. Never throws for the server's or the network's faults: they are recorded on
    /// the mailbox (last error) and raise the alarm once the mailbox has failed for <see cref="FailureAlarmAfter"/>.</summary>
    public async Task<MailboxCycle> RunOnceAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return await CycleAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<MailboxCycle> CycleAsync(CancellationToken ct)
    {
        await database.WriteAsync(time, async s =>
        {
            var row = await s.Db.Mailboxes.FirstOrDefaultAsync(m => m.Name == settings.Name);
            if (row is null) s.Db.Mailboxes.Add(row = new MailboxRow { Name = settings.Name });
            row.LastAttemptAt = s.Now;
            return true;
        }, ct);
        var stored = 0;
        var linked = 0;
        var missing = new List<MissingMessage>();
        ImapClient? client = null;
        try
        {
            var password = settings.ReadPassword();
            client = await ImapClient.ConnectAsync(settings.ClientOptions(Path.Combine(database.DataDirectory, "tmp")), ct);
            await client.AuthenticateAsync(settings.User, password, ct);
            ServerOffersIdle = client.Capabilities.Contains("IDLE");
            var folders = await client.ListAsync(ct);
            foreach (var folder in folders.Where(f => f.Selectable))
            {
                var result = await PollFolderAsync(client, folder, ct);
                stored += result.Stored;
                linked += result.Linked;
                missing.AddRange(result.Missing);
            }
            await client.LogoutAsync(ct);
            var seen = folders.Where(f => f.Selectable).Select(f => f.Name).ToList();
            var newlyMissing = await database.WriteAsync(time, async s =>
            {
                var row = await s.Db.Mailboxes.FirstAsync(m => m.Name == settings.Name);
                if (row.FailingSince is not null)
                    await s.AuditAsync("system", "imap.poller-recovered", null, new { mailbox = settings.Name, failingSince = row.FailingSince, row.LastError });
                row.LastSuccessAt = s.Now;
                row.LastError = null;
                row.FailingSince = null;
                row.FailureAlarmAt = null;
                foreach (var gone in await s.Db.MailboxFolders.Where(f => f.Mailbox == settings.Name && f.GoneAt == null && !seen.Contains(f.Name)).ToListAsync())
                {
                    gone.GoneAt = s.Now;
                    await s.AuditAsync("system", "imap.folder-gone", null, new { mailbox = settings.Name, folder = gone.Name });
                }
                return await RaiseMissingAlarmsAsync(s);
            }, ct);
            if (stored + linked > 0) log.LogInformation("Mailbox {Mailbox}: stored {Stored} new message(s), linked {Linked}", settings.Name, stored, linked);
            return new MailboxCycle(true, stored, linked, missing, null, false);
        }
        catch (Exception ex) when (ex is ImapConnectionException or ImapCommandException or MailboxConfigurationException && !ct.IsCancellationRequested)
        {
            var error = ex.Message;
            log.LogWarning("Mailbox {Mailbox} ({Host}:{Port}) could not be polled: {Error}", settings.Name, settings.Host, settings.EffectivePort, error);
            var alarm = await database.WriteAsync(time, async s =>
            {
                var row = await s.Db.Mailboxes.FirstAsync(m => m.Name == settings.Name);
                if (row.FailingSince is null)
                {
                    row.FailingSince = s.Now;
                    await s.AuditAsync("system", "imap.poller-failed", null, new { mailbox = settings.Name, error });
                }
                row.LastError = Cap(error);
                await RaiseMissingAlarmsAsync(s); // what was reconciled before the failure still counts
                if (row.FailureAlarmAt is not null || s.Now - row.FailingSince < FailureAlarmAfter) return false;
                row.FailureAlarmAt = s.Now;
                await NotifyAdminsAsync(s, $"Mailbox {settings.Name} has not been polled for {(s.Now - row.FailingSince.Value).TotalMinutes:0} minutes", $"""
                    CprDesk could not read the mailbox {settings.Name} ({settings.User} at {settings.Host}:{settings.EffectivePort}) since {row.FailingSince:yyyy-MM-dd HH:mm} UTC.

                    Last error: {error}

                    Certificate Problem Reports sent to this mailbox are not becoming reports, and their clocks run from the time
                    the server received them. Check the server, the network and the credentials; read the mailbox by hand meanwhile.
                    """);
                await s.AuditAsync("system", "imap.poller-alarm", null, new { mailbox = settings.Name, failingSince = row.FailingSince, error });
                return true;
            }, ct);
            if (alarm) log.LogError("Mailbox {Mailbox} has failed since {Since}; admins notified", settings.Name, FailingSinceText());
            return new MailboxCycle(false, stored, linked, missing, error, alarm);
        }
        finally
        {
            if (client is not null) await client.DisposeAsync();
        }
    }

    private string FailingSinceText() => time.GetUtcNow().ToString("u");

    private sealed record FolderResult(int Stored, int Linked, List<MissingMessage> Missing);

    private async Task<FolderResult> PollFolderAsync(ImapClient client, ImapFolder folder, CancellationToken ct)
    {
        var junk = settings.IsJunk(folder);
        var specialUse = string.Join(' ', folder.Attributes.Where(a => a is @"\Junk" or @"\Archive" or @"\Drafts" or @"\Sent" or @"\Trash" or @"\All" or @"\Flagged"));
        ImapFolderState state;
        try
        {
            state = await client.ExamineAsync(folder, ct);
        }
        catch (ImapCommandException ex)
        {
            // One folder refused: the others are still read. Its messages cannot be reconciled this cycle.
            log.LogWarning("Mailbox {Mailbox}: folder {Folder} could not be examined: {Error}", settings.Name, folder.Name, ex.Message);
            await database.WriteAsync(time, async s =>
            {
                var f = await FolderRowAsync(s, folder.Name, specialUse, junk);
                f.LastError = Cap(ex.Message);
                return true;
            }, ct);
            return new FolderResult(0, 0, []);
        }
        var validity = (long)state.UidValidity;
        var folderId = await database.WriteAsync(time, async s =>
        {
            var f = await FolderRowAsync(s, folder.Name, specialUse, junk);
            if (f.UidValidity is { } old && old != validity)
                // RFC 3501 §2.3.1.1: the old UIDs mean nothing now. Everything is fetched again and matched by content.
                await s.AuditAsync("system", "imap.uidvalidity-changed", null, new { mailbox = settings.Name, folder = folder.Name, old, @new = validity });
            f.UidValidity = validity;
            return f.Id;
        }, ct);

        var onServer = await client.UidSearchAllAsync(ct);
        var tooLarge = state.Exists == 0 ? [] : (await client.UidSearchLargerAsync(settings.MaxMessageBytes, ct)).ToHashSet();
        HashSet<long> storedUids;
        await using (var db = database.Open())
            storedUids = (await db.MailboxStoredUids.Where(u => u.FolderId == folderId && u.UidValidity == validity).Select(u => u.Uid).ToListAsync(ct)).ToHashSet();

        int stored = 0, linked = 0;
        var failed = new Dictionary<long, string>();
        foreach (var uid in onServer.Where(u => !storedUids.Contains(u)))
        {
            if (tooLarge.Contains(uid))
            {
                failed[uid] = $"larger than {settings.MaxMessageBytes} bytes (MaxMessageBytes); not fetched";
                continue;
            }
            ImapFetchedMessage? message;
            try
            {
                message = await client.FetchAsync(uid, ct);
            }
            catch (ImapCommandException ex)
            {
                failed[uid] = ex.Message;
                continue;
            }
            if (message is null) continue; // expunged since the search: nothing to store, nothing missing
            using (message)
            {
                try
                {
                    var outcome = await StoreAsync(folder, folderId, validity, junk, message, client.IsTls);
                    if (outcome) stored++; else linked++;
                    storedUids.Add(uid);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A fault of ours (database, disk): the UID stays unstored, so reconciliation reports it and the next cycle retries.
                    log.LogError(ex, "Mailbox {Mailbox}: message UID {Uid} in {Folder} could not be stored", settings.Name, uid, folder.Name);
                    failed[uid] = $"could not be stored: {ex.GetType().Name}: {ex.Message}";
                }
            }
        }

        // Reconciliation: every UID on the server now must be stored. Deleted on the server but stored: fine, kept.
        var serverSet = onServer.Select(u => (long)u).ToHashSet();
        var missing = serverSet.Where(u => !storedUids.Contains(u)).Order()
            .Select(u => new MissingMessage(folder.Name, validity, u, failed.GetValueOrDefault(u, "not stored"))).ToList();
        await database.WriteAsync(time, async s =>
        {
            var f = await s.Db.MailboxFolders.FirstAsync(x => x.Id == folderId);
            f.ServerCount = onServer.Count;
            f.MissingCount = missing.Count;
            f.LastPolledAt = s.Now;
            f.LastError = null;
            f.GoneAt = null;
            var open = await s.Db.MailboxMissingUids.Where(m => m.FolderId == folderId && m.ResolvedAt == null).ToListAsync();
            foreach (var m in open.Where(m => m.UidValidity != validity || storedUids.Contains(m.Uid) || !serverSet.Contains(m.Uid)))
            {
                m.ResolvedAt = s.Now;
                await s.AuditAsync("system", "imap.missing-resolved", null, new { mailbox = settings.Name, folder = folder.Name, uidValidity = m.UidValidity, uid = m.Uid,
                    how = storedUids.Contains(m.Uid) && m.UidValidity == validity ? "stored" : "no longer on the server" });
            }
            foreach (var m in missing)
            {
                var row = open.FirstOrDefault(o => o.UidValidity == validity && o.Uid == m.Uid && o.ResolvedAt == null)
                    ?? await s.Db.MailboxMissingUids.FirstOrDefaultAsync(o => o.FolderId == folderId && o.UidValidity == validity && o.Uid == m.Uid);
                if (row is null) s.Db.MailboxMissingUids.Add(new MissingUidRow { FolderId = folderId, UidValidity = validity, Uid = m.Uid, Reason = Cap(m.Reason), FirstSeenAt = s.Now });
                else
                {
                    // Missing again after it was resolved (e.g. a stored row lost): a new alarm.
                    if (row.ResolvedAt is not null) { row.ResolvedAt = null; row.AlarmedAt = null; row.FirstSeenAt = s.Now; }
                    row.Reason = Cap(m.Reason);
                }
            }
            return true;
        }, ct);
        return new FolderResult(stored, linked, missing);
    }

    private async Task<MailboxFolderRow> FolderRowAsync(WriteScope s, string name, string specialUse, bool junk)
    {
        var f = await s.Db.MailboxFolders.FirstOrDefaultAsync(x => x.Mailbox == settings.Name && x.Name == name);
        if (f is null)
        {
            s.Db.MailboxFolders.Add(f = new MailboxFolderRow { Mailbox = settings.Name, Name = name });
            await s.Db.SaveChangesAsync();
            await s.AuditAsync("system", "imap.folder-found", null, new { mailbox = settings.Name, folder = name, specialUse, junk });
        }
        f.SpecialUse = specialUse.Length == 0 ? null : specialUse;
        f.IsJunk = junk;
        return f;
    }

    /// <summary>Stores the message (or, when this mailbox already gave us the same bytes — a new UIDVALIDITY, a message
    /// moved between folders, a crash after the commit — links the UID to that message). True when stored anew.</summary>
    private async Task<bool> StoreAsync(ImapFolder folder, long folderId, long validity, bool junk, ImapFetchedMessage message, bool tls)
    {
        var bytes = message.Body.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var internalDate = message.InternalDate?.UtcDateTime;
        long? existing;
        await using (var db = database.Open())
            existing = await db.Messages.Where(m => m.RawSha256 == sha && m.Channel == IntakePipeline.ImapChannel && m.PeerAddress == PeerAddress)
                .OrderBy(m => m.Id).Select(m => (long?)m.Id).FirstOrDefaultAsync();
        var isNew = existing is null;
        var messageId = existing ?? await intake.StoreRawAsync(new RawSubmission(IntakePipeline.ImapChannel, bytes, "message/rfc822", PeerAddress)
        {
            // INTERNALDATE is when the mailbox's server received it: the clock starts there, not at our poll.
            ReceivedAt = internalDate, Tls = tls, Flags = junk ? [FoundInJunk] : [],
        });
        // Only now, with the message committed, is the UID recorded as stored.
        await database.WriteAsync(time, async s =>
        {
            s.Db.MailboxStoredUids.Add(new StoredUidRow
            {
                FolderId = folderId, UidValidity = validity, Uid = message.Uid, MessageId = messageId, InternalDate = internalDate, StoredAt = s.Now,
            });
            var row = await s.Db.Mailboxes.FirstAsync(m => m.Name == settings.Name);
            if (internalDate is { } d && (row.LastMessageAt is null || d > row.LastMessageAt)) row.LastMessageAt = d;
            await s.AuditAsync("system", isNew ? "imap.message-stored" : "imap.message-linked", null, new
            {
                mailbox = settings.Name, folder = folder.Name, uidValidity = validity, uid = message.Uid, messageId, internalDate, junk, size = bytes.LongLength,
            });
            return true;
        });
        if (isNew) intake.EnqueueProcessing(messageId);
        return isNew;
    }

    /// <summary>One email to the admins listing every UID found missing and not yet alarmed; each is alarmed once.</summary>
    private async Task<int> RaiseMissingAlarmsAsync(WriteScope s)
    {
        var fresh = await (from m in s.Db.MailboxMissingUids
                           join f in s.Db.MailboxFolders on m.FolderId equals f.Id
                           where f.Mailbox == settings.Name && m.ResolvedAt == null && m.AlarmedAt == null
                           orderby f.Name, m.Uid
                           select new { Row = m, Folder = f.Name }).ToListAsync();
        if (fresh.Count == 0) return 0;
        foreach (var x in fresh) x.Row.AlarmedAt = s.Now;
        var lines = string.Join("\n", fresh.Select(x => $"- folder {x.Folder}, UID {x.Row.Uid} (UIDVALIDITY {x.Row.UidValidity}): {x.Row.Reason}"));
        await NotifyAdminsAsync(s, $"Mailbox {settings.Name}: {fresh.Count} message(s) on the server are not stored", $"""
            Reconciliation of the mailbox {settings.Name} ({settings.User} at {settings.Host}) found messages on the server that
            CprDesk has not stored, so they are not reports and nobody is watching their clocks:

            {lines}

            Read them in the mailbox now; each may be a Certificate Problem Report. The poller tries again every cycle.
            """);
        await s.AuditAsync("system", "imap.missing", null, new
        {
            mailbox = settings.Name, messages = fresh.Select(x => new { folder = x.Folder, uidValidity = x.Row.UidValidity, uid = x.Row.Uid, reason = x.Row.Reason }),
        });
        log.LogError("Mailbox {Mailbox}: {Count} message(s) on the server are not stored; admins notified", settings.Name, fresh.Count);
        return fresh.Count;
    }

    private async Task NotifyAdminsAsync(WriteScope s, string subject, string text) => await outbox.TellAdminsAsync(s, subject, text);

    /// <summary>Waits for the next cycle: IDLE on INBOX when offered (new mail wakes it early), else the interval.</summary>
    public async Task WaitForNextCycleAsync(bool lastSucceeded, CancellationToken ct)
    {
        var interval = settings.Interval;
        var started = time.GetUtcNow();
        if (lastSucceeded && settings.Idle && ServerOffersIdle)
        {
            ImapClient? client = null;
            try
            {
                client = await ImapClient.ConnectAsync(settings.ClientOptions(Path.Combine(database.DataDirectory, "tmp")), ct);
                await client.AuthenticateAsync(settings.User, settings.ReadPassword(), ct);
                await client.ExamineAsync("INBOX", ct);
                if (await client.IdleAsync(interval, time, ct)) log.LogDebug("Mailbox {Mailbox}: IDLE reported new mail", settings.Name);
                await client.LogoutAsync(ct);
                return;
            }
            catch (Exception ex) when (ex is ImapConnectionException or ImapCommandException or MailboxConfigurationException && !ct.IsCancellationRequested)
            {
                log.LogDebug("Mailbox {Mailbox}: IDLE failed ({Error}); waiting out the interval", settings.Name, ex.Message);
            }
            finally
            {
                if (client is not null) await client.DisposeAsync();
            }
        }
        var left = interval - (time.GetUtcNow() - started);
        if (left > TimeSpan.Zero) await Task.Delay(left, time, ct);
    }

    private static string Cap(string s) => s.Length <= 1000 ? s : s[..1000];
}
