// Other CAs' (and our own) CA Certificate Compliance bugs as imported from Bugzilla, with our reading of them.
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Compliance.Bugzilla;

public sealed class BugzillaBug
{
    public long Id { get; set; }
    public string Summary { get; set; } = "";
    /// <summary>The CA owner named before the colon of the summary.</summary>
    public string? CaOwner { get; set; }
    public string? Status { get; set; }
    public string? Resolution { get; set; }
    public string Whiteboard { get; set; } = "";
    /// <summary>Space-separated bracketed tags without brackets, e.g. "ca-compliance policy-failure".</summary>
    public string Tags { get; set; } = "";
    public DateTime? NextUpdateOn { get; set; }
    public DateTime? CloseOn { get; set; }
    public string? Creator { get; set; }
    public DateTime CreationTime { get; set; }
    public DateTime LastChangeTime { get; set; }
    /// <summary>Space-separated failure classes (F1…F17).</summary>
    public string FailureClasses { get; set; } = "";
    /// <summary>JSON array of {class, reason}.</summary>
    public string ClassReasons { get; set; } = "[]";
    /// <summary>Comment 0 (the description), when imported.</summary>
    public string? Description { get; set; }
    /// <summary>One of our CA's own bugs.</summary>
    public bool Own { get; set; }
    public long? IncidentId { get; set; }
    /// <summary>null (not reviewed), relevant, not-relevant.</summary>
    public string? Review { get; set; }
    public string? ReviewNote { get; set; }
    public string? ReviewedBy { get; set; }
    public DateTime? ReviewedAt { get; set; }
    public DateTime ImportedAt { get; set; }
}

public sealed class BugzillaComment
{
    public long Id { get; set; }
    public long BugId { get; set; }
    public int Count { get; set; }
    public string? Creator { get; set; }
    public DateTime CreationTime { get; set; }
    public string Text { get; set; } = "";
}

internal sealed class BugzillaBugConfiguration : IEntityTypeConfiguration<BugzillaBug>
{
    public void Configure(EntityTypeBuilder<BugzillaBug> b)
    {
        b.ToTable("bugzilla_bugs");
        b.Property(x => x.Id).ValueGeneratedNever();
        b.HasOne<Incidents.Incident>().WithMany().HasForeignKey(x => x.IncidentId);
    }
}

internal sealed class BugzillaCommentConfiguration : IEntityTypeConfiguration<BugzillaComment>
{
    public void Configure(EntityTypeBuilder<BugzillaComment> b)
    {
        b.ToTable("bugzilla_comments");
        b.Property(x => x.Id).ValueGeneratedNever();
        b.HasOne<BugzillaBug>().WithMany().HasForeignKey(x => x.BugId);
    }
}
