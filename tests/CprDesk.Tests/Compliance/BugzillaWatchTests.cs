// The Bugzilla watch against fixtures in the REST shape (bugs and comments): whiteboard tags and Next-update dates
// in their many forms, classification into the failure taxonomy, the related-incidents finder, the weekly review
// queue and its alarm, our own bug's Next update driving the incident's update clock, and the REST import against a
// loopback HTTP server.
using System.Collections.Concurrent;
using System.Text.Json;
using CprDesk.Compliance.Bugzilla;
using CprDesk.Compliance.Incidents;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CprDesk.Tests.Compliance;

public sealed class BugzillaWatchTests : IAsyncLifetime, IDisposable
{
    private readonly Desk _desk = new();

    public static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Compliance", "Fixtures", name));

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        await using var db = _desk.Database.Open();
        db.Users.Add(new StaffUser { Username = "carol", Role = StaffRole.Admin, Email = "carol@ca.example", PasswordHash = "x", CreatedAt = _desk.Now });
        await db.SaveChangesAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _desk.Dispose();

    [Theory]
    [InlineData("[ca-compliance] [policy-failure] Next update 2025-05-23", "2025-05-23")]
    [InlineData("[ca-compliance] [policy-failure] Next update 2023-Oct-27", "2023-10-27")]
    [InlineData("[ca-compliance] Next update 31-Oct-2023", "2023-10-31")]
    [InlineData("[ca-compliance] [leaf-revocation-delay] Next update 23.2.2024", "2024-02-23")]
    [InlineData("[ca-compliance] next update: 2024/03/01", "2024-03-01")]
    [InlineData("[ca-compliance] Next Update on Oct 27, 2023", "2023-10-27")]
    [InlineData("[ca-compliance] Next update 5 Sept 2024", "2024-09-05")]
    public void Next_update_is_read_in_its_many_date_forms(string whiteboard, string expected)
    {
        var info = Whiteboard.Parse(whiteboard);
        Assert.Equal(DateTime.ParseExact(expected, "yyyy-MM-dd", null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal), info.NextUpdate);
        Assert.Equal(DateTimeKind.Utc, info.NextUpdate!.Value.Kind);
        Assert.Contains("ca-compliance", info.Tags);
    }

    [Fact]
    public void Tags_close_on_and_no_date()
    {
        var info = Whiteboard.Parse("[close on 2025-12-10] [ca-compliance] [policy-failure] [External] [leaf-revocation-delay]");
        Assert.Equal(["close-on", "ca-compliance", "policy-failure", "external", "leaf-revocation-delay"], info.Tags);
        Assert.Equal(new DateTime(2025, 12, 10, 0, 0, 0, DateTimeKind.Utc), info.CloseOn);
        Assert.Null(info.NextUpdate);
        Assert.Null(Whiteboard.Parse("[ca-compliance] Next update soon").NextUpdate);
        Assert.Null(Whiteboard.ParseDate("2025-02-30"));
    }

    private async Task<IncidentsSetup.Module> ImportedAsync(Microsoft.Extensions.Configuration.IConfiguration? config = null)
    {
        var (module, _) = IncidentKit.Create(_desk, config);
        var bugs = await module.Watch.ImportJsonAsync("user:carol", Fixture("bugzilla-bugs.json"), "bugs.json");
        Assert.Equal((8, 8), (bugs.Bugs, bugs.New));
        var comments = await module.Watch.ImportJsonAsync("user:carol", Fixture("bugzilla-comments.json"), "comments.json");
        Assert.Equal(7, comments.Comments);
        return module;
    }

    private async Task<BugzillaBug> BugAsync(long id)
    {
        await using var db = _desk.Database.Open();
        return await db.BugzillaBugs.AsNoTracking().SingleAsync(b => b.Id == id);
    }

    [Fact]
    public async Task Imported_bugs_have_their_tags_dates_owner_and_failure_classes_with_reasons()
    {
        await ImportedAsync();
        var kir = await BugAsync(1967929);
        Assert.Equal("KIR", kir.CaOwner);
        Assert.Equal("ca-compliance policy-failure", kir.Tags);
        Assert.Equal(new DateTime(2025, 5, 23), kir.NextUpdateOn);
        Assert.Contains("CPR", kir.FailureClasses.Split(' '));
        Assert.Contains("F6", kir.FailureClasses.Split(' '));   // a classifier routed the web form to a slow queue
        Assert.Contains("F7", kir.FailureClasses.Split(' '));   // alias members on holiday
        Assert.Contains("general web form", kir.ClassReasons);

        var emudhraCpr = await BugAsync(1970727);
        Assert.Equal("ca-compliance policy-failure external", emudhraCpr.Tags);
        Assert.Contains("CPR", emudhraCpr.FailureClasses.Split(' '));
        Assert.Contains("F1", emudhraCpr.FailureClasses.Split(' ')); // the CA's own comment: quarantined by anti spam filters
        Assert.StartsWith("On 2025-06-03 at 14:35 UTC", emudhraCpr.Description);

        var crl = await BugAsync(1970728);
        Assert.Equal("F14", crl.FailureClasses);
        Assert.Contains("whiteboard tag [crl-failure]", crl.ClassReasons);

        var godaddy = await BugAsync(1942877);
        Assert.Contains("RD", godaddy.FailureClasses.Split(' '));
        Assert.Equal(new DateTime(2025, 2, 23), godaddy.NextUpdateOn);
        Assert.Equal(new DateTime(2024, 10, 31), (await BugAsync(1900129)).NextUpdateOn);
        Assert.Equal(new DateTime(2023, 10, 27), (await BugAsync(1837519)).NextUpdateOn);
        Assert.Equal(new DateTime(2025, 12, 10), (await BugAsync(1994454)).CloseOn);
        Assert.True((await BugAsync(2050001)).Own);
        Assert.False(kir.Own);

        // Importing again changes nothing but the counts.
        var (module, _) = IncidentKit.Create(_desk);
        var again = await module.Watch.ImportJsonAsync("user:carol", Fixture("bugzilla-bugs.json"), "bugs.json");
        Assert.Equal(0, again.New);
        Assert.Contains("F1", (await BugAsync(1970727)).FailureClasses.Split(' '));
    }

