using CprDesk.Access;
using CprDesk.Intake.Spam;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

/// <summary>The suspected-spam review queue and its two decisions.</summary>
public sealed class SpamModel(SpamReviewDesk review, TimeProvider time, ILogger<SpamModel> log) : PageModel
{
    public IReadOnlyList<SpamReviewItem> Items { get; private set; } = [];
    public DateTime Now { get; private set; }
    public string? Error { get; private set; }
    public string? Done { get; private set; }
    public bool CanAct => User.IsInRole(nameof(StaffRole.Admin)) || User.IsInRole(nameof(StaffRole.Staff));

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostDecideAsync(string? ticket, string? verdict, string? note)
    {
        if (!CanAct) return Forbid();
        try
        {
            if (string.IsNullOrWhiteSpace(ticket)) throw DeskException.Invalid("ticket", "ticket is required.");
            var d = await review.DecideAsync(ticket, User.Actor(), verdict, note);
            Done = d.Verdict == SpamReview.Spam
                ? $"{d.Ticket} marked spam and closed as not a CPR ({d.State})."
                : $"{d.Ticket} marked not spam; acknowledgement {d.Acknowledgement}.";
        }
        catch (DeskException ex)
        {
            log.LogWarning("Refused a spam review of {Ticket} by {Actor}: {Field}: {Reason}", ticket, User.Actor(), ex.Field, ex.Message);
            Error = ex.Message;
            Response.StatusCode = ex.Kind switch { DeskErrorKind.Conflict => 409, DeskErrorKind.NotFound => 404, _ => 400 };
        }
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Now = time.GetUtcNow().UtcDateTime;
        Items = await review.QueueAsync();
    }
}
