// Tables of people's contact methods, teams and calendar feed tokens (migration 0011).
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.OnCall;

/// <summary>One way to reach a person: an email address or a webhook URL. Methods are tried in <see cref="Position"/>
/// order; escalation notifies every method, and a failing one falls back to the others.</summary>
public sealed class ContactMethodRow
{
    public const string Email = "email";
    public const string Webhook = "webhook";
    public long Id { get; set; }
    public long UserId { get; set; }
    /// <summary>email or webhook.</summary>
    public string Kind { get; set; } = "";
    /// <summary>The address or URL.</summary>
    public string Target { get; set; } = "";
    public string? Label { get; set; }
    public int Position { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A team: its members and its channel (a chat webhook told at the "team" escalation steps).</summary>
public sealed class TeamRow
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
    public string? ChannelWebhook { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class TeamMemberRow
{
    public long TeamId { get; set; }
    public long UserId { get; set; }
}

/// <summary>A person's secret calendar feed token (SHA-256 of it): calendar apps cannot send cookies.</summary>
public sealed class CalendarFeedTokenRow
{
    public long UserId { get; set; }
    public string TokenHash { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}

internal sealed class ContactMethodConfiguration : IEntityTypeConfiguration<ContactMethodRow>
{
    public void Configure(EntityTypeBuilder<ContactMethodRow> b)
    {
        b.ToTable("contact_methods");
        b.HasOne<StaffUser>().WithMany().HasForeignKey(x => x.UserId);
        b.HasIndex(x => new { x.UserId, x.Kind, x.Target }).IsUnique();
    }
}

internal sealed class TeamConfiguration : IEntityTypeConfiguration<TeamRow>
{
    public void Configure(EntityTypeBuilder<TeamRow> b)
    {
        b.ToTable("teams");
        b.HasIndex(x => x.Name).IsUnique();
    }
}

internal sealed class TeamMemberConfiguration : IEntityTypeConfiguration<TeamMemberRow>
{
    public void Configure(EntityTypeBuilder<TeamMemberRow> b)
    {
        b.ToTable("team_members");
        b.HasKey(x => new { x.TeamId, x.UserId });
        b.HasOne<TeamRow>().WithMany().HasForeignKey(x => x.TeamId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<StaffUser>().WithMany().HasForeignKey(x => x.UserId);
    }
}

internal sealed class CalendarFeedTokenConfiguration : IEntityTypeConfiguration<CalendarFeedTokenRow>
{
    public void Configure(EntityTypeBuilder<CalendarFeedTokenRow> b)
    {
        b.ToTable("calendar_feed_tokens");
        b.HasKey(x => x.UserId);
        b.Property(x => x.UserId).ValueGeneratedNever();
        b.HasOne<StaffUser>().WithMany().HasForeignKey(x => x.UserId);
        b.HasIndex(x => x.TokenHash).IsUnique();
    }
}