    [Fact]
    public async Task Related_finder_returns_CPR_response_bugs_for_a_CPR_response_incident_and_not_the_CRL_bugs()
    {
        var module = await ImportedAsync();
        var id = await module.Desk.CreateAsync("user:carol", new NewIncident(IncidentKinds.CprResponse,
            "Failure to provide a preliminary report within 24 hours of a Certificate Problem Report", _desk.Now.AddDays(-1), "Self Reported", null));
        await module.Desk.UpdateAsync(id, "user:carol", new IncidentPatch(BugId: 2050001, Fields: new Dictionary<string, string?>
        {
            ["incidentDescription"] = "A Certificate Problem Report about invalid CRL signatures sent on a Saturday was not answered within 24 hours; the alias was not monitored over the weekend.",
        }));

        var related = await module.Watch.RelatedAsync(id);
        var ids = related.Select(r => r.Bug).ToList();
        Assert.Contains(1970727L, ids);
        Assert.Contains(1967929L, ids);
        Assert.Contains(1994454L, ids);
        Assert.DoesNotContain(1970728L, ids);  // eMudhra's CRL bug: same CA, same words, different failure
        Assert.DoesNotContain(1900129L, ids);  // another CRL bug
        Assert.DoesNotContain(1837519L, ids);  // a CPR bug, but older than two years
        Assert.DoesNotContain(2050001L, ids);  // our own bug for this very incident
        Assert.All(related, r => Assert.Contains("CPR", r.Classes));
        Assert.All(related, r => Assert.Contains("text similarity", r.Why));

        // A person accepts rows; the draft's table gets Bug | Date, with the Description left to them.
        await module.Desk.UpdateAsync(id, "user:carol", new IncidentPatch(RelatedIncidents: related.Take(2).Select(r => new RelatedIncidentRow(r.Bug, r.Opened, null)).ToList()));
        var draft = await module.Drafts.RenderAsync((await module.Desk.GetAsync(id))!, "full");
        Assert.Contains($"| [{related[0].Bug}](https://bugzilla.mozilla.org/show_bug.cgi?id={related[0].Bug}) | {related[0].Opened:yyyy-MM-dd} | N/A |", draft);
    }

    [Fact]
    public async Task Delayed_revocation_incident_relates_to_revocation_delay_bugs()
    {
        var module = await ImportedAsync();
        var id = await module.Desk.CreateAsync("user:carol", new NewIncident(IncidentKinds.DelayedRevocation, "Delayed revocation of certificates with leaked keys",
            _desk.Now, "Self Reported", null));
        var related = await module.Watch.RelatedAsync(id);
        Assert.Equal([1942877L], related.Select(r => r.Bug));
    }

    [Fact]
    public async Task Our_own_bug_links_to_its_incident_and_its_Next_update_drives_the_update_clock()
    {
        var (module, _) = IncidentKit.Create(_desk);
        var id = await module.Desk.CreateAsync("user:carol", new NewIncident(IncidentKinds.CprResponse, "Late preliminary report", _desk.Now, "Self Reported", null));
        await module.Desk.UpdateAsync(id, "user:carol", new IncidentPatch(BugId: 2050001));
        await module.Desk.RecordPostAsync(id, "user:carol", "update", _desk.Now, null, []);
        await module.Watch.ImportJsonAsync("user:carol", Fixture("bugzilla-bugs.json"), "bugs.json");
        Assert.Equal(id, (await BugAsync(2050001)).IncidentId);
        var d = (await module.Desk.GetAsync(id))!;
        Assert.Equal(new DateTime(2026, 4, 2), d.Incident.NextUpdateOn);
        var update = d.Clocks.Single(c => c.Name == "incident-update");
        Assert.Equal(new DateTime(2026, 4, 3, 0, 0, 0, DateTimeKind.Utc), update.DueAt);
        Assert.Contains("Next update 2026-04-02", update.Basis);
    }

