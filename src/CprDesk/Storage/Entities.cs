// The persisted model. Each class is a table; capability folders hold the behaviour that uses them.
namespace CprDesk.Storage;

public enum ReportState { New, Acknowledged, Investigating, PreliminaryReported, Resolved, Closed }

public enum Resolution { Revoked, NotRevoked, NotACpr }

public enum StaffRole { Admin, Staff, Auditor }

public sealed class Report
{
    public long Id { get; set; }
    public string Ticket { get; set; } = "";
    /// <summary>First receipt of the CPR by the CA; every clock counts from here.</summary>
    public DateTime ReceivedAt { get; set; }
    public ReportState State { get; set; }
    public Resolution? Resolution { get; set; }
    public string? Category { get; set; }
    public string? RevocationReason { get; set; }
    public string? CrlReason { get; set; }
    public string? ProblemType { get; set; }
    public string ReporterEmail { get; set; } = "";
    public string? ReporterName { get; set; }
    public string? Description { get; set; }
    public long? AssigneeId { get; set; }
    public StaffUser? Assignee { get; set; }
    public string StatusTokenHash { get; set; } = "";
    public DateTime? RevocationPublishedAt { get; set; }
    public DateTime? RevocationWaivedAt { get; set; }
    public DateTime? NotACprAt { get; set; }
    public DateTime? ResolvedAt { get; set; }
    public DateTime? ClosedAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>A synthetic report from a canary run (Channels/): closed at once, kept out of the queue and metrics.</summary>
    public bool IsCanary { get; set; }
    public List<InboundMessage> Messages { get; set; } = [];
    public List<Attachment> Attachments { get; set; } = [];
    public List<CertificateIdentifier> Certificates { get; set; } = [];
    public List<Subscriber> Subscribers { get; set; } = [];
    public List<DeadlineRow> Deadlines { get; set; } = [];
    public List<PreliminaryReport> PreliminaryReports { get; set; } = [];
}

/// <summary>A message exactly as it arrived. The raw bytes (in <see cref="Blob"/>) are never changed.</summary>
public sealed class InboundMessage
{
    public long Id { get; set; }
    public long? ReportId { get; set; }
    public string Channel { get; set; } = "";
    public DateTime ReceivedAt { get; set; }
    public string RawSha256 { get; set; } = "";
    public long RawSize { get; set; }
    public string? ContentType { get; set; }
    public string? Subject { get; set; }
    public string? FromAddress { get; set; }
    public string? PeerAddress { get; set; }
    /// <summary>Space-separated flags, e.g. <c>rejected</c>.</summary>
    public string Flags { get; set; } = "";
    /// <summary>received (stored, not yet processed), processed, rejected.</summary>
    public string Status { get; set; } = "received";
    public string? StatusDetail { get; set; }
    /// <summary>SMTP envelope sender ("" for the null sender), when the message came by mail.</summary>
    public string? EnvelopeFrom { get; set; }
    /// <summary>Space-separated envelope recipients.</summary>
    public string? EnvelopeTo { get; set; }
    public string? Helo { get; set; }
    public bool Tls { get; set; }
    /// <summary>The Message-ID header, without brackets.</summary>
    public string? MessageId { get; set; }
    /// <summary>JSON array of parser defects ({code, message}).</summary>
    public string? Defects { get; set; }
    /// <summary>When we committed the raw bytes. <see cref="ReceivedAt"/> may be earlier (a trusted relay's Received: time).</summary>
    public DateTime? AcceptedAt { get; set; }
}

public sealed class Blob
{
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }
    public byte[] Content { get; set; } = [];
}

public sealed class Attachment
{
    public long Id { get; set; }
    public long ReportId { get; set; }
    public long MessageId { get; set; }
    public string FileName { get; set; } = "";
    public string ContentType { get; set; } = "application/octet-stream";
    public long Size { get; set; }
    public string Sha256 { get; set; } = "";
}

public sealed class CertificateIdentifier
{
    public long Id { get; set; }
    public long ReportId { get; set; }
    public long? MessageId { get; set; }
    /// <summary>serial, sha256, sha1, crtsh, pem, text.</summary>
    public string Kind { get; set; } = "";
    public string Value { get; set; } = "";
}

public sealed class Subscriber
{
    public long Id { get; set; }
    public long ReportId { get; set; }
    public string Email { get; set; } = "";
    public string? Name { get; set; }
    public DateTime AddedAt { get; set; }
    public string AddedBy { get; set; } = "";
}

/// <summary>The stored form of a clock, kept in step with <see cref="Deadlines.ClockCalculator"/> so that
/// queries (queue order, due-before filters, metrics, escalation) run in the database.</summary>
public sealed class DeadlineRow
{
    public long Id { get; set; }
    public long ReportId { get; set; }
    public string Name { get; set; } = "";
    public string? Recipient { get; set; }
    public long? SubscriberId { get; set; }
    public DateTime DueAt { get; set; }
    public DateTime? MetAt { get; set; }
    public DateTime? WaivedAt { get; set; }
    public string Section { get; set; } = "";
}

