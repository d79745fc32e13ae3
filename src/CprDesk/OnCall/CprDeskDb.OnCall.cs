using Microsoft.EntityFrameworkCore;
using CprDesk.OnCall;

namespace CprDesk.Storage;

public sealed partial class CprDeskDb
{
    public DbSet<ContactMethodRow> ContactMethods => Set<ContactMethodRow>();
    public DbSet<TeamRow> Teams => Set<TeamRow>();
    public DbSet<TeamMemberRow> TeamMembers => Set<TeamMemberRow>();
    public DbSet<CalendarFeedTokenRow> CalendarFeedTokens => Set<CalendarFeedTokenRow>();
}
