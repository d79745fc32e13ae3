using System.Net;
using Microsoft.AspNetCore.Builder;
using System.Text.RegularExpressions;
using CprDesk.Access;
using CprDesk.Storage;
using CprDesk.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CprDesk.Tests.Support;

/// <summary>The real host (Kestrel) on a loopback port with a fresh data directory.</summary>
public sealed partial class TestHost : IAsyncDisposable
{
    private readonly TempDir _dir;
    public WebApplication App { get; }
    public Uri BaseUri { get; }
    public string AdminPassword { get; }
    public string DataDirectory => _dir.Path;

    private TestHost(TempDir dir, WebApplication app, Uri baseUri, string adminPassword)
    {
        _dir = dir;
        App = app;
        BaseUri = baseUri;
        AdminPassword = adminPassword;
    }

    public static async Task<TestHost> StartAsync(long? maxAttachmentBytes = null, TempDir? dir = null, TimeProvider? time = null,
        IDictionary<string, string?>? extra = null)
    {
        dir ??= new TempDir();
        var config = new Dictionary<string, string?>
        {
            ["CprDesk:DataDirectory"] = dir.Path,
            ["CprDesk:Urls"] = "http://127.0.0.1:0",
            ["CprDesk:Mail:Listener:Endpoints"] = "127.0.0.1:0",
            ["CprDesk:Mail:Listener:Addresses"] = "cpr@ca.example",
            ["CprDesk:Mail:From"] = "cpr-desk@ca.example",
            ["Logging:LogLevel:Default"] = "Warning",
            // Hosts share the test process: a trim would collect the whole runner's heap every second (HeapTrimTests test it).
            ["CprDesk:Memory:HeapTrimMiB"] = "0",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>()) config[k] = v;
        if (maxAttachmentBytes is { } max) config["CprDesk:MaxAttachmentBytes"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var app = AppHost.Build([], config, time);
        var admin = await AppHost.PrepareAsync(app.Services, CancellationToken.None);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestHost(dir, app, new Uri(address), admin?.Password ?? "");
    }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public System.Net.IPEndPoint SmtpEndpoint => Service<CprDesk.Intake.Smtp.SmtpListenerService>().BoundEndpoints[0];

    public string OutboxDirectory => System.IO.Path.Combine(DataDirectory, "outbox");

    public HttpClient Client(string? token = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true };
        var client = new HttpClient(handler) { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    /// <summary>Creates an account with a known password (one-time password already changed) and an API token.</summary>
    public async Task<(string Username, string Password, string Token)> UserAsync(StaffRole role)
    {
        var accounts = Service<Accounts>();
        var name = role.ToString().ToLowerInvariant() + Guid.NewGuid().ToString("N")[..6];
        var (user, oneTime) = await accounts.CreateAsync("test", name, role, null, null);
        const string password = "correct horse battery staple";
        await accounts.ChangePasswordAsync(user.Id, oneTime, password);
        var token = await accounts.CreateTokenAsync("test", name, "tests");
        return (name, password, token.Token);
    }

    /// <summary>Signs a cookie client in through the login form.</summary>
    public async Task<HttpClient> SignedInClientAsync(string username, string password)
    {
        var client = Client();
        var form = await client.GetStringAsync("/staff/login");
        var response = await client.PostAsync("/staff/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Username"] = username, ["Password"] = password, ["__RequestVerificationToken"] = AntiforgeryToken(form),
        }));
        if (response.StatusCode != HttpStatusCode.Redirect) throw new InvalidOperationException($"sign-in failed: {response.StatusCode}");
        return client;
    }

    public static string AntiforgeryToken(string html)
    {
        var m = TokenRegex().Match(html);
        if (!m.Success) throw new InvalidOperationException("no anti-forgery token in page");
        return WebUtility.HtmlDecode(m.Groups[1].Value);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenRegex();

    public async Task StopAsync()
    {
        await App.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
