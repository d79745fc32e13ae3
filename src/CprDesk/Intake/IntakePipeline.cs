// One path for every channel: the raw bytes and receipt facts are committed first; only then is anything
// parsed. A crash after the commit loses nothing: ProcessPendingAsync picks the message up again.
using System.Text.Json;
using System.Threading.Channels;
using CprDesk.Compliance;
using CprDesk.Intake.Email;
using CprDesk.Mail.Mime;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake;

/// <summary>A submission as it arrived. Envelope fields are set for mail.</summary>
public sealed record RawSubmission(string Channel, byte[] Body, string? ContentType, string? PeerAddress)
{
    public string? EnvelopeFrom { get; init; }
    public IReadOnlyList<string> EnvelopeTo { get; init; } = [];
    public string? Helo { get; init; }
    public bool Tls { get; init; }
    /// <summary>When the channel finished receiving (SMTP: end of DATA); our commit time when null.</summary>
    public DateTime? ReceivedAt { get; init; }
    /// <summary>Flags the channel knows at receipt (IMAP: <c>found-in-junk</c>); kept when the message is processed.</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];
    /// <summary>The SHA-256 of <see cref="Body"/> (lower-case hex) when the channel already hashed it while receiving;
    /// computed at the commit otherwise.</summary>
    public string? Sha256 { get; init; }
}

/// <summary>The report a message created or joined. <see cref="StatusToken"/> is set only for a new report.</summary>
public sealed record IntakeResult(Report Report, string? StatusToken, long MessageId, bool NewReport);

