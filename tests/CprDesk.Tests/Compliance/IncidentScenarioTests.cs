// The scenario with a fake clock: a CPR whose preliminary reports go out 30 hours late opens an incident,
// whose full draft carries the timeline from the audit trail, whose appendix has the IRG header, and which cannot
// be posted while a "didn't go well" item has no action item. The incident's own clocks escalate like report clocks.
using CprDesk.Compliance;
using CprDesk.Compliance.Incidents;
using CprDesk.Deadlines;
using CprDesk.Intake;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Compliance;

public sealed class IncidentScenarioTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset Saturday = new(2026, 3, 7, 20, 48, 0, TimeSpan.Zero);
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

    private async Task<string> SubmitWithCertificateAsync(string pem)
    {
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            reporterEmail = "jane.doe@example.org", reporterName = "Jane Doe", description = "The private key of this certificate is on a public paste site.",
            certificates = new[] { pem },
        });
        return (await _desk.Intake.SubmitAsync(new RawSubmission("api", json, "application/json", "127.0.0.1"))).Report.Ticket;
    }

    private async Task RunAtAsync(CprDesk.Escalation.EscalationEngine engine, DateTimeOffset at)
    {
        _desk.Time.SetUtcNow(at);
        await engine.RunOnceAsync();
    }

    [Fact]
    public async Task A_preliminary_report_30_hours_late_opens_an_incident_whose_full_draft_has_the_timeline_appendix_and_validation()
    {
        var (module, engine) = IncidentKit.Create(_desk);
        _desk.Time.SetUtcNow(Saturday);
        var cert = IncidentKit.Certificate(Saturday.AddDays(-10));
        var ticket = await SubmitWithCertificateAsync(cert.Pem);
        await engine.RunOnceAsync();
        _desk.Time.SetUtcNow(Saturday.AddMinutes(95));
        await _desk.Reports.AddSubscriberAsync(ticket, "user:carol", "admin@shop.example.com", "Shop Ltd");
        await _desk.Reports.ClassifyAsync(ticket, "user:carol", "3", "key on a paste site");

        // Nothing is due before 24 hours: no incident yet.
        await RunAtAsync(engine, Saturday.AddHours(23));
        Assert.Empty(await module.Desk.ListAsync());

        // At the due time the three clocks are missed: one CPR-response incident (not one per clock), and a separate
        // delayed-revocation incident for the revocation clock.
        await RunAtAsync(engine, Saturday.AddHours(24));
        var incidents = await module.Desk.ListAsync();
        Assert.Equal(2, incidents.Count);
        var cpr = Assert.Single(incidents, i => i.Kind == IncidentKinds.CprResponse);
        Assert.Single(incidents, i => i.Kind == IncidentKinds.DelayedRevocation);
        Assert.Equal(Saturday.AddHours(24).UtcDateTime, cpr.AwareAt);
        var detail = (await module.Desk.GetAsync(cpr.Id))!;
        Assert.Equal(ticket, Assert.Single(detail.Reports).Ticket);
        var initial = Assert.Single(detail.Clocks, c => c.Name == "incident-initial-report");
        Assert.Equal(Saturday.AddHours(24 + 72).UtcDateTime, initial.DueAt);
        Assert.Equal(Saturday.AddHours(24 + 14 * 24).UtcDateTime, Assert.Single(detail.Clocks, c => c.Name == "incident-full-report").DueAt);

        // The preliminary reports go out 30 hours late (to the reporter, then to the Subscriber ten minutes later).
        var lateAt = Saturday.AddHours(24 + 30);
        _desk.Time.SetUtcNow(lateAt.AddMinutes(20));
        await _desk.Reports.RecordPreliminaryReportAsync(ticket, "user:carol", "reporter", null, null, "We found the key published and are revoking.", lateAt.UtcDateTime, send: false);
        await _desk.Reports.RecordPreliminaryReportAsync(ticket, "user:carol", "subscriber", "admin@shop.example.com", null, "Your certificate's key was published.",
            lateAt.AddMinutes(10).UtcDateTime, send: false);
        Assert.Equal("missed", (await _desk.ClockAsync(ticket, ClockNames.PreliminaryReportToReporter)).State);

        detail = (await module.Desk.GetAsync(cpr.Id))!;
        var draft = await module.Drafts.RenderAsync(detail, "full");
        Assert.StartsWith("## Full Incident Report\n\n### Summary\n\n- **CA Owner CCADB unique ID:** A000123\n", draft);
        var timeline = draft[draft.IndexOf("### Timeline", StringComparison.Ordinal)..draft.IndexOf("### Related Incidents", StringComparison.Ordinal)];
        Assert.Contains("- 2026-03-07 20:48 UTC Certificate Problem Report received from a community member", timeline);
        Assert.Contains("- 2026-03-07 20:48 UTC Automatic acknowledgement sent to the reporter", timeline);
        Assert.Contains("- 2026-03-08 20:48 UTC Deadline missed: preliminary report to the reporter (BR §4.9.5).", timeline);
        Assert.Contains("- 2026-03-08 20:48 UTC Deadline missed: preliminary report to Subscriber 1 (BR §4.9.5).", timeline);
        Assert.Contains("- 2026-03-10 02:48 UTC Preliminary report on findings provided to the reporter.", timeline);
        Assert.Contains("- 2026-03-10 02:58 UTC Preliminary report on findings provided to Subscriber 1.", timeline);
        Assert.Contains("Escalation (deadline step", timeline);
        Assert.Single(timeline.Split('\n'), l => l.Contains("Incident opened automatically")); // not the delayed-revocation incident's
        // Receipt, acknowledgement, the miss and both preliminary reports appear in time order.
        var order = new[] { "Certificate Problem Report received", "Automatic acknowledgement", "Deadline missed: preliminary report to the reporter",
            "provided to the reporter", "provided to Subscriber 1" }.Select(s => timeline.IndexOf(s, StringComparison.Ordinal)).ToList();
        Assert.True(order.All(i => i >= 0) && order.SequenceEqual(order.Order()), string.Join(",", order));
        // The reporter is not named without consent; the summary fields the desk knows are filled, the rest is N/A.
        Assert.DoesNotContain("Jane Doe", draft);
        Assert.DoesNotContain("jane.doe@example.org", draft);
        Assert.Contains("- **Non-compliance start date:** 2026-03-08 20:48 UTC", draft);
        Assert.Contains("- **Non-compliance end date:** 2026-03-10 02:58 UTC", draft);
        Assert.Contains("- **Incident heuristic:** N/A", draft);
        Assert.Contains("| N/A | N/A | N/A |", draft);

        // The appendix: the exact IRG header, and the certificate the report named.
        var csv = IncidentAppendix.Csv(IncidentAppendix.Certificates(detail, _desk.Now)).Split("\r\n");
        Assert.Equal("Precertificate SHA-256 hash,Certificate SHA-256 hash,Subject,Issuer,Not before,Not after,Serial #,dNSNames,Is revoked?,Revocation date,Revocation reason", csv[0]);
        Assert.StartsWith($"N/A,{cert.Sha256},CN=shop.example.com,CN=shop.example.com,", csv[1]);
        Assert.Contains($",{cert.Serial},shop.example.com www.shop.example.com,Delayed,N/A,keyCompromise", csv[1]);

        // Validation: a "didn't go well" item without an action item stops the full report from being posted.
        var rootCause = await module.Desk.AddFindingAsync(cpr.Id, "user:carol", new NewFinding("root-cause", "Weekend CPRs paged nobody", null));
        await module.Desk.AddActionItemAsync(cpr.Id, "user:carol", new ActionItemChange("Weekend on-call rota", "Prevent", [rootCause], "Rota published", "carol", "2026-04-01", null));
        var didntGoWell = await module.Desk.AddFindingAsync(cpr.Id, "user:carol", new NewFinding("didnt-go-well", "The acknowledgement was taken for a reply", null));
        detail = (await module.Desk.GetAsync(cpr.Id))!;
        var problems = module.Drafts.Validate(detail, "full");
        var problem = Assert.Single(problems);
        Assert.Equal($"findings[{didntGoWell}]", problem.Field);
        Assert.Contains("What didn't go well # 1 'The acknowledgement was taken for a reply' has no corresponding action item", problem.Message);
        var refused = await Assert.ThrowsAsync<IncidentValidationException>(() =>
            module.Desk.RecordPostAsync(cpr.Id, "user:carol", "full", null, draft, problems));
        Assert.Contains("has no corresponding action item", refused.Message);

        await module.Desk.AddActionItemAsync(cpr.Id, "user:carol", new ActionItemChange("Preliminary report template separate from the acknowledgement", "Prevent",
            [didntGoWell], "Template in use", "carol", "2026-04-15", null));
        detail = (await module.Desk.GetAsync(cpr.Id))!;
        Assert.Empty(module.Drafts.Validate(detail, "full"));
        draft = await module.Drafts.RenderAsync(detail, "full");
        Assert.Contains("| Weekend on-call rota | Prevent | Root Cause # 1 | Rota published | 2026-04-01 | Ongoing |", draft);
        Assert.Contains("| Preliminary report template separate from the acknowledgement | Prevent | What didn't go well # 1 | Template in use | 2026-04-15 | Ongoing |", draft);

        // The incident's own 72-hour clock escalates and is declared missed at its due time (F16) if nothing is posted.
        await RunAtAsync(engine, Saturday.AddHours(24 + 72));
        await using (var db = _desk.Database.Open())
        {
            Assert.True(await db.AuditEvents.AnyAsync(e => e.Type == "incident.deadline-missed" && e.Detail.Contains("incident-initial-report") && e.Detail.Contains($"\"incident\":{cpr.Id},")));
            Assert.True(await db.AuditEvents.AnyAsync(e => e.Type == "incident.escalation-fired" && e.Detail.Contains("incident-initial-report")));
            Assert.True(await db.Outbox.AnyAsync(o => o.Kind == "notification" && o.Subject.Contains($"[Incident {cpr.Id}] incident-initial-report")));
        }

        // Posting the full report meets the initial and full clocks and starts the update clock; the chain still verifies.
        _desk.Time.SetUtcNow(Saturday.AddHours(24 + 80));
        await module.Desk.RecordPostAsync(cpr.Id, "user:carol", "full", null, draft, []);
        detail = (await module.Desk.GetAsync(cpr.Id))!;
        Assert.Equal(Saturday.AddHours(104).UtcDateTime, detail.Clocks.Single(c => c.Name == "incident-initial-report").MetAt);
        Assert.NotNull(detail.Clocks.Single(c => c.Name == "incident-full-report").MetAt);
        Assert.Equal(Saturday.AddHours(104).AddDays(7).UtcDateTime, detail.Clocks.Single(c => c.Name == "incident-update").DueAt);
        Assert.Equal("full-reported", detail.Incident.Status);
        await using var db2 = _desk.Database.Open();
        Assert.True((await AuditLog.VerifyAsync(db2)).Ok);
    }

    [Fact]
    public async Task Update_clock_follows_next_update_action_item_changes_and_revocation_delay()
    {
        var (module, _) = IncidentKit.Create(_desk);
        _desk.Time.SetUtcNow(Saturday);
        var id = await module.Desk.CreateAsync("user:carol", new NewIncident("other", "Late CRL publication", Saturday.UtcDateTime, "Self Reported", null));
        var finding = await module.Desk.AddFindingAsync(id, "user:carol", new NewFinding("root-cause", "CRL job failed silently", null));
        var item = await module.Desk.AddActionItemAsync(id, "user:carol", new ActionItemChange("Alarm on CRL age", "Detect", [finding], null, "carol", "2026-03-20", null));
        _desk.Time.SetUtcNow(Saturday.AddHours(10));
        await module.Desk.RecordPostAsync(id, "user:carol", "preliminary", null, null, []);
        IncidentClockRow Update(IncidentDetail d) => d.Clocks.Single(c => c.Name == "incident-update" && c.MetAt is null);

        var d = (await module.Desk.GetAsync(id))!;
        Assert.Equal(Saturday.AddHours(10).AddDays(7).UtcDateTime, Update(d).DueAt); // no Next update: 7 days

        await module.Desk.UpdateAsync(id, "user:carol", new IncidentPatch(Whiteboard: "[ca-compliance] [crl-failure] Next update 2026-Mar-12"));
        d = (await module.Desk.GetAsync(id))!;
        Assert.Equal(new DateTime(2026, 3, 13, 0, 0, 0, DateTimeKind.Utc), Update(d).DueAt); // by the end of the Next-update day

        _desk.Time.SetUtcNow(Saturday.AddDays(2));
        await module.Desk.UpdateActionItemAsync(id, item, "user:carol", new ActionItemChange(null, null, null, null, null, null, "Delayed"));
        d = (await module.Desk.GetAsync(id))!;
        Assert.Equal(Saturday.AddDays(5).UtcDateTime, Update(d).DueAt); // 3 days after the change, earlier than the Next update
        Assert.Equal(new DateTime(2026, 3, 21, 0, 0, 0, DateTimeKind.Utc), d.Clocks.Single(c => c.Name == "action-item-due").DueAt);

        await module.Desk.UpdateAsync(id, "user:carol", new IncidentPatch(Whiteboard: "[ca-compliance] [leaf-revocation-delay]", NextUpdate: ""));
        _desk.Time.SetUtcNow(Saturday.AddDays(3));
        await module.Desk.RecordPostAsync(id, "user:carol", "update", null, null, []);
        d = (await module.Desk.GetAsync(id))!;
        Assert.Equal(Saturday.AddDays(6).UtcDateTime, Update(d).DueAt); // revocation delay: every 3 days
        var updates = d.Clocks.Where(c => c.Name == "incident-update").OrderBy(c => c.Ref).ToList();
        Assert.Equal(2, updates.Count);
        Assert.Equal(Saturday.AddDays(3).UtcDateTime, updates[0].MetAt); // the update met the period before it
    }
}
