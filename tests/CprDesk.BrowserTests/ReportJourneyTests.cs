// End to end in a real browser against the real app process: a reporter files a CPR through the public form,
// follows the status link, and staff find it at the top of the queue with the description shown as text.
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static CprDesk.BrowserTests.Steps;
using static Microsoft.Playwright.Assertions;

namespace CprDesk.BrowserTests;

public sealed class ReportJourneyTests(SiteFixture site) : IClassFixture<SiteFixture>
{
    private const string Script = "<script>alert(1)</script>";
    private const string Fingerprint = "3f:8a:1c:9e:55:02:b7:d4:6a:10:ee:c3:21:90:7b:5f:48:d1:a6:0c:2e:93:f7:64:bb:05:1d:c8:7e:39:a2:f0";

    [Fact]
    public Task Reporter_submits_the_form_and_staff_see_it_first_in_the_queue_with_the_description_escaped() =>
        WithServerLogOnFailure(site, async () =>
        {
            var page = await site.NewPageAsync();
            var dialogs = WatchDialogs(page);

            // The public form, filled in as a reporter would. (An attached file is covered by EvidenceAttachmentTests.)
            var description = $"The key of this certificate was posted publicly. {Script} Please revoke.";
            var ticket = await SubmitReportAsync(page, new ReportForm(
                "reporter@example.org", "Rita Reporter", Fingerprint, "unknown", description));

            // The status page the reporter keeps.
            await page.Locator("#status-url").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/report/status/[^/]+$"));
            await Expect(page.Locator("h1")).ToHaveTextAsync(ticket);
            // "received", or "acknowledged" once the automatic acknowledgement has gone out.
            await Expect(page.Locator("#state")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(received|acknowledged)$"));

            // Staff: first sign-in with the printed one-time password forces a password change, then the queue.
            var staff = await site.NewPageAsync();
            var staffDialogs = WatchDialogs(staff);
            await site.SignInAsAdminAsync(staff);
            var firstRowLink = staff.Locator("#queue tbody tr").First.Locator("td").First.Locator("a");
            await Expect(firstRowLink).ToHaveTextAsync(ticket);

            // The report page: the description is shown as text, never run as markup.
            await firstRowLink.ClickAsync();
            await Expect(staff).ToHaveURLAsync(new Regex($"/staff/reports/{Regex.Escape(ticket)}$"));
            var shownDescription = staff.Locator("#description");
            await Expect(shownDescription).ToHaveTextAsync(description);
            await Expect(shownDescription.Locator("script")).ToHaveCountAsync(0);
            Assert.Contains(Script, await staff.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", await staff.ContentAsync(), StringComparison.Ordinal);

            // The clocks, with the revocation clock among them, and the certificate as given.
            await Expect(staff.Locator("#clocks tr").Filter(new LocatorFilterOptions
            {
                Has = staff.Locator("td:first-child", new PageLocatorOptions { HasTextRegex = new Regex("^revocation$") }),
            })).ToHaveCountAsync(1);
            // In the certificates given (the evidence panel lists the same fingerprint as an identifier found in the text).
            await Expect(staff.GetByRole(AriaRole.Cell, new PageGetByRoleOptions { Name = Fingerprint.Replace(":", ""), Exact = true }).Locator("pre")).ToBeVisibleAsync();

            Assert.Empty(dialogs);
            Assert.Empty(staffDialogs);
            await page.Context.CloseAsync();
            await staff.Context.CloseAsync();
        });

    [Fact]
    public Task A_report_with_neither_description_nor_certificate_is_refused_and_keeps_what_was_typed() =>
        WithServerLogOnFailure(site, async () =>
        {
            var page = await site.NewPageAsync();
            var dialogs = WatchDialogs(page);

            var response = await page.RunAndWaitForResponseAsync(
                () => SendReportFormAsync(page, new ReportForm("keep-me@example.org", "Kim Keeper", null, "key-compromise", null)),
                IsFormPost);

            Assert.Equal(400, response.Status);
            await Expect(page.Locator("#form-error")).ToBeVisibleAsync();
            await Expect(page.Locator("#form-error")).ToContainTextAsync("Describe the problem");
            await Expect(page.Locator("#ticket")).ToHaveCountAsync(0);
            await Expect(page.Locator("#reporterEmail")).ToHaveValueAsync("keep-me@example.org");
            await Expect(page.Locator("#reporterName")).ToHaveValueAsync("Kim Keeper");
            await Expect(page.Locator("#problemType")).ToHaveValueAsync("key-compromise");

            Assert.Empty(dialogs);
            await page.Context.CloseAsync();
        });
}
