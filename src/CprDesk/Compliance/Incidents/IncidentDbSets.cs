using CprDesk.Compliance.Bugzilla;
using CprDesk.Compliance.Incidents;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Storage;

public sealed partial class CprDeskDb
{
    public DbSet<Incident> Incidents => Set<Incident>();
    public DbSet<IncidentReport> IncidentReports => Set<IncidentReport>();
    public DbSet<IncidentFinding> IncidentFindings => Set<IncidentFinding>();
    public DbSet<IncidentActionItem> IncidentActionItems => Set<IncidentActionItem>();
    public DbSet<IncidentQuestion> IncidentQuestions => Set<IncidentQuestion>();
    public DbSet<IncidentPost> IncidentPosts => Set<IncidentPost>();
    public DbSet<IncidentClockRow> IncidentClocks => Set<IncidentClockRow>();
    public DbSet<IncidentEscalationStep> IncidentEscalationSteps => Set<IncidentEscalationStep>();
    public DbSet<BugzillaBug> BugzillaBugs => Set<BugzillaBug>();
    public DbSet<BugzillaComment> BugzillaComments => Set<BugzillaComment>();
}
