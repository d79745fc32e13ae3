// Smaller rules of the incident module: configuration checks, the preliminary template filled exactly, a revocation
// miss alone opening only a delayed-revocation incident, and action-item reminders through the escalation engine.
using CprDesk.Compliance.Incidents;
using CprDesk.Deadlines;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Compliance;

public sealed class IncidentRuleTests : IAsyncLifetime, IDisposable
{
    private readonly Desk _desk = new();

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
    [InlineData("A12345")]
    [InlineData("B000123")]
    [InlineData("A0001234")]
    [InlineData("a000123")]
    public void A_malformed_CCADB_ID_stops_start_up(string id)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => IncidentsSetup.Create(_desk.Database, _desk.Time, IncidentKit.Config(ccadbId: id), _desk.Outbox));
        Assert.Contains("CaOwnerCcadbId", ex.Message);
        Assert.True(IncidentOptions.IsCcadbId("A000123"));
    }

    [Fact]
    public async Task The_preliminary_report_is_the_IRG_template_filled_with_N_A_where_nothing_applies()
    {
        var (module, _) = IncidentKit.Create(_desk);
        var id = await module.Desk.CreateAsync("user:carol", new NewIncident("other", "Incorrect Subject RDN Encoding", _desk.Now, "Audit", null));
        var d = (await module.Desk.GetAsync(id))!;
        Assert.Equal("Example CA: Incorrect Subject RDN Encoding", module.Drafts.BugSummary(d));
        Assert.Equal("""
            ## Preliminary Incident Report

            ### Summary
            - **Incident description:** N/A
            - **Relevant policies:** N/A
            - **Source of incident disclosure:** Audit

            """.ReplaceLineEndings("\n"), await module.Drafts.RenderAsync(d, "preliminary"));
        await module.Desk.UpdateAsync(id, "user:carol", new IncidentPatch(Fields: new Dictionary<string, string?>
        {
            ["incidentDescription"] = "Subject RDNs were encoded as UTF8String.", ["relevantPolicies"] = "TLS BR §7.1.4.2",
        }));
        var text = await module.Drafts.RenderAsync((await module.Desk.GetAsync(id))!, "preliminary");
        Assert.Contains("- **Incident description:** Subject RDNs were encoded as UTF8String.\n- **Relevant policies:** TLS BR §7.1.4.2\n", text);
        Assert.Equal("""
            ### Report Closure Summary

            - **Incident description:** Subject RDNs were encoded as UTF8String.
            - **Incident Root Cause(s):** N/A
            - **Remediation description:** N/A
            - **Commitment summary:** N/A

            All Action Items disclosed in this report have been completed as described, and we request its closure.

            """.ReplaceLineEndings("\n"), await module.Drafts.RenderAsync((await module.Desk.GetAsync(id))!, "closure"));
    }

    [Fact]
    public async Task A_missed_revocation_alone_opens_only_a_delayed_revocation_incident()
    {
        var (module, engine) = IncidentKit.Create(_desk);
        var ticket = await _desk.SubmitAsync();
        await _desk.Reports.AddSubscriberAsync(ticket, "user:carol", "owner@shop.example", null);
        _desk.Time.Advance(TimeSpan.FromHours(2));
        await _desk.Reports.RecordPreliminaryReportAsync(ticket, "user:carol", "reporter", null, null, "Findings: revoking.", null, send: false);
        await _desk.Reports.RecordPreliminaryReportAsync(ticket, "user:carol", "subscriber", "owner@shop.example", null, "Findings: revoking.", null, send: false);
        await engine.RunOnceAsync();
        _desk.Time.Advance(TimeSpan.FromHours(22));
        await engine.RunOnceAsync();
        var incident = Assert.Single(await module.Desk.ListAsync());
        Assert.Equal(IncidentKinds.DelayedRevocation, incident.Kind);
        Assert.Contains("[leaf-revocation-delay]", incident.Whiteboard);
        var d = (await module.Desk.GetAsync(incident.Id))!;
        Assert.Equal(ClockNames.Revocation, Assert.Single(d.Links).MissedClock);
        var draft = await module.Drafts.RenderAsync(d, "full");
        Assert.Contains("the revocation was not published by 2026-03-07 19:45 UTC as BR §4.9.1.1 requires", draft);
        Assert.Contains(module.Drafts.Validate(d, "full"), p => p.Field == "analysis");
    }

    [Fact]
    public async Task Action_items_are_reminded_before_and_at_their_due_date_through_the_escalation_engine()
    {
        var (module, engine) = IncidentKit.Create(_desk);
        var id = await module.Desk.CreateAsync("user:carol", new NewIncident("other", "Late CRL", _desk.Now, "Self Reported", null));
        var rc = await module.Desk.AddFindingAsync(id, "user:carol", new NewFinding("root-cause", "CRL job unmonitored", null));
        await module.Desk.AddActionItemAsync(id, "user:carol", new ActionItemChange("CRL age alarm", "Detect", [rc], null, "carol", "2026-03-10", null));
        await module.Desk.RecordPostAsync(id, "user:carol", "preliminary", null, null, []);
        await engine.RunOnceAsync();
        var due = new DateTime(2026, 3, 11, 0, 0, 0, DateTimeKind.Utc); // the end of 2026-03-10 UTC

        async Task<List<AuditEvent>> EventsAsync(string type)
        {
            await using var db = _desk.Database.Open();
            return await db.AuditEvents.Where(e => e.Type == type && e.Detail.Contains("action-item-due")).OrderBy(e => e.Seq).ToListAsync();
        }

        _desk.Time.SetUtcNow(due.AddHours(-13));
        await engine.RunOnceAsync();
        Assert.Empty(await EventsAsync("incident.escalation-fired"));
        _desk.Time.SetUtcNow(due.AddHours(-12));
        await engine.RunOnceAsync();
        Assert.NotEmpty(await EventsAsync("incident.escalation-fired"));
        Assert.Empty(await EventsAsync("incident.deadline-missed"));
        _desk.Time.SetUtcNow(due);
        await engine.RunOnceAsync();
        Assert.Single(await EventsAsync("incident.deadline-missed"));
        await using var db = _desk.Database.Open();
        Assert.True(await db.Outbox.AnyAsync(o => o.Recipient == "carol@ca.example" && o.Subject.Contains("action-item-due") && o.Subject.Contains("MISSED")));

        // Completing the item an hour late meets its clock late: it stays a miss.
        _desk.Time.Advance(TimeSpan.FromHours(1));
        var itemId = (await module.Desk.GetAsync(id))!.ActionItems[0].Id;
        await module.Desk.UpdateActionItemAsync(id, itemId, "user:carol", new ActionItemChange(null, null, null, null, null, null, "Complete"));
        var clock = (await module.Desk.GetAsync(id))!.Clocks.Single(c => c.Name == "action-item-due");
        Assert.Equal(_desk.Now, clock.MetAt);
        Assert.Equal("missed", IncidentsApi.ClockState(clock, _desk.Now));
    }
}
