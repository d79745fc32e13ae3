using CprDesk.Access;
using CprDesk.Deadlines;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

/// <summary>One report: messages, attachments, clocks, timeline, and the staff actions.</summary>
public sealed class ReportModel(ReportQueries queries, ReportDesk desk, TimeProvider time, CprDesk.Intake.Spam.SpamReviewDesk spamReview) : PageModel
{
    public ReportDetail? Detail { get; private set; }
    public CprDesk.Intake.Spam.SpamReview? SpamReview { get; private set; }
    public DateTime Now { get; private set; }
    public string? Error { get; private set; }
    public string? Done { get; private set; }
    public IReadOnlyList<RevocationReason> Reasons => desk.Rules.Reasons;
    public bool CanAct => User.IsInRole(nameof(StaffRole.Admin)) || User.IsInRole(nameof(StaffRole.Staff));

    public async Task<IActionResult> OnGetAsync(string ticket) => await LoadAsync(ticket) ? Page() : NotFound();

    public Task<IActionResult> OnPostAssignAsync(string ticket, string? assignee) =>
        ActAsync(ticket, "Assignment saved.", actor => desk.AssignAsync(ticket, actor, assignee == "@me" ? User.Identity!.Name : assignee));

    public Task<IActionResult> OnPostClassifyAsync(string ticket, string? reason, string? note) =>
        ActAsync(ticket, "Classification saved; the revocation clock was recomputed from the original receipt time.", actor => desk.ClassifyAsync(ticket, actor, reason, note));

    public Task<IActionResult> OnPostPreliminaryAsync(string ticket, string? recipient, string? to, string? subscriberName, string? text, DateTime? sentAt, bool sentElsewhere) =>
        ActAsync(ticket, sentElsewhere ? "Preliminary report recorded as sent outside CprDesk." : "Preliminary report queued; its clock is met when the mail relay accepts it.",
            actor => desk.RecordPreliminaryReportAsync(ticket, actor, recipient, to, subscriberName, text, sentElsewhere ? AsUtc(sentAt) : null, send: !sentElsewhere));

    public Task<IActionResult> OnPostSubscriberAsync(string ticket, string? email, string? name) =>
        ActAsync(ticket, "Subscriber added; its preliminary-report clock runs from the original receipt time.", actor => desk.AddSubscriberAsync(ticket, actor, email, name));

    public Task<IActionResult> OnPostRevocationAsync(string ticket, DateTime? publishedAt, string? note) =>
        ActAsync(ticket, "Published revocation recorded.", actor => desk.RecordRevocationAsync(ticket, actor, AsUtc(publishedAt), note));

    public Task<IActionResult> OnPostCloseAsync(string ticket, string? resolution, string? note) =>
        ActAsync(ticket, "Report closed.", actor => desk.CloseAsync(ticket, actor, resolution, note));

    public Task<IActionResult> OnPostReopenAsync(string ticket, string? note) =>
        ActAsync(ticket, "Report reopened.", actor => desk.ReopenAsync(ticket, actor, note));

    private async Task<IActionResult> ActAsync(string ticket, string done, Func<string, Task> action)
    {
        if (!CanAct) return Forbid();
        try
        {
            await action(User.Actor());
            Done = done;
        }
        catch (DeskException ex) when (ex.Kind != DeskErrorKind.NotFound)
        {
            Error = ex.Message;
            Response.StatusCode = ex.Kind == DeskErrorKind.Conflict ? 409 : 400;
        }
        catch (DeskException)
        {
            return NotFound();
        }
        return await LoadAsync(ticket) ? Page() : NotFound();
    }

    private async Task<bool> LoadAsync(string ticket)
    {
        Now = time.GetUtcNow().UtcDateTime;
        Detail = await queries.GetAsync(ticket);
        SpamReview = Detail is null ? null : await spamReview.FindAsync(ticket);
        return Detail is not null;
    }

    /// <summary>Times typed in the form are UTC, as everything on this page is.</summary>
    private static DateTime? AsUtc(DateTime? t) => t is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;
}
