using CprDesk.Intake;
using CprDesk.Reports;
using CprDesk.Web.Api;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages;

/// <summary>The public CPR form: no account, no CAPTCHA. The submission is committed before the answer.</summary>
[IgnoreAntiforgeryToken(Order = 1001)]
public sealed class ReportModel(IntakePipeline intake, ReportQueries queries, CprDeskOptions options, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) : PageModel
{
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }
    public WebSubmission Input { get; private set; } = new();
    public string? CertificatesText { get; private set; }
    public CprDeskOptions Options => options;

    public string? Ticket { get; private set; }
    public DateTime ReceivedAt { get; private set; }
    public string? StatusUrl { get; private set; }
    public IReadOnlyList<DeadlineView> Deadlines { get; private set; } = [];

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        // Anti-forgery is checked here rather than by the filter so a stale token never loses the report text:
        // the form comes back filled in.
        var body = HttpContext.Items[RawBodyMiddleware.ItemKey] as byte[] ?? [];
        var fields = Request.HasFormContentType ? await Request.ReadFormAsync() : null;
        if (!await antiforgery.IsRequestValidAsync(HttpContext))
        {
            Refill(fields);
            Error = "Your session expired before you sent the form, so it was not received. Your text is kept below: attach any files again and send it.";
            Response.StatusCode = 400;
            return Page();
        }
        try
        {
            var result = await intake.SubmitAsync(new RawSubmission("web-form", body, Request.ContentType, HttpContext.Connection.RemoteIpAddress?.ToString()));
            Ticket = result.Report.Ticket;
            ReceivedAt = result.Report.ReceivedAt;
            StatusUrl = result.StatusToken is null ? null : ReportsApi.StatusUrl(HttpContext, options, result.StatusToken);
            Deadlines = (await queries.GetAsync(Ticket))!.Summary.Deadlines;
            return Page();
        }
        catch (IntakeDeferredException ex)
        {
            Refill(fields);
            Error = ex.Message;
            Response.StatusCode = 503;
            return Page();
        }
        catch (DeskException ex)
        {
            Refill(fields);
            Error = ex.Message;
            ErrorField = ex.Field;
            Response.StatusCode = ex.Kind == DeskErrorKind.TooLarge ? 413 : 400;
            return Page();
        }
    }

    private void Refill(IFormCollection? f)
    {
        if (f is null) return;
        Input = new WebSubmission
        {
            ReporterEmail = f["reporterEmail"], ReporterName = f["reporterName"], ProblemType = f["problemType"], Description = f["description"],
        };
        CertificatesText = f["certificates"];
    }
}
