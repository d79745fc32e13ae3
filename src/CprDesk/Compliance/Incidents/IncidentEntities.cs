// The stored incident: its reports, findings, action items, questions, posts and clocks (tables in 0010_incidents.sql).
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Compliance.Incidents;

public static class IncidentKinds
{
    /// <summary>A CPR was not answered (preliminary report) in time: BR §4.9.5.</summary>
    public const string CprResponse = "cpr-response";
    /// <summary>A revocation deadline was missed: a separate report is required (IRG scoping).</summary>
    public const string DelayedRevocation = "delayed-revocation";
    public const string Other = "other";
    public static readonly string[] All = [CprResponse, DelayedRevocation, Other];
}

public sealed class Incident
{
    public long Id { get; set; }
    public string Kind { get; set; } = IncidentKinds.Other;
    public string Title { get; set; } = "";
    /// <summary>draft, reported (preliminary posted), full-reported, closure-requested, closed.</summary>
    public string Status { get; set; } = "draft";
    /// <summary>When the CA became aware: the 72-hour clock runs from here.</summary>
    public DateTime AwareAt { get; set; }
    /// <summary>Self Reported, Third Party Reported or Audit.</summary>
    public string? Source { get; set; }
    public string Whiteboard { get; set; } = "";
    /// <summary>The bug's "Next update" date (UTC calendar date, as midnight UTC).</summary>
    public DateTime? NextUpdateOn { get; set; }
    /// <summary>Our own Bugzilla bug for this incident, once filed.</summary>
    public long? BugId { get; set; }
    /// <summary>The reporter agreed to be named; otherwise drafts say "a community member".</summary>
    public bool ReporterConsent { get; set; }
    /// <summary>JSON object of the template's free-text fields (incidentDescription, analysis, …).</summary>
    public string Fields { get; set; } = "{}";
    public string TemplateVersion { get; set; } = "";
    public string CreatedBy { get; set; } = "";
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class IncidentReport
{
    public long IncidentId { get; set; }
    public long ReportId { get; set; }
    /// <summary>The report clock whose miss linked it, if any.</summary>
    public string? MissedClock { get; set; }
    public DateTime LinkedAt { get; set; }
}

public static class FindingKinds
{
    public const string RootCause = "root-cause";
    public const string WentWell = "went-well";
    public const string DidNotGoWell = "didnt-go-well";
    public const string Lucky = "lucky";
    public const string Additional = "additional";
    public static readonly string[] All = [RootCause, WentWell, DidNotGoWell, Lucky, Additional];
}

public sealed class IncidentFinding
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Kind { get; set; } = "";
    public string Title { get; set; } = "";
    /// <summary>JSON object; for a root cause: description, timeline, detection, interaction, methodology.</summary>
    public string Detail { get; set; } = "{}";
    public DateTime CreatedAt { get; set; }
}

public sealed class IncidentActionItem
{
    public static readonly string[] Kinds = ["Prevent", "Mitigate", "Detect"];
    public static readonly string[] Statuses = ["Ongoing", "Complete", "Delayed", "Canceled"];

    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Title { get; set; } = "";
    public string Kind { get; set; } = "";
    /// <summary>Space-separated ids of the findings (root causes, lessons) this item addresses.</summary>
    public string FindingIds { get; set; } = "";
    public string? EvaluationCriteria { get; set; }
    public string? Owner { get; set; }
    /// <summary>Due date (midnight UTC of the calendar day).</summary>
    public DateTime? DueOn { get; set; }
    public string Status { get; set; } = "Ongoing";
    public DateTime CreatedAt { get; set; }
    /// <summary>Last change: starts the 3-day update clock.</summary>
    public DateTime ChangedAt { get; set; }
    /// <summary>When it became Complete or Canceled.</summary>
    public DateTime? SettledAt { get; set; }

    public IReadOnlyList<long> Findings => FindingIds.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToList();
}

public sealed class IncidentQuestion
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public DateTime AskedAt { get; set; }
    public string? AskedBy { get; set; }
    public string Text { get; set; } = "";
    public DateTime? AnsweredAt { get; set; }
}

