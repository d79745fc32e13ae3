using CprDesk.Access;
using CprDesk.Compliance.Incidents;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

/// <summary>One incident: its reports, clocks, findings, action items, questions, validation and the draft.</summary>
public sealed class IncidentModel(IncidentDesk desk, IncidentDrafts drafts, TimeProvider time) : PageModel
{
    public IncidentDetail? Detail { get; private set; }
    public DateTime Now { get; private set; }
    public string Kind { get; private set; } = "full";
    public string Draft { get; private set; } = "";
    public string BugSummary { get; private set; } = "";
    public string? TemplateWarning { get; private set; }
    public IReadOnlyList<ValidationProblem> Problems { get; private set; } = [];
    public string? Error { get; private set; }
    public string? Done { get; private set; }
    public bool CanAct => User.IsInRole(nameof(StaffRole.Admin)) || User.IsInRole(nameof(StaffRole.Staff));

    public async Task<IActionResult> OnGetAsync(long id, string? kind) => await LoadAsync(id, kind) ? Page() : NotFound();

    public async Task<IActionResult> OnPostStatusAsync(long id, long item, string? status)
    {
        if (!CanAct) return Forbid();
        try
        {
            await desk.UpdateActionItemAsync(id, item, User.Actor(), new ActionItemChange(null, null, null, null, null, null, status));
            Done = "Action item saved; the 3-day update clock started.";
        }
        catch (DeskException ex) { Error = ex.Message; }
        return await LoadAsync(id, null) ? Page() : NotFound();
    }

    private async Task<bool> LoadAsync(long id, string? kind)
    {
        Now = time.GetUtcNow().UtcDateTime;
        Detail = await desk.GetAsync(id);
        if (Detail is null) return false;
        Kind = kind is not null && IrgTemplates.Kinds.Contains(kind) ? kind : "full";
        Draft = await drafts.RenderAsync(Detail, Kind);
        Problems = drafts.Validate(Detail, Kind);
        BugSummary = drafts.BugSummary(Detail);
        TemplateWarning = IncidentsApi.TemplateWarning(drafts, time);
        return true;
    }
}
