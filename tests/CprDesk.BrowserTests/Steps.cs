// Steps the browser tests share: filling in the public form, watching for dialogs, adding the app's output
// to a failure.
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CprDesk.BrowserTests;

public sealed record ReportForm(string Email, string? Name, string? Certificates, string? ProblemType, string? Description,
    FilePayload? Attachment = null);

public static partial class Steps
{
    /// <summary>Fills in and sends the public form at /report, as a reporter would.</summary>
    public static async Task SendReportFormAsync(IPage page, ReportForm form)
    {
        await page.GotoAsync("/report");
        await page.Locator("#reporterEmail").FillAsync(form.Email);
        if (form.Name is not null) await page.Locator("#reporterName").FillAsync(form.Name);
        if (form.Certificates is not null) await page.Locator("#certificates").FillAsync(form.Certificates);
        if (form.ProblemType is not null) await page.Locator("#problemType").SelectOptionAsync(form.ProblemType);
        if (form.Description is not null) await page.Locator("#description").FillAsync(form.Description);
        if (form.Attachment is not null) await page.Locator("#attachments").SetInputFilesAsync(form.Attachment);
        await page.Locator("#submit").ClickAsync();
    }

    /// <summary>Sends the form and checks the receipt; returns the ticket.</summary>
    public static async Task<string> SubmitReportAsync(IPage page, ReportForm form)
    {
        var response = await page.RunAndWaitForResponseAsync(() => SendReportFormAsync(page, form), IsFormPost);
        Assert.True(response.Status == 200, $"POST /report answered {response.Status}: {await response.TextAsync()}");
        await Expect(page.Locator("#ticket")).ToHaveTextAsync(TicketPattern());
        await Expect(page.Locator("#received-at")).ToHaveTextAsync(new Regex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$"));
        await Expect(page.Locator("#status-url")).ToHaveAttributeAsync("href", new Regex("/report/status/[^/]+$"));
        return (await page.Locator("#ticket").TextContentAsync())!.Trim();
    }

    /// <summary>The browser's POST of the public form.</summary>
    public static bool IsFormPost(IResponse r) => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == "/report";

    /// <summary>Records any alert/confirm/prompt the page opens (dismissing it so the page does not hang); the
    /// tests assert none was opened.</summary>
    public static List<string> WatchDialogs(IPage page)
    {
        var seen = new List<string>();
        page.Dialog += async (_, dialog) =>
        {
            lock (seen) seen.Add($"{dialog.Type}: {dialog.Message}");
            await dialog.DismissAsync();
        };
        return seen;
    }

    /// <summary>Runs a test body; when it fails, the app's own output is added to the failure, since a server-side
    /// error shows in the browser only as a bare error page.</summary>
    public static async Task WithServerLogOnFailure(SiteFixture site, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"{ex.GetType().Name}: {ex.Message}\n--- cprdesk serve output ---\n{site.Server.Output}", ex);
        }
    }

    [GeneratedRegex(@"^CPR-\d{4}-\d{6}$")]
    public static partial Regex TicketPattern();
}