    [Fact]
    public async Task Weekly_review_queue_marks_bugs_with_a_note_and_alarms_when_a_week_passes_unreviewed()
    {
        var module = await ImportedAsync();
        var queue = await module.Watch.ReviewQueueAsync();
        Assert.Equal(7, queue.Count); // our own bug is not in the queue

        await module.Watch.ReviewAsync(1970727, "user:carol", "relevant", "Our quarantine is reviewed daily; check the CPR alias is allow-listed.");
        var bad = await Assert.ThrowsAsync<CprDesk.Reports.DeskException>(() => module.Watch.ReviewAsync(1970728, "user:carol", "maybe", "x"));
        Assert.Equal("verdict", bad.Field);
        var noNote = await Assert.ThrowsAsync<CprDesk.Reports.DeskException>(() => module.Watch.ReviewAsync(1970728, "user:carol", "not-relevant", " "));
        Assert.Equal("note", noNote.Field);
        Assert.Equal(6, (await module.Watch.ReviewQueueAsync()).Count);

        // Six days: no alarm yet. Eight days: the admins are told, once a day.
        _desk.Time.Advance(TimeSpan.FromDays(6));
        await module.Watch.ReviewAlarmAsync();
        _desk.Time.Advance(TimeSpan.FromDays(2));
        await module.Watch.ReviewAlarmAsync();
        await module.Watch.ReviewAlarmAsync();
        await using var db = _desk.Database.Open();
        var alarm = Assert.Single(await db.AuditEvents.Where(e => e.Type == BugzillaWatch.AlarmEvent).ToListAsync());
        Assert.Contains("\"waiting\":6", alarm.Detail);
        var mail = Assert.Single(await db.Outbox.Where(o => o.Subject == "Weekly Bugzilla review overdue").ToListAsync());
        Assert.Equal("carol@ca.example", mail.Recipient);
        var reviewed = Assert.Single(await db.AuditEvents.Where(e => e.Type == "bugzilla.reviewed").ToListAsync());
        Assert.Contains("\"verdict\":\"relevant\"", reviewed.Detail);
        Assert.Equal("user:carol", reviewed.Actor);
    }

    [Fact]
    public async Task Import_from_the_REST_API_is_incremental_by_last_change_time_and_fetches_comments()
    {
        var requests = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var server = builder.Build();
        var bugsDoc = JsonDocument.Parse(Fixture("bugzilla-bugs.json"));
        var commentsDoc = JsonDocument.Parse(Fixture("bugzilla-comments.json"));
        server.MapGet("/rest/bug", (HttpContext ctx) =>
        {
            requests.Enqueue(ctx.Request.Path + ctx.Request.QueryString);
            var since = DateTime.Parse(ctx.Request.Query["last_change_time"]!, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
            var offset = int.Parse(ctx.Request.Query["offset"]!);
            var bugs = bugsDoc.RootElement.GetProperty("bugs").EnumerateArray()
                .Where(b => DateTime.Parse(b.GetProperty("last_change_time").GetString()!, null, System.Globalization.DateTimeStyles.AdjustToUniversal) >= since)
                .Skip(offset).ToList();
            return Results.Json(new { bugs });
        });
        server.MapGet("/rest/bug/{id}/comment", (string id, HttpContext ctx) =>
        {
            requests.Enqueue(ctx.Request.Path.ToString());
            var comments = commentsDoc.RootElement.GetProperty("bugs").TryGetProperty(id, out var c) ? c.GetProperty("comments") : JsonDocument.Parse("[]").RootElement;
            return Results.Json(new Dictionary<string, object> { ["bugs"] = new Dictionary<string, object> { [id] = new { comments } }, ["comments"] = new { } });
        });
        await server.StartAsync();
        try
        {
            var baseUrl = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var (module, _) = IncidentKit.Create(_desk, IncidentKit.Config(bugzillaBase: baseUrl));

            var first = await module.Watch.FetchAsync("user:carol", new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
            Assert.Equal(6, first.Bugs); // changed since 2025-01-01
            Assert.Equal(6, first.Comments);
            var search = requests.First(r => r.StartsWith("/rest/bug?", StringComparison.Ordinal));
            Assert.Contains("product=CA%20Program", search);
            Assert.Contains("component=CA%20Certificate%20Compliance", search);
            Assert.Contains("include_fields=id,summary,status,resolution,whiteboard,creator,creation_time,last_change_time", search);
            Assert.Contains("last_change_time=2025-01-01T00%3A00%3A00Z", search);
            Assert.Contains("/rest/bug/1970727/comment", requests);
            Assert.Contains("F1", (await BugAsync(1970727)).FailureClasses);

            // The next import starts from the latest change already seen.
            requests.Clear();
            var second = await module.Watch.FetchAsync("user:carol", null);
            Assert.Contains("last_change_time=2026-03-05T09%3A00%3A00Z", requests.First(r => r.StartsWith("/rest/bug?", StringComparison.Ordinal)));
            Assert.Equal(1, second.Bugs);
            Assert.Equal(0, second.New);
        }
        finally
        {
            await server.StopAsync();
        }
    }
}
