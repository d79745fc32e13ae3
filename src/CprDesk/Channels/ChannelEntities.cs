// The channel registry, canary runs and drift findings as stored.
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Channels;

/// <summary>One published way to send a CPR: an email address, a web form URL or the API.</summary>
public sealed class ChannelRow
{
    public long Id { get; set; }
    /// <summary>email, web-form or api.</summary>
    public string Kind { get; set; } = "";
    /// <summary>The address (lower case) or the URL, as published.</summary>
    public string Address { get; set; } = "";
    public string? Owner { get; set; }
    public string? Purpose { get; set; }
    /// <summary>Space-separated: cps, website, ccadb-prm, ccadb-alias1, ccadb-alias2.</summary>
    public string PublishedIn { get; set; } = "";
    /// <summary>How it reaches CprDesk: smtp-relay, mailbox-poll, pipe, web.</summary>
    public string Route { get; set; } = "";
    /// <summary>The longest this channel may go without a real message before someone should look (fed to a silence alarm).</summary>
    public int? MaxSilenceHours { get; set; }
    public bool GroupAlias { get; set; }
    /// <summary>The alias's members, space-separated addresses (group aliases only).</summary>
    public string AliasMembers { get; set; } = "";
    public bool CanaryEnabled { get; set; } = true;
    public int CanaryEveryMinutes { get; set; } = 360;
    /// <summary>A canary acknowledged later than this after sending is late (not lost).</summary>
    public int LateAfterMinutes { get; set; } = 30;
    public DateTime? NextCanaryAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One canary CPR: sent, (maybe) received and made a report, (maybe) acknowledged; then passed, late or lost.</summary>
public sealed class CanaryRunRow
{
    public long Id { get; set; }
    public long? ChannelId { get; set; }
    public string Address { get; set; } = "";
    public string Kind { get; set; } = "";
    public DateTime SentAt { get; set; }
    public string? SendResult { get; set; }
    public DateTime LateAt { get; set; }
    public DateTime LostAt { get; set; }
    /// <summary>The report's receipt time.</summary>
    public DateTime? ReceivedAt { get; set; }
    public long? ReportId { get; set; }
    public string? Ticket { get; set; }
    public bool ClockStarted { get; set; }
    /// <summary>When the checker found the acknowledgement in the sender mailbox.</summary>
    public DateTime? AckAt { get; set; }
    /// <summary>pending, passed, late, lost, send-failed.</summary>
    public string Outcome { get; set; } = CanaryOutcome.Pending;
    public DateTime? DecidedAt { get; set; }
}

public static class CanaryOutcome
{
    public const string Pending = "pending";
    public const string Passed = "passed";
    public const string Late = "late";
    public const string Lost = "lost";
    public const string SendFailed = "send-failed";
}

/// <summary>A difference between the registry and what is published; open until a check no longer finds it.</summary>
public sealed class DriftFindingRow
{
    public long Id { get; set; }
    public string FindingKey { get; set; } = "";
    /// <summary>unregistered, unpublished, inconsistent.</summary>
    public string Kind { get; set; } = "";
    public string Value { get; set; } = "";
    public string Detail { get; set; } = "";
    public DateTime FirstSeenAt { get; set; }
    public DateTime LastSeenAt { get; set; }
    public DateTime? ResolvedAt { get; set; }
}

internal sealed class ChannelRowConfiguration : IEntityTypeConfiguration<ChannelRow>
{
    public void Configure(EntityTypeBuilder<ChannelRow> b)
    {
        b.ToTable("channels");
        b.HasIndex(x => x.Address).IsUnique();
    }
}

internal sealed class CanaryRunConfiguration : IEntityTypeConfiguration<CanaryRunRow>
{
    public void Configure(EntityTypeBuilder<CanaryRunRow> b)
    {
        b.ToTable("canary_runs");
        b.HasOne<ChannelRow>().WithMany().HasForeignKey(x => x.ChannelId).OnDelete(DeleteBehavior.SetNull);
        b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
    }
}

internal sealed class DriftFindingConfiguration : IEntityTypeConfiguration<DriftFindingRow>
{
    public void Configure(EntityTypeBuilder<DriftFindingRow> b) => b.ToTable("channel_drift_findings");
}
