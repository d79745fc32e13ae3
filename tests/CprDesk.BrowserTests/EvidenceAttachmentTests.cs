// A reporter attaches an evidence file to the public form; staff see it on the report and can download it
// unchanged. Runs against its own app process (its own class fixture), so its report does not share a queue
// with ReportJourneyTests.
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static CprDesk.BrowserTests.Steps;
using static Microsoft.Playwright.Assertions;

namespace CprDesk.BrowserTests;

public sealed class EvidenceAttachmentTests(SiteFixture site) : IClassFixture<SiteFixture>
{
    [Fact]
    public Task Reporter_attaches_an_evidence_file_and_staff_can_download_it_unchanged() =>
        WithServerLogOnFailure(site, async () =>
        {
            var page = await site.NewPageAsync();
            var dialogs = WatchDialogs(page);
            var content = Encoding.UTF8.GetBytes("-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n");

            var ticket = await SubmitReportAsync(page, new ReportForm(
                "reporter@example.org", "Rita Reporter",
                "3f8a1c9e5502b7d46a10eec321907b5f48d1a60c2e93f764bb051dc87e39a2f0", "unknown",
                "The private key is attached.",
                new FilePayload { Name = "evidence.txt", MimeType = "text/plain", Buffer = content }));

            var staff = await site.NewPageAsync();
            await site.SignInAsAdminAsync(staff);
            await staff.GotoAsync($"/staff/reports/{ticket}");
            var link = staff.GetByRole(AriaRole.Link, new PageGetByRoleOptions { Name = "evidence.txt", Exact = true });
            await Expect(link).ToBeVisibleAsync();
            await Expect(link).ToHaveAttributeAsync("href", new Regex($"^/staff/reports/{Regex.Escape(ticket)}/attachments/\\d+$"));

            // Download it with the staff session's cookies and compare the bytes.
            var download = await staff.Context.APIRequest.GetAsync((await link.GetAttributeAsync("href"))!);
            Assert.Equal(200, download.Status);
            Assert.Equal(content, await download.BodyAsync());
            Assert.Equal("application/octet-stream", download.Headers["content-type"]); // never rendered inline

            Assert.Empty(dialogs);
            await page.Context.CloseAsync();
            await staff.Context.CloseAsync();
        });
}