public sealed class PreliminaryReport
{
    public long Id { get; set; }
    public long ReportId { get; set; }
    /// <summary>reporter or subscriber.</summary>
    public string RecipientKind { get; set; } = "";
    public long? SubscriberId { get; set; }
    public string ToAddress { get; set; } = "";
    public string Text { get; set; } = "";
    /// <summary>When the relay accepted this recipient's copy (or when it was sent outside CprDesk, as recorded).
    /// Null while queued: the clock is not met by queueing.</summary>
    public DateTime? SentAt { get; set; }
    public long? OutboxId { get; set; }
    public string RecordedBy { get; set; } = "";
    public DateTime RecordedAt { get; set; }
}

public sealed class AuditEvent
{
    public long Seq { get; set; }
    public DateTime At { get; set; }
    public string Actor { get; set; } = "";
    public string? Ticket { get; set; }
    public string Type { get; set; } = "";
    public string Detail { get; set; } = "{}";
    public string PrevHash { get; set; } = "";
    public string Hash { get; set; } = "";
}

public sealed class StaffUser
{
    public long Id { get; set; }
    public string Username { get; set; } = "";
    public string? DisplayName { get; set; }
    public string? Email { get; set; }
    /// <summary>A personal webhook (e.g. a chat app's incoming webhook) for escalation notifications.</summary>
    public string? WebhookUrl { get; set; }
    public StaffRole Role { get; set; }
    public string PasswordHash { get; set; } = "";
    public bool MustChangePassword { get; set; }
    public bool Disabled { get; set; }
    public int FailedSignIns { get; set; }
    public DateTime? LockedUntil { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class ApiToken
{
    public const string StaffScope = "staff";
    public const string MailgateScope = "mailgate";
    public long Id { get; set; }
    public long? UserId { get; set; }
    /// <summary>staff (acts as its user) or mailgate (may only submit inbound mail).</summary>
    public string Scope { get; set; } = StaffScope;
    public StaffUser? User { get; set; }
    public string Name { get; set; } = "";
    public string Prefix { get; set; } = "";
    public string TokenHash { get; set; } = "";
    public DateTime CreatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

public sealed class TicketCounter
{
    public int Year { get; set; }
    public int LastValue { get; set; }
}

/// <summary>Mail we send: acknowledgements, preliminary reports, notifications. The raw bytes are kept.</summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }
    public long? ReportId { get; set; }
    /// <summary>acknowledgement, preliminary-report, notification.</summary>
    public string Kind { get; set; } = "";
    public string MessageId { get; set; } = "";
    public string MailFrom { get; set; } = "";
    public string Recipient { get; set; } = "";
    public string Subject { get; set; } = "";
    public string RawSha256 { get; set; } = "";
    /// <summary>queued, deferred (will retry), sent, failed (gave up or refused for good).</summary>
    public string Status { get; set; } = "queued";
    public int Attempts { get; set; }
    public DateTime? NextAttemptAt { get; set; }
    public string? LastReply { get; set; }
    public DateTime? SentAt { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>For a notification: the escalation step that sent it.</summary>
    public long? EscalationStepId { get; set; }
    /// <summary>email (Recipient is an address) or webhook (Recipient is a URL; the raw bytes are the JSON body).</summary>
    public string Channel { get; set; } = "email";
    /// <summary>For a notification to a person: the contact method it went to (rate limits, fallback).</summary>
    public long? ContactMethodId { get; set; }
    /// <summary>For a notification to a person: who (their other methods are the fallback).</summary>
    public long? RecipientUserId { get; set; }
    /// <summary>For a fallback: the notification whose method kept failing.</summary>
    public long? FallbackOfId { get; set; }
    /// <summary>When this notification's failures made CprDesk try the person's other methods.</summary>
    public DateTime? FellBackAt { get; set; }
}

/// <summary>An on-call schedule. <see cref="Definition"/> is the JSON of its layers: a schedule is edited as a whole.</summary>
public sealed class OnCallScheduleRow
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
    public string Definition { get; set; } = "[]";
    public string? TeamWebhook { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class OnCallOverrideRow
{
    public long Id { get; set; }
    public long ScheduleId { get; set; }
    public string Username { get; set; } = "";
    public DateTime FromAt { get; set; }
    public DateTime ToAt { get; set; }
    public string CreatedBy { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}

/// <summary>A staff member away during [FromAt, ToAt), on every schedule.</summary>
public sealed class AbsenceRow
{
    public long Id { get; set; }
    public string Username { get; set; } = "";
    public DateTime FromAt { get; set; }
    public DateTime ToAt { get; set; }
    public string Reason { get; set; } = "";
    public string CreatedBy { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}

/// <summary>One planned escalation step (see Escalation/EscalationEngine).</summary>
public sealed class EscalationStepRow
{
    public long Id { get; set; }
    public long ReportId { get; set; }
    public long? DeadlineId { get; set; }
    /// <summary>ownership or deadline.</summary>
    public string Kind { get; set; } = "";
    public int StepIndex { get; set; }
    public DateTime DueAt { get; set; }
    /// <summary>pending, fired, cancelled (its condition ended), fell-through (nobody to notify).</summary>
    public string Status { get; set; } = "pending";
    public DateTime? FiredAt { get; set; }
    public string? Detail { get; set; }
    /// <summary>For a deadline step: the clock's due time this plan was made for (a reclassification re-plans).</summary>
    public DateTime? PlanDueAt { get; set; }
    public DateTime CreatedAt { get; set; }
}
