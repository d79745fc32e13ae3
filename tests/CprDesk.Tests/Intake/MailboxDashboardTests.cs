using System.Net;
using System.Text;
using System.Text.Json;
using CprDesk.Intake.Imap;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace CprDesk.Tests.Intake;

/// <summary>The polled mailboxes in /healthz, /metrics and the staff page, through the real host and a real Dovecot.</summary>
public sealed class MailboxDashboardTests : IAsyncLifetime
{
    private Dovecot _dovecot = null!;
    private TestHost _host = null!;
    private readonly TempDir _secrets = new();

    public async Task InitializeAsync()
    {
        _dovecot = await Dovecot.StartAsync();
        var passwordFile = Path.Combine(_secrets.Path, "imap-password");
        await File.WriteAllTextAsync(passwordFile, _dovecot.Password + "\n");
        _host = await TestHost.StartAsync(extra: new Dictionary<string, string?>
        {
            ["CprDesk:Mail:Mailboxes:0:Name"] = "hosted \"cpr\"",
            ["CprDesk:Mail:Mailboxes:0:Host"] = "127.0.0.1",
            ["CprDesk:Mail:Mailboxes:0:Port"] = _dovecot.TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CprDesk:Mail:Mailboxes:0:Tls"] = "Implicit",
            ["CprDesk:Mail:Mailboxes:0:User"] = _dovecot.User,
            ["CprDesk:Mail:Mailboxes:0:PasswordFile"] = passwordFile,
            ["CprDesk:Mail:Mailboxes:0:CertificateFingerprints"] = _dovecot.CertificateSha256,
            ["CprDesk:Mail:Mailboxes:0:IntervalSeconds"] = "3600",
            ["CprDesk:Mail:Mailboxes:0:Idle"] = "false",
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _dovecot.DisposeAsync();
        _secrets.Dispose();
    }

    [Fact]
    public async Task Healthz_metrics_and_the_staff_page_show_each_mailbox_with_its_folders_and_last_poll()
    {
        await _dovecot.AppendAsync("Junk", Encoding.ASCII.GetBytes("From: r@example.org\r\nTo: cpr@ca.example\r\nSubject: Key compromise\r\nMessage-ID: <dash-1@example.org>\r\n\r\nProof attached.\r\n"),
            DateTimeOffset.UtcNow.AddHours(-5));
        // The background service polls at start; this cycle runs after it (cycles of one mailbox never overlap).
        var cycle = await _host.Service<MailboxPollers>().All.Single().RunOnceAsync();
        Assert.True(cycle.Succeeded, cycle.Error);

        using var anonymous = _host.Client();
        using var health = JsonDocument.Parse(await anonymous.GetStringAsync("/healthz"));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        var box = health.RootElement.GetProperty("mailboxes").EnumerateArray().Single();
        Assert.Equal("hosted \"cpr\"", box.GetProperty("name").GetString());
        Assert.Equal("ok", box.GetProperty("state").GetString());
        Assert.InRange(box.GetProperty("lastMessageAgeSeconds").GetInt64(), 5 * 3600 - 120, 5 * 3600 + 120);
        Assert.InRange(box.GetProperty("lastSuccessAgeSeconds").GetInt64(), 0, 120);

        var metrics = await anonymous.GetStringAsync("/metrics");
        Assert.Contains("cprdesk_imap_folder_messages{mailbox=\"hosted \\\"cpr\\\"\",folder=\"Junk\"} 1", metrics);
        Assert.Contains("cprdesk_imap_missing_messages{mailbox=\"hosted \\\"cpr\\\"\"} 0", metrics);
        Assert.Contains("cprdesk_imap_last_success_age_seconds{mailbox=", metrics);
        Assert.Contains("cprdesk_imap_failing_seconds{mailbox=\"hosted \\\"cpr\\\"\"} 0", metrics);

        var (user, password, _) = await _host.UserAsync(StaffRole.Auditor);
        using var staff = await _host.SignedInClientAsync(user, password);
        var page = await staff.GetAsync("/staff/mailboxes");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync());
        Assert.Contains("Junk (junk)", html);
        Assert.Contains("Archive/Quarantäne", html);
        Assert.Contains(@"\Junk", html);
        Assert.Contains("State: ", html);
        Assert.DoesNotContain(_dovecot.Password, html);
        Assert.Equal(HttpStatusCode.Redirect, (await anonymous.GetAsync("/staff/mailboxes")).StatusCode);
    }

    [Fact]
    public void A_password_in_the_configuration_file_is_refused_at_start()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CprDesk:Mail:Mailboxes:0:Name"] = "x", ["CprDesk:Mail:Mailboxes:0:Host"] = "h", ["CprDesk:Mail:Mailboxes:0:User"] = "u",
            ["CprDesk:Mail:Mailboxes:0:PasswordEnv"] = "X", ["CprDesk:Mail:Mailboxes:0:Password"] = "hunter2",
        }).Build();
        var ex = Assert.Throws<InvalidOperationException>(() => MailboxSettings.Load(config));
        Assert.Contains("CprDesk:Mail:Mailboxes:0:Password", ex.Message);
    }
}
