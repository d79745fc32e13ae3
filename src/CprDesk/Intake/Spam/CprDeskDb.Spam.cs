using CprDesk.Intake.Health;
using CprDesk.Intake.Spam;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Storage;

public sealed partial class CprDeskDb
{
    public DbSet<MessageSpamScore> SpamScores => Set<MessageSpamScore>();
    public DbSet<SpamReview> SpamReviews => Set<SpamReview>();
    public DbSet<IntakeSilenceAlarm> SilenceAlarms => Set<IntakeSilenceAlarm>();
}
