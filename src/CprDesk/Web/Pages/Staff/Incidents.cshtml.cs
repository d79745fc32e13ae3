using CprDesk.Access;
using CprDesk.Compliance.Bugzilla;
using CprDesk.Compliance.Incidents;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

/// <summary>The incident list and the weekly Bugzilla review queue.</summary>
public sealed class IncidentsModel(IncidentDesk desk, IncidentDrafts drafts, BugzillaWatch watch, TimeProvider time) : PageModel
{
    public IReadOnlyList<IncidentSummaryView> Incidents { get; private set; } = [];
    public IReadOnlyList<BugzillaBug> Queue { get; private set; } = [];
    public DateTime Now { get; private set; }
    public string? TemplateWarning { get; private set; }
    public string TemplateVersion => drafts.Templates.Version;
    public string? Error { get; private set; }
    public string? Done { get; private set; }
    public bool CanAct => User.IsInRole(nameof(StaffRole.Admin)) || User.IsInRole(nameof(StaffRole.Staff));

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostReviewAsync(long bug, string? verdict, string? note)
    {
        if (!CanAct) return Forbid();
        try
        {
            await watch.ReviewAsync(bug, User.Actor(), verdict, note);
            Done = $"Bug {bug} reviewed.";
        }
        catch (DeskException ex) { Error = ex.Message; }
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Now = time.GetUtcNow().UtcDateTime;
        TemplateWarning = IncidentsApi.TemplateWarning(drafts, time);
        var list = new List<IncidentSummaryView>();
        foreach (var i in await desk.ListAsync())
        {
            var d = (await desk.GetAsync(i.Id))!;
            var open = d.Clocks.Where(c => c.MetAt is null && c.WaivedAt is null).OrderBy(c => c.DueAt).FirstOrDefault();
            list.Add(new IncidentSummaryView(i.Id, i.Kind, i.Title, i.Status, i.AwareAt, i.BugId, open?.DueAt, open?.Name, d.Clocks.Any(c => IncidentsApi.ClockState(c, Now) == "missed")));
        }
        Incidents = list;
        Queue = await watch.ReviewQueueAsync();
    }
}
