// The Evidence tables (migration 0007_evidence.sql) and their EF Core mapping.
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Storage
{
    public sealed partial class CprDeskDb
    {
        public DbSet<Evidence.InventoryCertificate> Inventory => Set<Evidence.InventoryCertificate>();
        public DbSet<Evidence.EvidenceJob> EvidenceJobs => Set<Evidence.EvidenceJob>();
        public DbSet<Evidence.EvidenceFinding> EvidenceFindings => Set<Evidence.EvidenceFinding>();
        public DbSet<Evidence.EvidenceMatch> EvidenceMatches => Set<Evidence.EvidenceMatch>();
        public DbSet<Evidence.EvidenceCrl> EvidenceCrls => Set<Evidence.EvidenceCrl>();
        public DbSet<Evidence.ReportEvidence> ReportEvidence => Set<Evidence.ReportEvidence>();
        public DbSet<Evidence.CrtShCacheRow> CrtShCache => Set<Evidence.CrtShCacheRow>();
    }
}

namespace CprDesk.Evidence
{
    /// <summary>A certificate the CA issued (or a CA certificate, <see cref="IsCa"/>). Hex values follow <see cref="Hex"/>.</summary>
    public sealed class InventoryCertificate
    {
        public long Id { get; set; }
        public string Serial { get; set; } = "";
        public string Sha256 { get; set; } = "";
        public string? SpkiSha256 { get; set; }
        public DateTime? NotBefore { get; set; }
        public DateTime? NotAfter { get; set; }
        public string? SubjectCn { get; set; }
        public string? Sans { get; set; }
        public string? SubscriberEmail { get; set; }
        public string? Issuer { get; set; }
        public bool IsCa { get; set; }
        public byte[]? Der { get; set; }
        public DateTime ImportedAt { get; set; }
    }

    /// <summary>Extraction of one message: pending until done, so a restart resumes where it stopped.</summary>
    public sealed class EvidenceJob
    {
        public long MessageId { get; set; }
        public long ReportId { get; set; }
        /// <summary>pending, done, failed (gave up after several attempts; the error says why).</summary>
        public string Status { get; set; } = "pending";
        public int Total { get; set; }
        public int Done { get; set; }
        public int Attempts { get; set; }
        public string? Error { get; set; }
        public DateTime CreatedAt { get; set; }
        public DateTime UpdatedAt { get; set; }
    }

    public sealed class EvidenceFinding
    {
        public long Id { get; set; }
        public long ReportId { get; set; }
        public long? MessageId { get; set; }
        public string Kind { get; set; } = "";
        public string Value { get; set; } = "";
        public string Location { get; set; } = "";
        public string? SpkiSha256 { get; set; }
        public string? Serial { get; set; }
        public string? Sha256 { get; set; }
        public string? Issuer { get; set; }
        public string? Subject { get; set; }
        public DateTime? NotAfter { get; set; }
        public bool? Verified { get; set; }
        public string? Reason { get; set; }
        public byte[]? Der { get; set; }
        public byte[]? KeyCiphertext { get; set; }
        public DateTime CreatedAt { get; set; }
    }

    public sealed class EvidenceMatch
    {
        public long Id { get; set; }
        public long ReportId { get; set; }
        public long InventoryId { get; set; }
        /// <summary>sha256, serial or spki.</summary>
        public string MatchedBy { get; set; } = "";
        public string FindingValue { get; set; } = "";
        public DateTime CreatedAt { get; set; }
    }

    public sealed class EvidenceCrl
    {
        public long Id { get; set; }
        public long ReportId { get; set; }
        public string Source { get; set; } = "";
        public bool IsUrl { get; set; }
        public string? Issuer { get; set; }
        public string? ExpectedIssuer { get; set; }
        public bool SignatureValid { get; set; }
        public string? Error { get; set; }
        public DateTime? ThisUpdate { get; set; }
        public DateTime? NextUpdate { get; set; }
        public int Entries { get; set; }
        public string? Warnings { get; set; }
        public DateTime CheckedAt { get; set; }
    }

    /// <summary>Per report: the challenge text for signature proofs and the category suggestion.</summary>
    public sealed class ReportEvidence
    {
        public long ReportId { get; set; }
        public string Challenge { get; set; } = "";
        public string? SuggestedCategory { get; set; }
        /// <summary>JSON array of strings.</summary>
        public string? SuggestionReasons { get; set; }
        public DateTime UpdatedAt { get; set; }
    }

    public sealed class CrtShCacheRow
    {
        public string Query { get; set; } = "";
        public int Status { get; set; }
        public string? Body { get; set; }
        public DateTime FetchedAt { get; set; }
    }

    internal sealed class InventoryConfig : IEntityTypeConfiguration<InventoryCertificate>
    {
        public void Configure(EntityTypeBuilder<InventoryCertificate> b) => b.ToTable("inventory_certificates");
    }

    internal sealed class EvidenceJobConfig : IEntityTypeConfiguration<EvidenceJob>
    {
        public void Configure(EntityTypeBuilder<EvidenceJob> b)
        {
            b.ToTable("evidence_jobs").HasKey(x => x.MessageId);
            b.Property(x => x.MessageId).ValueGeneratedNever();
            b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
        }
    }

    internal sealed class EvidenceFindingConfig : IEntityTypeConfiguration<EvidenceFinding>
    {
        public void Configure(EntityTypeBuilder<EvidenceFinding> b)
        {
            b.ToTable("evidence_findings");
            b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
        }
    }

    internal sealed class EvidenceMatchConfig : IEntityTypeConfiguration<EvidenceMatch>
    {
        public void Configure(EntityTypeBuilder<EvidenceMatch> b)
        {
            b.ToTable("evidence_matches");
            b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
            b.HasOne<InventoryCertificate>().WithMany().HasForeignKey(x => x.InventoryId);
        }
    }

    internal sealed class EvidenceCrlConfig : IEntityTypeConfiguration<EvidenceCrl>
    {
        public void Configure(EntityTypeBuilder<EvidenceCrl> b)
        {
            b.ToTable("evidence_crls");
            b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
        }
    }

    internal sealed class ReportEvidenceConfig : IEntityTypeConfiguration<ReportEvidence>
    {
        public void Configure(EntityTypeBuilder<ReportEvidence> b)
        {
            b.ToTable("report_evidence").HasKey(x => x.ReportId);
            b.Property(x => x.ReportId).ValueGeneratedNever();
            b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
        }
    }

    internal sealed class CrtShCacheConfig : IEntityTypeConfiguration<CrtShCacheRow>
    {
        public void Configure(EntityTypeBuilder<CrtShCacheRow> b) => b.ToTable("crtsh_cache").HasKey(x => x.Query);
    }
}