public sealed class IncidentPost
{
    public const string Preliminary = "preliminary", Full = "full", Update = "update", Closure = "closure";
    public static readonly string[] Kinds = [Preliminary, Full, Update, Closure];
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Kind { get; set; } = "";
    public DateTime PostedAt { get; set; }
    public string? TemplateVersion { get; set; }
    public string? TextSha256 { get; set; }
    public string RecordedBy { get; set; } = "";
    public DateTime RecordedAt { get; set; }
}

public sealed class IncidentClockRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Name { get; set; } = "";
    /// <summary>Distinguishes clocks of one name: a question id, an action item id, an update period.</summary>
    public string Ref { get; set; } = "";
    public DateTime DueAt { get; set; }
    public DateTime? MetAt { get; set; }
    public DateTime? WaivedAt { get; set; }
    /// <summary>Why it is due then, in words (e.g. "Next update 2026-04-01 on the bug").</summary>
    public string Basis { get; set; } = "";
}

public sealed class IncidentEscalationStep
{
    public long Id { get; set; }
    public long ClockId { get; set; }
    public int StepIndex { get; set; }
    public DateTime DueAt { get; set; }
    /// <summary>pending, fired, cancelled, fell-through.</summary>
    public string Status { get; set; } = "pending";
    public DateTime? FiredAt { get; set; }
    public DateTime PlanDueAt { get; set; }
    public DateTime CreatedAt { get; set; }
}

internal sealed class IncidentConfiguration : IEntityTypeConfiguration<Incident>
{
    public void Configure(EntityTypeBuilder<Incident> b) => b.ToTable("incidents");
}

internal sealed class IncidentReportConfiguration : IEntityTypeConfiguration<IncidentReport>
{
    public void Configure(EntityTypeBuilder<IncidentReport> b)
    {
        b.ToTable("incident_reports").HasKey(x => new { x.IncidentId, x.ReportId });
        b.HasOne<Incident>().WithMany().HasForeignKey(x => x.IncidentId);
        b.HasOne<Report>().WithMany().HasForeignKey(x => x.ReportId);
    }
}

internal sealed class IncidentFindingConfiguration : IEntityTypeConfiguration<IncidentFinding>
{
    public void Configure(EntityTypeBuilder<IncidentFinding> b)
    {
        b.ToTable("incident_findings");
        b.HasOne<Incident>().WithMany().HasForeignKey(x => x.IncidentId);
    }
}

internal sealed class IncidentActionItemConfiguration : IEntityTypeConfiguration<IncidentActionItem>
{
    public void Configure(EntityTypeBuilder<IncidentActionItem> b)
    {
        b.ToTable("incident_action_items");
        b.HasOne<Incident>().WithMany().HasForeignKey(x => x.IncidentId);
        b.Ignore(x => x.Findings);
    }
}

internal sealed class IncidentQuestionConfiguration : IEntityTypeConfiguration<IncidentQuestion>
{
    public void Configure(EntityTypeBuilder<IncidentQuestion> b)
    {
        b.ToTable("incident_questions");
        b.HasOne<Incident>().WithMany().HasForeignKey(x => x.IncidentId);
    }
}

internal sealed class IncidentPostConfiguration : IEntityTypeConfiguration<IncidentPost>
{
    public void Configure(EntityTypeBuilder<IncidentPost> b)
    {
        b.ToTable("incident_posts");
        b.HasOne<Incident>().WithMany().HasForeignKey(x => x.IncidentId);
    }
}

internal sealed class IncidentClockConfiguration : IEntityTypeConfiguration<IncidentClockRow>
{
    public void Configure(EntityTypeBuilder<IncidentClockRow> b)
    {
        b.ToTable("incident_clocks");
        b.HasOne<Incident>().WithMany().HasForeignKey(x => x.IncidentId);
    }
}

internal sealed class IncidentEscalationStepConfiguration : IEntityTypeConfiguration<IncidentEscalationStep>
{
    public void Configure(EntityTypeBuilder<IncidentEscalationStep> b) => b.ToTable("incident_escalation_steps");
}
