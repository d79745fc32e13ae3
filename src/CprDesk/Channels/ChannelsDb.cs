using CprDesk.Channels;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Storage;

public sealed partial class CprDeskDb
{
    public DbSet<ChannelRow> Channels => Set<ChannelRow>();
    public DbSet<CanaryRunRow> CanaryRuns => Set<CanaryRunRow>();
    public DbSet<DriftFindingRow> DriftFindings => Set<DriftFindingRow>();
}
