using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace CprDesk.Storage;

/// <remarks>Capability folders add their own tables without editing this file: a <c>partial</c> part of this class
/// for DbSets, and an <see cref="IEntityTypeConfiguration{TEntity}"/> next to the entity for table and keys.
/// Column names are snake_case for every entity.</remarks>
public sealed partial class CprDeskDb(DbContextOptions<CprDeskDb> options) : DbContext(options)
{
    public DbSet<Report> Reports => Set<Report>();
    public DbSet<InboundMessage> Messages => Set<InboundMessage>();
    public DbSet<Blob> Blobs => Set<Blob>();
    public DbSet<Attachment> Attachments => Set<Attachment>();
    public DbSet<CertificateIdentifier> Certificates => Set<CertificateIdentifier>();
    public DbSet<Subscriber> Subscribers => Set<Subscriber>();
    public DbSet<DeadlineRow> Deadlines => Set<DeadlineRow>();
    public DbSet<PreliminaryReport> PreliminaryReports => Set<PreliminaryReport>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<StaffUser> Users => Set<StaffUser>();
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
    public DbSet<TicketCounter> TicketCounters => Set<TicketCounter>();
    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();
    public DbSet<EscalationStepRow> EscalationSteps => Set<EscalationStepRow>();
    public DbSet<OnCallScheduleRow> Schedules => Set<OnCallScheduleRow>();
    public DbSet<OnCallOverrideRow> OnCallOverrides => Set<OnCallOverrideRow>();
    public DbSet<AbsenceRow> Absences => Set<AbsenceRow>();

    protected override void ConfigureConventions(ModelConfigurationBuilder b)
    {
        // Instants are UTC everywhere: whatever the provider returns is marked UTC on the way in.
        b.Properties<DateTime>().HaveConversion<UtcConverter>();
        b.Properties<DateTime?>().HaveConversion<NullableUtcConverter>();
        b.Properties<ReportState>().HaveConversion<string>();
        b.Properties<Resolution>().HaveConversion<string>();
        b.Properties<StaffRole>().HaveConversion<string>();
    }

    protected override void OnModelCreating(ModelBuilder b)
    {
        b.Entity<Report>().ToTable("reports");
        b.Entity<Report>().HasIndex(r => r.Ticket).IsUnique();
        b.Entity<Report>().HasOne(r => r.Assignee).WithMany().HasForeignKey(r => r.AssigneeId);
        b.Entity<Report>().HasMany(r => r.Messages).WithOne().HasForeignKey(m => m.ReportId);
        b.Entity<Report>().HasMany(r => r.Attachments).WithOne().HasForeignKey(m => m.ReportId);
        b.Entity<Report>().HasMany(r => r.Certificates).WithOne().HasForeignKey(m => m.ReportId);
        b.Entity<Report>().HasMany(r => r.Subscribers).WithOne().HasForeignKey(m => m.ReportId);
        b.Entity<Report>().HasMany(r => r.Deadlines).WithOne().HasForeignKey(m => m.ReportId);
        b.Entity<Report>().HasMany(r => r.PreliminaryReports).WithOne().HasForeignKey(m => m.ReportId);
        b.Entity<InboundMessage>().ToTable("inbound_messages");
        b.Entity<Blob>().ToTable("blobs").HasKey(x => x.Sha256);
        b.Entity<Attachment>().ToTable("attachments");
        // Declared so EF orders inserts as the schema's foreign keys require (blob before its users).
        b.Entity<Attachment>().HasOne<Blob>().WithMany().HasForeignKey(a => a.Sha256);
        b.Entity<InboundMessage>().HasOne<Blob>().WithMany().HasForeignKey(m => m.RawSha256);
        b.Entity<DeadlineRow>().HasOne<Subscriber>().WithMany().HasForeignKey(d => d.SubscriberId);
        b.Entity<PreliminaryReport>().HasOne<Subscriber>().WithMany().HasForeignKey(p => p.SubscriberId);
        b.Entity<CertificateIdentifier>().ToTable("certificate_identifiers");
        b.Entity<Subscriber>().ToTable("subscribers");
        b.Entity<DeadlineRow>().ToTable("deadlines");
        b.Entity<PreliminaryReport>().ToTable("preliminary_reports");
        b.Entity<AuditEvent>().ToTable("audit_events").HasKey(x => x.Seq);
        b.Entity<AuditEvent>().Property(x => x.Seq).ValueGeneratedNever();
        b.Entity<StaffUser>().ToTable("staff_users");
        b.Entity<ApiToken>().ToTable("api_tokens");
        b.Entity<ApiToken>().HasOne(t => t.User).WithMany().HasForeignKey(t => t.UserId);
        b.Entity<TicketCounter>().ToTable("ticket_counters").HasKey(x => x.Year);
        b.Entity<OutboxMessage>().ToTable("outbox");
        b.Entity<EscalationStepRow>().ToTable("escalation_steps");
        b.Entity<OutboxMessage>().HasOne<Blob>().WithMany().HasForeignKey(o => o.RawSha256);
        b.Entity<PreliminaryReport>().HasOne<OutboxMessage>().WithMany().HasForeignKey(p => p.OutboxId);
        b.Entity<TicketCounter>().Property(x => x.Year).ValueGeneratedNever();
        b.Entity<OnCallScheduleRow>().ToTable("schedules");
        b.Entity<OnCallOverrideRow>().ToTable("oncall_overrides");
        b.Entity<OnCallOverrideRow>().HasOne<OnCallScheduleRow>().WithMany().HasForeignKey(o => o.ScheduleId);
        b.Entity<AbsenceRow>().ToTable("absences");
        b.ApplyConfigurationsFromAssembly(typeof(CprDeskDb).Assembly);

        foreach (var entity in b.Model.GetEntityTypes())
            foreach (var property in entity.GetProperties())
                property.SetColumnName(SnakeCase(property.Name));
    }

    private static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private sealed class NullableUtcConverter() : ValueConverter<DateTime?, DateTime?>(
        v => v == null ? v : v.Value.Kind == DateTimeKind.Utc ? v : v.Value.ToUniversalTime(),
        v => v == null ? v : DateTime.SpecifyKind(v.Value, DateTimeKind.Utc));
}
