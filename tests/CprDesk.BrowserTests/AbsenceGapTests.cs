// In a real browser: an admin sets up a schedule on the schedules page, then records an absence that leaves nobody on
// call. The page shows the gap warning and saves nothing until "Save anyway" is clicked; the calendar then shows the gap.
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static CprDesk.BrowserTests.Steps;
using static Microsoft.Playwright.Assertions;

namespace CprDesk.BrowserTests;

public sealed class AbsenceGapTests(SiteFixture site) : IClassFixture<SiteFixture>
{
    [Fact]
    public Task An_absence_that_opens_a_gap_is_saved_only_after_confirming_the_warning() =>
        WithServerLogOnFailure(site, async () =>
        {
            var page = await site.NewPageAsync();
            var dialogs = WatchDialogs(page);
            await site.SignInAsAdminAsync(page);
            var admin = site.Server.AdminUsername;

            await page.GotoAsync("/staff/oncall/schedules");
            await page.Locator("#Name").FillAsync("browser");
            await page.Locator("#Layers").FillAsync(
                $$"""[{"name":"solo","priority":0,"participants":["{{admin}}"],"shift":{"days":7},"handOff":"09:00","timeZone":"UTC","start":"2026-01-05"}]""");
            await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Save", Exact = true }).ClickAsync();
            await Expect(page.Locator("#saved")).ToContainTextAsync("Saved schedule browser");

            var from = DateTime.UtcNow.Date.AddDays(3);
            string Local(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
            await page.GotoAsync("/staff/oncall/absences");
            await page.Locator("#UserName").FillAsync(admin);
            await page.Locator("#From").FillAsync(Local(from));
            await page.Locator("#To").FillAsync(Local(from.AddDays(1)));
            await page.Locator("#Reason").FillAsync("holiday");
            await page.Locator("#save").ClickAsync();

            // The warning names the gap; nothing is saved yet.
            var warning = page.Locator("#gap-warning");
            await Expect(warning).ToBeVisibleAsync();
            await Expect(warning).ToContainTextAsync($"browser: {from:yyyy-MM-dd} 00:00 – {from.AddDays(1):yyyy-MM-dd} 00:00 UTC");
            await Expect(page.Locator("#absences tbody tr")).ToHaveCountAsync(0);

            // Cancelling keeps it unsaved; confirming saves it.
            await page.GetByRole(AriaRole.Link, new PageGetByRoleOptions { Name = "Cancel" }).ClickAsync();
            await Expect(page.Locator("#gap-warning")).ToHaveCountAsync(0);
            await Expect(page.Locator("#absences tbody tr")).ToHaveCountAsync(0);
            await page.Locator("#UserName").FillAsync(admin);
            await page.Locator("#From").FillAsync(Local(from));
            await page.Locator("#To").FillAsync(Local(from.AddDays(1)));
            await page.Locator("#save").ClickAsync();
            await page.Locator("#confirm").ClickAsync();
            await Expect(page.Locator("#saved")).ToBeVisibleAsync();
            await Expect(page.Locator("#gap-warning")).ToHaveCountAsync(0);
            var row = page.Locator("#absences tbody tr");
            await Expect(row).ToHaveCountAsync(1);
            await Expect(row.Locator("td").Nth(0)).ToHaveTextAsync(admin);

            await page.GotoAsync("/staff/oncall");
            await Expect(page.Locator($"td.gap[data-day=\"{from:yyyy-MM-dd}\"]")).ToHaveCountAsync(1); // three days ahead is always within the four weeks from this Monday
            await Expect(page.Locator(".seg-gap").First).ToContainTextAsync(new Regex("NOBODY"));

            Assert.Empty(dialogs);
            await page.Context.CloseAsync();
        });
}
