// The poller's tables: per mailbox its poll state, per folder its UIDVALIDITY and counts, per stored UID the inbound
// message it became, and the UIDs found on the server but not stored (each alarm raised once).
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Intake.Imap;

public sealed class MailboxRow
{
    public string Name { get; set; } = "";
    public DateTime? LastAttemptAt { get; set; }
    public DateTime? LastSuccessAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>Since when every cycle has failed; null while it works.</summary>
    public DateTime? FailingSince { get; set; }
    /// <summary>When the admins were told of the current failure (once per failure).</summary>
    public DateTime? FailureAlarmAt { get; set; }
    /// <summary>The newest INTERNALDATE among the messages stored from this mailbox.</summary>
    public DateTime? LastMessageAt { get; set; }
}

public sealed class MailboxFolderRow
{
    public long Id { get; set; }
    public string Mailbox { get; set; } = "";
    /// <summary>Decoded name (modified UTF-7 undone).</summary>
    public string Name { get; set; } = "";
    public string? SpecialUse { get; set; }
    public bool IsJunk { get; set; }
    public long? UidValidity { get; set; }
    public int ServerCount { get; set; }
    public int MissingCount { get; set; }
    public DateTime? LastPolledAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>When the folder was last seen missing from LIST (deleted or renamed on the server).</summary>
    public DateTime? GoneAt { get; set; }
}

public sealed class StoredUidRow
{
    public long Id { get; set; }
    public long FolderId { get; set; }
    public long UidValidity { get; set; }
    public long Uid { get; set; }
    public long MessageId { get; set; }
    public DateTime? InternalDate { get; set; }
    public DateTime StoredAt { get; set; }
}

public sealed class MissingUidRow
{
    public long Id { get; set; }
    public long FolderId { get; set; }
    public long UidValidity { get; set; }
    public long Uid { get; set; }
    public string? Reason { get; set; }
    public DateTime FirstSeenAt { get; set; }
    public DateTime? AlarmedAt { get; set; }
    public DateTime? ResolvedAt { get; set; }
}

internal sealed class MailboxRowConfiguration : IEntityTypeConfiguration<MailboxRow>
{
    public void Configure(EntityTypeBuilder<MailboxRow> b) => b.ToTable("imap_mailboxes").HasKey(x => x.Name);
}

internal sealed class MailboxFolderRowConfiguration : IEntityTypeConfiguration<MailboxFolderRow>
{
    public void Configure(EntityTypeBuilder<MailboxFolderRow> b)
    {
        b.ToTable("imap_folders");
        b.HasIndex(x => new { x.Mailbox, x.Name }).IsUnique();
        b.HasOne<MailboxRow>().WithMany().HasForeignKey(x => x.Mailbox);
    }
}

internal sealed class StoredUidRowConfiguration : IEntityTypeConfiguration<StoredUidRow>
{
    public void Configure(EntityTypeBuilder<StoredUidRow> b)
    {
        b.ToTable("imap_stored_uids");
        b.HasIndex(x => new { x.FolderId, x.UidValidity, x.Uid }).IsUnique();
        b.HasOne<MailboxFolderRow>().WithMany().HasForeignKey(x => x.FolderId);
        b.HasOne<InboundMessage>().WithMany().HasForeignKey(x => x.MessageId);
    }
}

internal sealed class MissingUidRowConfiguration : IEntityTypeConfiguration<MissingUidRow>
{
    public void Configure(EntityTypeBuilder<MissingUidRow> b)
    {
        b.ToTable("imap_missing_uids");
        b.HasIndex(x => new { x.FolderId, x.UidValidity, x.Uid }).IsUnique();
        b.HasOne<MailboxFolderRow>().WithMany().HasForeignKey(x => x.FolderId);
    }
}
