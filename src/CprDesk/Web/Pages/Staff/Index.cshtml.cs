using CprDesk.Reports;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

public sealed class IndexModel(ReportQueries queries, TimeProvider time) : PageModel
{
    public IReadOnlyList<ReportSummary> Reports { get; private set; } = [];
    public DateTime Now { get; private set; }
    public bool ShowClosed { get; private set; }
    public IReadOnlyList<CprDesk.Storage.InboundMessage> Rejected { get; private set; } = [];

    public async Task OnGetAsync(bool closed = false)
    {
        ShowClosed = closed;
        Now = time.GetUtcNow().UtcDateTime;
        Reports = await queries.ListAsync(null, null, closed);
        Rejected = await queries.RejectedAsync(50);
    }
}
