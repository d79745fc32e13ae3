using CprDesk.Intake.Imap;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Storage;

public sealed partial class CprDeskDb
{
    public DbSet<MailboxRow> Mailboxes => Set<MailboxRow>();
    public DbSet<MailboxFolderRow> MailboxFolders => Set<MailboxFolderRow>();
    public DbSet<StoredUidRow> MailboxStoredUids => Set<StoredUidRow>();
    public DbSet<MissingUidRow> MailboxMissingUids => Set<MissingUidRow>();
}
