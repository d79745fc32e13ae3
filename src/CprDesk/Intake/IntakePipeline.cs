// One path for every channel: the raw bytes and receipt facts are committed first; only then is anything
// parsed. A crash after the commit loses nothing: ProcessPendingAsync picks the message up again.
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Intake;

public sealed record RawSubmission(string Channel, byte[] Body, string? ContentType, string? PeerAddress);

public sealed record IntakeResult(Report Report, string StatusToken, long MessageId);

public sealed class IntakePipeline(Database database, TimeProvider time, ReportDesk desk, IntakeLimits limits, ILogger<IntakePipeline> log)
{
    public async Task<long> StoreRawAsync(RawSubmission raw) => await database.WriteAsync(time, async s =>
    {
        var sha = await BlobStore.PutAsync(s.Db, raw.Body);
        var message = new InboundMessage
        {
            Channel = raw.Channel, ReceivedAt = s.Now, RawSha256 = sha, RawSize = raw.Body.LongLength,
            ContentType = raw.ContentType, PeerAddress = raw.PeerAddress, Status = "received",
            Subject = raw.Channel == "web-form" ? "Web form submission" : "API submission",
        };
        s.Db.Messages.Add(message);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync($"channel:{raw.Channel}", "message.received", null,
            new { messageId = message.Id, channel = raw.Channel, sha256 = sha, size = raw.Body.LongLength, peer = raw.PeerAddress, receivedAt = s.Now });
        return message.Id;
    });

    /// <summary>Stores, then turns the message into a report. Bad input is kept (flagged rejected) and reported
    /// to the caller as a <see cref="DeskException"/>.</summary>
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
        var created = await database.WriteAsync(time, s => desk.CreateAsync(s, new NewReport(
            message.Channel, messageId, message.ReceivedAt, submission.ReporterEmail!, submission.ReporterName,
            submission.ProblemType, submission.Description, submission.Certificates, submission.Attachments),
            $"channel:{message.Channel}"));
        log.LogInformation("Report {Ticket} created from {Channel} message {MessageId}", created.Report.Ticket, message.Channel, messageId);
        return new IntakeResult(created.Report, created.StatusToken, messageId);
    }

    /// <summary>Processes messages stored but never processed (a crash between commit and report creation).</summary>
    public async Task<int> ProcessPendingAsync(CancellationToken ct)
    {
        List<long> pending;
        await using (var db = database.Open())
            pending = await db.Messages.Where(m => m.Status == "received" && m.ReportId == null).Select(m => m.Id).ToListAsync(ct);
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
