using CprDesk.Intake.Imap;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

public sealed class MailboxesModel(MailboxStatus status, TimeProvider time) : PageModel
{
    public IReadOnlyList<MailboxView> Mailboxes { get; private set; } = [];
    public DateTime Now { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Now = time.GetUtcNow().UtcDateTime;
        Mailboxes = await status.LoadAsync(ct);
    }

    public static string When(DateTime? at) => at is { } a ? a.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC" : "never";
}