public sealed class IntakePipeline(Database database, TimeProvider time, ReportDesk desk, IntakeLimits limits, Acknowledgements acks,
    Outbox outbox, MailSettings mail, ILogger<IntakePipeline> log, Spam.ISpamScorer? spamScorer = null)
{
    public const string EmailChannel = "email";
    /// <summary>Mail fetched from a hosted mailbox (Intake/Imap); processed exactly as SMTP mail.</summary>
    public const string ImapChannel = "imap";

    public static bool IsMailChannel(string channel) => channel is EmailChannel or ImapChannel;

    /// <summary>Raised after a message became (or joined) a report; for watchdogs and tests.</summary>
    public event Action<IntakeResult>? Processed;

    /// <summary>Run inside the transaction that created a report from a message, after its acknowledgement was queued,
    /// with the raw bytes (Channels/CanaryIntake closes canary reports here). Registered at start-up.</summary>
    public List<Func<WriteScope, Report, byte[], Task>> CreationHooks { get; } = [];

    /// <summary>At most this many submissions share one commit (group commit: one fsync for all of them).</summary>
    public const int MaxBatch = 64;

    /// <summary>…and a commit stops taking more once it holds this many bytes (large messages go nearly alone).</summary>
    public const long MaxBatchBytes = 16 * 1024 * 1024;

    /// <summary>At most this many queued messages become reports in one write transaction (a bound on how long the
    /// batch holds the single writer while SMTP commits wait).</summary>
    public const int MaxProcessBatch = 8;

    private readonly Channel<(RawSubmission Raw, TaskCompletionSource<long> Done)> _toStore =
        Channel.CreateUnbounded<(RawSubmission, TaskCompletionSource<long>)>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Stored messages to process, with the Stopwatch timestamp of when each was queued.</summary>
    private readonly Channel<(long Id, long QueuedAt)> _toProcess =
        Channel.CreateUnbounded<(long, long)>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Messages the worker has queued or is on (see <see cref="ProcessPendingAsync"/>).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, byte> _queued = new();
    private readonly Lock _startLock = new();
    /// <summary>Processing never pauses longer than this between two batches, however long the last one took.</summary>
    public static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(2);

    /// <summary>Processing stops giving way once the next queued message has waited this long: a burst is absorbed at
    /// intake speed, a flood that lasts longer shares the machine and cannot push reports further behind.</summary>
    public static readonly TimeSpan MaxGiveWayAge = TimeSpan.FromSeconds(30);

    /// <summary>True while messages are still being committed (see <see cref="Database.IntakeBusy"/>).</summary>
    public bool IntakeBusy => database.IntakeBusy;

    /// <summary>Batches of stored mail the worker paused after, giving way to intake; for tests and diagnostics.</summary>
    public long PausesForIntake => Interlocked.Read(ref _pauses);
    private long _pauses;
    private Task? _storeLoop, _processLoop;

    /// <summary>Commits the raw bytes and receipt facts; returns the message id once they are on disk. Concurrent
    /// callers are committed together in one transaction, so a burst costs one fsync, not one per message.</summary>
    public async Task<long> StoreRawAsync(RawSubmission raw)
    {
        EnsureLoops();
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_toStore.Writer.TryWrite((raw, done))) throw new InvalidOperationException("The intake is shutting down.");
        return await done.Task;
    }

    /// <summary>Queues a stored message for processing after its channel has answered (SMTP: after the 250).
    /// One message is processed at a time, so intake commits never queue behind a crowd of report transactions.</summary>
    public void EnqueueProcessing(long messageId)
    {
        EnsureLoops();
        if (_queued.TryAdd(messageId, 0) && !_toProcess.Writer.TryWrite((messageId, System.Diagnostics.Stopwatch.GetTimestamp()))) _queued.TryRemove(messageId, out _);
    }

    private void EnsureLoops()
    {
        if (_storeLoop is not null) return;
        lock (_startLock)
        {
            // The loops outlive whoever started them (often an HTTP request): they must not inherit its context.
            using var _ = ExecutionContext.SuppressFlow();
            _storeLoop ??= Task.Run(StoreLoopAsync);
            _processLoop ??= Task.Run(ProcessLoopAsync);
        }
    }

    private async Task StoreLoopAsync()
    {
        var reader = _toStore.Reader;
        while (await reader.WaitToReadAsync())
        {
            var batch = new List<(RawSubmission Raw, TaskCompletionSource<long> Done)>();
            long bytes = 0;
            while (batch.Count < MaxBatch && bytes < MaxBatchBytes && reader.TryRead(out var item))
            {
                batch.Add(item);
                bytes += item.Raw.Body.LongLength;
            }
            try
            {
                var ids = await database.WriteDirectAsync(time, async s =>
                {
                    var list = new List<long>(batch.Count);
                    foreach (var (raw, _) in batch) list.Add(await StoreOneAsync(s, raw));
                    return list;
                });
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(ids[i]);
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                // One bad submission must not fail the others: store them one by one.
                log.LogWarning(ex, "A group commit of {Count} submissions failed; storing them one by one", batch.Count);
                foreach (var (raw, done) in batch)
                {
                    try { done.TrySetResult(await database.WriteDirectAsync(time, s => StoreOneAsync(s, raw))); }
                    catch (Exception one) { done.TrySetException(one); }
                }
            }
            catch (Exception ex)
            {
                batch[0].Done.TrySetException(ex);
            }
        }
    }

    private async Task ProcessLoopAsync()
    {
        var reader = _toProcess.Reader;
        while (await reader.WaitToReadAsync())
        {
            // What has queued up while the last batch ran is processed together (at most MaxProcessBatch at a time);
            // one at a time while mail is arriving, so no batch holds the writer's turn long in front of a commit.
            var max = IntakeBusy ? 1 : MaxProcessBatch;
            var ids = new List<long>(max);
            while (ids.Count < max && reader.TryRead(out var item)) ids.Add(item.Id);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try { await ProcessEmailBatchAsync(ids); }
            catch (Exception ex) { log.LogError(ex, "Stored messages {MessageIds} could not be processed yet; they will be retried", ids); }
            finally
            {
                foreach (var id in ids) _queued.TryRemove(id, out _);
            }
            await GiveWayToIntakeAsync(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>While mail is still arriving, pauses after a batch so that processing takes about
    /// <see cref="MailSettings.ProcessingShareWhileReceiving"/> of the time: the cores a burst competes for go to
    /// committing and answering first. The pause ends as soon as intake goes quiet, and there is none once the next
    /// queued message is older than <see cref="MaxGiveWayAge"/>. Real (monotonic) time on purpose:
    /// this divides the CPU, it is not a domain clock, and a test's fake clock must not stall processing.</summary>
    private async Task GiveWayToIntakeAsync(TimeSpan took)
    {
        var share = mail.ProcessingShareWhileReceiving;
        if (share >= 1 || !IntakeBusy) return;
        if (_toProcess.Reader.TryPeek(out var next) && System.Diagnostics.Stopwatch.GetElapsedTime(next.QueuedAt) > MaxGiveWayAge) return;
        var pause = TimeSpan.FromTicks(Math.Min((long)(took.Ticks * (1 - share) / share), MaxPause.Ticks));
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _pauses);
        while (IntakeBusy)
        {
            var left = pause - System.Diagnostics.Stopwatch.GetElapsedTime(start);
            if (left <= TimeSpan.Zero) return;
            await Task.Delay(left < Database.IntakeBusyWindow ? left : Database.IntakeBusyWindow);
        }
    }

    private static async Task<long> StoreOneAsync(DirectWriteScope s, RawSubmission raw)
    {
        var sha = raw.Sha256 ?? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(raw.Body));
        // Content-addressed and immutable: the same bytes stored twice are one blob.
        var blob = s.Command("INSERT INTO blobs (sha256, size, content) VALUES ($sha, $size, $content) ON CONFLICT (sha256) DO NOTHING");
        blob.Parameters["$sha"].Value = sha;
        blob.Parameters["$size"].Value = raw.Body.LongLength;
        blob.Parameters["$content"].Value = raw.Body;
        await blob.ExecuteNonQueryAsync();

        var receivedAt = raw.ReceivedAt ?? s.Now;
        var envelopeTo = raw.EnvelopeTo.Count == 0 ? null : string.Join(' ', raw.EnvelopeTo);
        var insert = s.Command("""
            INSERT INTO inbound_messages (channel, received_at, accepted_at, raw_sha256, raw_size, content_type, peer_address, status,
                envelope_from, envelope_to, helo, tls, subject, flags)
            VALUES ($channel, $received, $accepted, $sha, $size, $type, $peer, 'received', $from, $to, $helo, $tls, $subject, $flags)
            RETURNING id
            """);
        insert.Parameters["$channel"].Value = raw.Channel;
        insert.Parameters["$received"].Value = receivedAt;
        insert.Parameters["$accepted"].Value = s.Now;
        insert.Parameters["$sha"].Value = sha;
        insert.Parameters["$size"].Value = raw.Body.LongLength;
        insert.Parameters["$type"].Value = (object?)raw.ContentType ?? DBNull.Value;
        insert.Parameters["$peer"].Value = (object?)raw.PeerAddress ?? DBNull.Value;
        insert.Parameters["$from"].Value = (object?)raw.EnvelopeFrom ?? DBNull.Value;
        insert.Parameters["$to"].Value = (object?)envelopeTo ?? DBNull.Value;
        insert.Parameters["$helo"].Value = (object?)raw.Helo ?? DBNull.Value;
        insert.Parameters["$tls"].Value = raw.Tls;
        insert.Parameters["$flags"].Value = string.Join(' ', raw.Flags);
        insert.Parameters["$subject"].Value = raw.Channel switch { "web-form" => "Web form submission", "api" => "API submission", _ => DBNull.Value };
        var id = (long)(await insert.ExecuteScalarAsync())!;

        await s.AuditAsync($"channel:{raw.Channel}", "message.received", null, new
        {
            messageId = id, channel = raw.Channel, sha256 = sha, size = raw.Body.LongLength, peer = raw.PeerAddress,
            receivedAt, envelopeFrom = raw.EnvelopeFrom, envelopeTo, tls = raw.Tls,
        });
        return id;
    }

    /// <summary>Stores, then turns the message into a report. Bad web input is kept (flagged rejected) and reported
    /// to the caller as a <see cref="DeskException"/>; a fault of ours as <see cref="IntakeDeferredException"/>.</summary>
    public async Task<IntakeResult> SubmitAsync(RawSubmission raw)
    {
        var id = await StoreRawAsync(raw);
        try
        {
            return await ProcessAsync(id);
        }
        catch (Exception ex) when (ex is not DeskException and not OperationCanceledException)
        {
            // A fault of ours after the commit: the submission is safe and PendingIntakeService retries it.
            log.LogError(ex, "Stored {Channel} message {MessageId} could not be processed yet", raw.Channel, id);
            throw new IntakeDeferredException(id, ex);
        }
    }

    public async Task<IntakeResult> ProcessAsync(long messageId)
    {
        InboundMessage message;
        byte[] body;
        await using (var db = database.Open())
        {
            message = await db.Messages.AsNoTracking().FirstAsync(m => m.Id == messageId);
            body = (await BlobStore.GetAsync(db, message.RawSha256))!.Content;
        }
        IntakeResult result;
        if (!IsMailChannel(message.Channel)) result = await ProcessWebAsync(message, body);
        else
        {
            try
            {
                result = await ProcessEmailAsync(message, body);
            }
            catch (Exception ex) when (ex is not DeskException and not OperationCanceledException)
            {
                // A message to a CPR address is a report even when our processing fails on it: make a bare one so
                // its clocks run and a person looks at the raw message. (If even this fails, it is retried later.)
                log.LogError(ex, "Email message {MessageId} could not be processed; creating a bare report for it", messageId);
                result = await ProcessBareAsync(message, ex);
            }
        }
        Processed?.Invoke(result);
        return result;
    }

    private async Task<IntakeResult> ProcessWebAsync(InboundMessage message, byte[] body)
    {
        var messageId = message.Id;
        WebSubmission submission;
        try
        {
            submission = await WebSubmissionParser.ParseAsync(message.ContentType, body, limits.MaxAttachmentBytes);
        }
        catch (DeskException ex)
        {
            log.LogWarning("Rejected {Channel} message {MessageId} ({Size} bytes, sha256 {Sha}): {Field}: {Reason}",
                message.Channel, messageId, message.RawSize, message.RawSha256, ex.Field, ex.Message);
            await database.WriteAsync(time, async s =>
            {
                var m = await s.Db.Messages.FirstAsync(x => x.Id == messageId);
                m.Status = "rejected";
                m.Flags = "rejected";
                m.StatusDetail = $"{ex.Field}: {ex.Message}";
                await s.AuditAsync("system", "message.rejected", null, new { messageId, field = ex.Field, reason = ex.Message });
                return true;
            });
            throw;
        }
        var result = await database.WriteAsync(time, async s =>
        {
            if (await AlreadyProcessedAsync(s, messageId) is { } done) return done;
            var created = await desk.CreateAsync(s, new NewReport(
                message.Channel, messageId, message.ReceivedAt, submission.ReporterEmail!, submission.ReporterName,
                submission.ProblemType, submission.Description, submission.Certificates, submission.Attachments), $"channel:{message.Channel}");
            await acks.SendOrSuppressAsync(s, created.Report, created.StatusToken, null, null, [], null);
            foreach (var hook in CreationHooks) await hook(s, created.Report, body);
            return new IntakeResult(created.Report, created.StatusToken, messageId, true);
        });
        if (result.NewReport) log.LogInformation("Report {Ticket} created from {Channel} message {MessageId}", result.Report.Ticket, message.Channel, messageId);
        return result;
    }

    private async Task<IntakeResult> ProcessEmailAsync(InboundMessage message, byte[] body)
    {
        using var work = await PrepareEmailAsync(message, body);
        var result = await database.WriteAsync(time, s => ApplyEmailAsync(s, work));
        LogEmail(result);
        return result;
    }

    private void LogEmail(IntakeResult result) =>
        log.LogInformation("Email message {MessageId} {What} {Ticket}", result.MessageId, result.NewReport ? "created" : "joined", result.Report.Ticket);

    /// <summary>Everything about a stored email that needs no write: parsed once, outside the write transaction.</summary>
    private sealed class EmailWork(InboundMessage message, byte[] body, MimeMessage mime) : IDisposable
    {
        public InboundMessage Message { get; } = message;
        public byte[] Body { get; } = body;
        public MimeMessage Mime { get; } = mime;
        public required string? Suppression { get; init; }
        public required List<string> Flags { get; init; }
        public required DateTime ReceivedAt { get; init; }
        public required List<NewAttachment> Attachments { get; init; }
        public required string? DefectsJson { get; init; }
        public required Spam.SpamScore? Spam { get; init; }
        public void Dispose() => Mime.Dispose();
    }

    private async Task<EmailWork> PrepareEmailAsync(InboundMessage message, byte[] body)
    {
        // Malformed mail still becomes a report: the parser never throws on content and lists what it found wrong.
        var mime = MimeParser.Parse(body);
        try
        {
            var suppression = MailRules.AutoReplySuppression(mime, message.EnvelopeFrom, outbox.LoopToken);
            var flags = message.Flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (mime.Defects.Count > 0) flags.Add("malformed");
            if (suppression is not null && suppression != "rate-limit") flags.Add(suppression == "our-loop-header" ? "our-own-mail" : "auto-submitted");
            var receivedAt = message.ReceivedAt;
            if (MailRules.EarliestTrustedReceipt(mime, mail.TrustedRelays) is { } relayed && relayed < receivedAt) receivedAt = relayed;
            var attachments = mime.Attachments.Select((p, i) =>
            {
                using var stream = p.OpenDecoded();
                using var ms = new MemoryStream();
                stream.CopyTo(ms);
                return new NewAttachment(p.FileName ?? $"part-{i + 1}", p.ContentType.MimeType, ms.ToArray());
            }).ToList();
            var defectsJson = mime.Defects.Count == 0 ? null : JsonSerializer.Serialize(mime.Defects.Select(d => new { code = d.Code, message = d.Message }), AuditJson.Options);
            // After the raw commit and outside the write transaction; bounded by the scorer's timeout.
            var spam = await Spam.SpamFlagging.ScoreAsync(spamScorer, body, log, message.Id);
            return new EmailWork(message, body, mime)
            {
                Suppression = suppression, Flags = flags, ReceivedAt = receivedAt, Attachments = attachments, DefectsJson = defectsJson, Spam = spam,
            };
        }
        catch
        {
            mime.Dispose();
            throw;
        }
    }

    private async Task<IntakeResult> ApplyEmailAsync(WriteScope s, EmailWork w)
    {
        var message = w.Message;
        var mime = w.Mime;
        var flags = w.Flags.ToList(); // a retry after a rolled-back batch starts from the prepared flags again
        var from = mime.From.FirstOrDefault();
        if (await AlreadyProcessedAsync(s, message.Id) is { } done) return done;
        var m = await s.Db.Messages.FirstAsync(x => x.Id == message.Id);
        m.Subject = Cap(mime.Subject, 1000);
        m.FromAddress = Cap(from?.Address, 320);
        m.MessageId = Cap(mime.MessageId, 998);
        m.Defects = w.DefectsJson;
        m.ReceivedAt = w.ReceivedAt;
        await Spam.SpamFlagging.RecordAsync(s, spamScorer, m.Id, w.Spam, flags);

        // The same message delivered twice (same Message-ID and bytes) joins the first copy's report.
        if (m.MessageId is not null)
        {
            var twin = await s.Db.Messages.Where(x => x.Id != m.Id && x.MessageId == m.MessageId && x.RawSha256 == m.RawSha256 && x.ReportId != null)
                .OrderBy(x => x.Id).FirstOrDefaultAsync();
            if (twin is not null)
            {
                flags.Add("duplicate");
                return await AppendAsync(s, m, flags, twin.ReportId!.Value, "duplicate", reopen: false);
            }
        }

        var thread = await FindThreadAsync(s, mime);
        if (thread is { } t) return await AppendAsync(s, m, flags, t.ReportId, t.By, reopen: !flags.Contains("auto-submitted") && !flags.Contains("our-own-mail"));

        m.Flags = string.Join(' ', flags);
        var reporter = from?.Address ?? (string.IsNullOrEmpty(message.EnvelopeFrom) ? "unknown" : message.EnvelopeFrom);
        var created = await desk.CreateAsync(s, new NewReport(message.Channel, m.Id, w.ReceivedAt, reporter, Cap(from?.DisplayName, 200), null,
            Cap(mime.TextBody, WebSubmissionParser.MaxDescriptionChars) ?? "(the message has no text body)", [], w.Attachments), $"channel:{message.Channel}");
        var refs = mime.References.Concat(mime.MessageId is null ? [] : [mime.MessageId]).TakeLast(20).ToList();
        await acks.SendOrSuppressAsync(s, created.Report, created.StatusToken, Spam.SpamFlagging.SuppressionFor(w.Spam, w.Suppression), mime.MessageId, refs, mime.Subject);
        await Spam.SpamFlagging.HoldForReviewAsync(s, created.Report, m.Id, w.Spam, acknowledgementHeld: w.Suppression is null);
        foreach (var hook in CreationHooks) await hook(s, created.Report, w.Body);
        return new IntakeResult(created.Report, created.StatusToken, m.Id, true);
    }

    /// <summary>Several stored emails turned into reports in one write transaction: one commit (and one fsync) for the
    /// batch instead of one each, so report processing holds the single writer for less of the time intake needs it.
    /// If the batch fails as a whole, each message is processed on its own (the usual path, with its bare-report
    /// fallback), so one bad message costs the others nothing but a retry.</summary>
    private async Task ProcessEmailBatchAsync(IReadOnlyList<long> ids)
    {
        var works = new List<EmailWork>(ids.Count);
        var alone = new List<long>();
        try
        {
            await using (var db = database.Open())
            {
                var messages = await db.Messages.AsNoTracking().Where(m => ids.Contains(m.Id)).ToDictionaryAsync(m => m.Id);
                foreach (var id in ids)
                {
                    if (!messages.TryGetValue(id, out var message) || !IsMailChannel(message.Channel) || message.Status != "received")
                    {
                        alone.Add(id);
                        continue;
                    }
                    try
                    {
                        var body = (await BlobStore.GetAsync(db, message.RawSha256))!.Content;
                        works.Add(await PrepareEmailAsync(message, body));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        log.LogWarning(ex, "Email message {MessageId} could not be prepared in a batch; processing it on its own", id);
                        alone.Add(id);
                    }
                }
            }
            if (works.Count > 0)
            {
                List<IntakeResult> results;
                try
                {
                    results = await database.WriteAsync(time, async s =>
                    {
                        var list = new List<IntakeResult>(works.Count);
                        foreach (var w in works)
                        {
                            list.Add(await ApplyEmailAsync(s, w));
                            await s.Db.SaveChangesAsync(); // the next message threads and de-duplicates against this one
                            // Saved entities need not be tracked: every later save would compare them all again
                            // (EF Core's change detection was most of a batch's CPU).
                            s.Db.ChangeTracker.Clear();
                        }
                        return list;
                    });
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    log.LogWarning(ex, "A batch of {Count} email messages could not be processed together; processing them one by one", works.Count);
                    alone.AddRange(works.Select(w => w.Message.Id));
                    results = [];
                }
                foreach (var result in results)
                {
                    LogEmail(result);
                    Processed?.Invoke(result);
                }
            }
        }
        finally
        {
            foreach (var w in works) w.Dispose();
        }
        foreach (var id in alone.Order())
        {
            try { await ProcessAsync(id); }
            catch (DeskException) { } // flagged and logged where it was refused
            catch (Exception ex) when (ex is not OperationCanceledException) { log.LogError(ex, "Stored message {MessageId} could not be processed yet; it will be retried", id); }
        }
    }

    private async Task<IntakeResult> ProcessBareAsync(InboundMessage message, Exception error) => await database.WriteAsync(time, async s =>
    {
        if (await AlreadyProcessedAsync(s, message.Id) is { } done) return done;
        var m = await s.Db.Messages.FirstAsync(x => x.Id == message.Id);
        m.Flags = string.Join(' ', m.Flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("processing-failed"));
        m.StatusDetail = Cap($"{error.GetType().Name}: {error.Message}", 1000);
        var reporter = string.IsNullOrEmpty(message.EnvelopeFrom) ? "unknown" : message.EnvelopeFrom;
        var created = await desk.CreateAsync(s, new NewReport(message.Channel, m.Id, message.ReceivedAt, reporter, null, null,
            $"CprDesk could not process this message automatically ({m.StatusDetail}). Read the raw message.", [], []), "channel:email");
        await s.AuditAsync("system", "message.processing-failed", created.Report.Ticket, new { messageId = m.Id, error = m.StatusDetail });
        return new IntakeResult(created.Report, created.StatusToken, m.Id, true);
    });

    /// <summary>Replies find their report by the ticket in the subject, or by In-Reply-To/References naming a
    /// Message-ID we sent or received for that report.</summary>
    private static async Task<(long ReportId, string By)?> FindThreadAsync(WriteScope s, MimeMessage mime)
    {
        if (MailRules.TicketInSubject(mime.Subject) is { } ticket)
        {
            var id = await s.Db.Reports.Where(r => r.Ticket == ticket).Select(r => (long?)r.Id).FirstOrDefaultAsync();
            if (id is { } rid) return (rid, "subject");
        }
        var ids = mime.InReplyTo.Concat(mime.References).Distinct().Take(50).ToList();
        if (ids.Count == 0) return null;
        var sent = await s.Db.Outbox.Where(o => ids.Contains(o.MessageId) && o.ReportId != null).Select(o => o.ReportId).FirstOrDefaultAsync();
        if (sent is { } viaOutbox) return (viaOutbox, "in-reply-to");
        var received = await s.Db.Messages.Where(x => x.MessageId != null && ids.Contains(x.MessageId) && x.ReportId != null).Select(x => x.ReportId).FirstOrDefaultAsync();
        return received is { } viaInbound ? (viaInbound, "references") : null;
    }

    private async Task<IntakeResult> AppendAsync(WriteScope s, InboundMessage m, List<string> flags, long reportId, string by, bool reopen)
    {
        m.ReportId = reportId;
        m.Status = "processed";
        m.Flags = string.Join(' ', flags);
        var report = await s.Db.Reports.FirstAsync(r => r.Id == reportId);
        await s.AuditAsync("channel:email", "message.appended", report.Ticket, new { messageId = m.Id, threadedBy = by, flags });
        if (reopen && report.State is ReportState.Closed or ReportState.Resolved)
            await desk.ReopenInScopeAsync(s, report.Ticket, "system", $"new message {m.Id} from the reporter side after closure");
        return new IntakeResult(report, null, m.Id, false);
    }

    /// <summary>Another pass got here first (the background retry and the channel racing): use its result.</summary>
    private static async Task<IntakeResult?> AlreadyProcessedAsync(WriteScope s, long messageId)
    {
        var m = await s.Db.Messages.AsNoTracking().FirstAsync(x => x.Id == messageId);
        if (m.Status == "received") return null;
        if (m.ReportId is not { } rid) throw DeskException.Conflict($"Message {messageId} was {m.Status}: {m.StatusDetail}");
        return new IntakeResult(await s.Db.Reports.AsNoTracking().FirstAsync(r => r.Id == rid), null, messageId, false);
    }

    /// <summary>Processes messages stored but never processed (a crash between commit and report creation, or a
    /// fault while processing). <paramref name="acceptedBefore"/> leaves alone what the worker is still on.</summary>
    /// <param name="leaveQueued">Skip messages the worker has queued or is on (the periodic retry: during a backlog
    /// longer than its interval it would otherwise process them one by one alongside the worker).</param>
    public async Task<int> ProcessPendingAsync(CancellationToken ct, DateTime? acceptedBefore = null, bool leaveQueued = false)
    {
        List<long> pending;
        await using (var db = database.Open())
        {
            var q = db.Messages.Where(m => m.Status == "received" && m.ReportId == null);
            if (acceptedBefore is { } before) q = q.Where(m => m.AcceptedAt < before);
            pending = await q.OrderBy(m => m.Id).Select(m => m.Id).ToListAsync(ct);
        }
        if (leaveQueued) pending.RemoveAll(_queued.ContainsKey); // the worker will get to these
        var done = 0;
        foreach (var id in pending)
        {
            try
            {
                await ProcessAsync(id);
                done++;
            }
            catch (DeskException)
            {
                // Already flagged rejected and logged.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A fault of ours: the raw message stays stored as "received" and is tried again next time.
                log.LogError(ex, "Stored message {MessageId} could not be processed; it stays queued for another try", id);
            }
        }
        return done;
    }

    private static string? Cap(string? s, int max) => s is null ? null : s.Length <= max ? s : s[..max];
}

/// <summary>The submission is stored (as message <see cref="MessageId"/>) but not yet a report.</summary>
public sealed class IntakeDeferredException(long messageId, Exception inner)
    : Exception($"Your submission was stored as message {messageId} but could not be processed yet; it will be processed automatically. Quote message {messageId} if you contact us.", inner)
{
    public long MessageId { get; } = messageId;
}

public sealed record IntakeLimits(long MaxAttachmentBytes)
{
    /// <summary>The request body may exceed the attachment total by form overhead or base64 growth.</summary>
    public long MaxRequestBytes => MaxAttachmentBytes / 3 * 4 + 2 * 1024 * 1024;
}
