// The staff page for channels: everyone signed in reads it, admins add and remove.
using System.Net;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Channels;

public sealed class ChannelPageTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static FormUrlEncodedContent Form(string page, params (string, string)[] fields) =>
        new([new("__RequestVerificationToken", TestHost.AntiforgeryToken(page)), .. fields.Select(f => new KeyValuePair<string, string>(f.Item1, f.Item2))]);

    [Fact]
    public async Task An_admin_adds_and_removes_a_channel_on_the_page_and_staff_only_read()
    {
        var admin = await _host.UserAsync(StaffRole.Admin);
        var client = await _host.SignedInClientAsync(admin.Username, admin.Password);
        var page = await client.GetStringAsync("/staff/channels");
        Assert.Contains("No channel is registered yet.", page);

        var added = await client.PostAsync("/staff/channels?handler=Add", Form(page, ("Address", "cpr-team@ca.example"), ("PublishedIn", "cps"),
            ("PublishedIn", "ccadb-alias1"), ("MaxSilenceHours", "48"), ("AliasMembers", "nobody-here@ca.example")));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var html = await added.Content.ReadAsStringAsync();
        Assert.Contains("Added cpr-team@ca.example.", html);
        Assert.Contains("cps, ccadb-alias1", html);
        Assert.Contains("not-staff: no staff account has this address", html);

        var bad = await client.PostAsync("/staff/channels?handler=Add", Form(html, ("Address", "no address"), ("Kind", "email")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("address: &#x27;no address&#x27; is not an email address.", await bad.Content.ReadAsStringAsync());

        var staff = await _host.UserAsync(StaffRole.Staff);
        var staffClient = await _host.SignedInClientAsync(staff.Username, staff.Password);
        var staffPage = await staffClient.GetStringAsync("/staff/channels");
        Assert.Contains("cpr-team@ca.example", staffPage);
        Assert.DoesNotContain("Add a channel", staffPage);
        var refused = await staffClient.PostAsync("/staff/channels?handler=Add", Form(staffPage, ("Address", "sneaky@ca.example")));
        // Cookie sign-in answers "forbidden" by sending the browser to the access-denied page.
        Assert.Equal(HttpStatusCode.Found, refused.StatusCode);
        Assert.Contains("/staff/denied", refused.Headers.Location!.ToString(), StringComparison.OrdinalIgnoreCase);

        long id;
        await using (var db = _host.Service<Database>().Open())
            id = (await db.Channels.SingleAsync()).Id;
        var removed = await client.PostAsync($"/staff/channels?handler=Remove&id={id}", Form(html));
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        await using (var db = _host.Service<Database>().Open())
        {
            Assert.Equal(0, await db.Channels.CountAsync());
            Assert.False(await db.AuditEvents.AnyAsync(e => e.Detail.Contains("sneaky")));
            Assert.Equal(["channel.added", "channel.removed"], await db.AuditEvents.Where(e => e.Type.StartsWith("channel.")).OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync());
        }
    }
}
