// One running app and one headless Debian Chromium, shared by the tests of a class; each test opens its own
// browser context (fresh cookies).
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace CprDesk.BrowserTests;

public sealed class SiteFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The longest any single wait in these tests may take.</summary>
    public const float WaitMs = 30_000;

    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private CprDeskServer? _server;

    public CprDeskServer Server => _server ?? throw new InvalidOperationException("The app is not running.");
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not running.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"{ChromiumPath} is missing: the browser tests drive Debian's Chromium. Install it with 'apt-get install chromium' " +
                "(Playwright's own browser download is not used).");

        // Playwright's driver (Node) ships in the NuGet package and the browser is the system one given by
        // ExecutablePath, so nothing is downloaded and no PLAYWRIGHT_* variable is needed.
        _server = await CprDeskServer.StartAsync();
        AdminPassword = _server.AdminOneTimePassword;
        try
        {
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Timeout = WaitMs,
                Args =
                [
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                ],
            });
        }
        catch
        {
            // Do not count on xunit disposing a fixture whose initialisation failed: stop the app here.
            await DisposeAsync();
            throw;
        }
        Assertions.SetDefaultExpectTimeout(WaitMs);
    }

    /// <summary>A fresh context (no cookies) and a page in it, with every wait bounded.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseUrl });
        context.SetDefaultTimeout(WaitMs);
        context.SetDefaultNavigationTimeout(WaitMs);
        return await context.NewPageAsync();
    }

    /// <summary>The admin's password as it stands: the printed one-time password until a test changes it.</summary>
    public string AdminPassword { get; private set; } = "";
    public bool AdminMustChangePassword { get; private set; } = true;

    /// <summary>Signs in as the first admin. On the first sign-in the app insists on a new password (at least 12
    /// characters) before anything else; that step is driven here too and checked on the way.</summary>
    public async Task SignInAsAdminAsync(IPage page)
    {
        await page.GotoAsync("/staff");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/staff/login"));
        await page.Locator("#Username").FillAsync(Server.AdminUsername);
        await page.Locator("#Password").FillAsync(AdminPassword);
        await page.Locator("#sign-in").ClickAsync();
        if (AdminMustChangePassword)
        {
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/staff/password$"));
            const string newPassword = "browser-test-passphrase-42";
            await page.Locator("#currentPassword").FillAsync(AdminPassword);
            await page.Locator("#newPassword").FillAsync(newPassword);
            await page.Locator("#confirmPassword").FillAsync(newPassword);
            await page.Locator("#change-password").ClickAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/staff$"));
            AdminPassword = newPassword;
            AdminMustChangePassword = false;
        }
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/staff$"));
        await Assertions.Expect(page.Locator("header")).ToContainTextAsync($"Signed in as {Server.AdminUsername}");
    }

    public async Task DisposeAsync()
    {
        // Safe to call twice (after a failed initialisation and again by xunit).
        var browser = _browser;
        var playwright = _playwright;
        var server = _server;
        _browser = null;
        _playwright = null;
        _server = null;
        if (browser is not null) await browser.CloseAsync();
        playwright?.Dispose();
        if (server is not null) await server.DisposeAsync();
    }
}
