using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages;

/// <summary>The reporter's view: state and public updates only, reached by the unguessable link.</summary>
public sealed class ReportStatusModel(ReportQueries queries) : PageModel
{
    public Report? Report { get; private set; }
    public IReadOnlyList<(DateTime At, string Text)> Updates { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string token)
    {
        Report = await queries.FindByStatusTokenAsync(token);
        if (Report is null) return NotFound();
        Updates = await queries.PublicUpdatesAsync(Report);
        return Page();
    }
}
