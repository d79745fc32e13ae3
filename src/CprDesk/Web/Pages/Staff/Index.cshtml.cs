using CprDesk.Reports;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

public sealed class IndexModel(ReportQueries queries, TimeProvider time, CprDesk.OnCall.OnCallStore onCall) : PageModel
{
    /// <summary>Gaps shown on the queue page: the next week, where a gap is an emergency in the making.</summary>
    public static readonly TimeSpan GapHorizon = TimeSpan.FromDays(7);

    public IReadOnlyList<(string Schedule, CprDesk.OnCall.OnCallAnswer Answer)> OnCallNow { get; private set; } = [];
    public IReadOnlyList<CprDesk.OnCall.ScheduleGap> Gaps { get; private set; } = [];
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
        var state = await onCall.LoadAsync();
        OnCallNow = state.Schedules.Select(sc => (sc.Name, CprDesk.OnCall.OnCallCalculator.At(sc, state.Overrides, state.Absences, Now))).ToList();
        Gaps = CprDesk.OnCall.OnCallStore.Gaps(state, Now, Now + GapHorizon);
    }
}
