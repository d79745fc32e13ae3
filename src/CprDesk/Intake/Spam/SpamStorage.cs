// The tables of spam scoring and review (migration 0009_spam_health).
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Intake.Spam;

/// <summary>What the scorer said about one inbound message (or why it could not say).</summary>
public sealed class MessageSpamScore
{
    public const string Scored = "scored";
    public const string Unscored = "unscored";

    public long MessageId { get; set; }
    /// <summary>Which scorer, e.g. <c>spamd 127.0.0.1:783</c>.</summary>
    public string Scorer { get; set; } = "";
    public string State { get; set; } = Unscored;
    public double? Score { get; set; }
    /// <summary>The threshold applied: the configured one, else spamd's own.</summary>
    public double? Threshold { get; set; }
    /// <summary>Space-separated rule names.</summary>
    public string? Rules { get; set; }
    public string? Error { get; set; }
    public long ElapsedMs { get; set; }
    public DateTime ScoredAt { get; set; }
}

/// <summary>A report flagged suspected-spam, waiting for (or carrying) a person's verdict.</summary>
public sealed class SpamReview
{
    public const string Spam = "spam";
    public const string NotSpam = "not-spam";

    public long ReportId { get; set; }
    public long MessageId { get; set; }
    public double Score { get; set; }
    public double Threshold { get; set; }
    public DateTime FlaggedAt { get; set; }
    /// <summary>True when spam was the only reason no acknowledgement went out: "not spam" sends it then.</summary>
    public bool AcknowledgementHeld { get; set; }
    public string? Verdict { get; set; }
    public string? DecidedBy { get; set; }
    public DateTime? DecidedAt { get; set; }
    public string? Note { get; set; }
}

internal sealed class MessageSpamScoreConfiguration : IEntityTypeConfiguration<MessageSpamScore>
{
    public void Configure(EntityTypeBuilder<MessageSpamScore> b)
    {
        b.ToTable("message_spam_scores").HasKey(x => x.MessageId);
        b.Property(x => x.MessageId).ValueGeneratedNever();
        b.HasOne<InboundMessage>().WithMany().HasForeignKey(x => x.MessageId);
    }
}

internal sealed class SpamReviewConfiguration : IEntityTypeConfiguration<SpamReview>
{
    public void Configure(EntityTypeBuilder<SpamReview> b)
    {
        b.ToTable("spam_reviews").HasKey(x => x.ReportId);
        b.Property(x => x.ReportId).ValueGeneratedNever();
        b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
        b.HasOne<InboundMessage>().WithMany().HasForeignKey(x => x.MessageId);
    }
}

/// <summary>A message's spam score as the report API and the staff page show it.</summary>
public sealed record SpamView(string State, string Scorer, double? Score, double? Threshold, IReadOnlyList<string> Rules, string? Error, DateTime ScoredAt)
{
    public bool Suspected => Score is { } s && Threshold is { } t && s >= t;

    public static SpamView? Of(MessageSpamScore? row) => row is null ? null
        : new(row.State, row.Scorer, row.Score, row.Threshold, SpamReviewDesk.SplitRules(row.Rules), row.Error, row.ScoredAt);
}
