using CprDesk.Deadlines;
using CprDesk.Reports;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Deadlines;

/// <summary>Clocks through the real desk and database: started at receipt, changed only by facts.</summary>
public sealed class ReportClockFlowTests(Desk desk) : IClassFixture<Desk>
{
    private const string Actor = "user:tester";

    [Fact]
    public async Task Reclassification_tightens_and_loosens_from_the_original_receipt()
    {
        var ticket = await desk.SubmitAsync();
        var received = (await desk.Queries.GetAsync(ticket))!.Report.ReceivedAt;
        Assert.Equal(received.AddHours(24), (await desk.ClockAsync(ticket, ClockNames.Revocation)).DueAt);

        desk.Time.Advance(TimeSpan.FromHours(3));
        await desk.Reports.ClassifyAsync(ticket, Actor, "12", "misissuance");
        Assert.Equal(received.AddDays(5), (await desk.ClockAsync(ticket, ClockNames.Revocation)).DueAt);

        desk.Time.Advance(TimeSpan.FromHours(30)); // now past the 24 h mark
        await desk.Reports.ClassifyAsync(ticket, Actor, "3", "the key was published after all");
        var tightened = await desk.ClockAsync(ticket, ClockNames.Revocation);
        Assert.Equal(received.AddHours(24), tightened.DueAt);
        Assert.Equal("missed", tightened.State); // tightening can reveal a miss; it never restarts the clock

        await desk.Reports.ClassifyAsync(ticket, Actor, "12", null);
        Assert.Equal(received.AddDays(5), (await desk.ClockAsync(ticket, ClockNames.Revocation)).DueAt);

        var events = (await desk.Queries.GetAsync(ticket))!.Events.Where(e => e.Type == "deadline.changed").ToList();
        Assert.Equal(3, events.Count);
    }

    [Fact]
    public async Task A_clock_is_met_only_by_its_own_action()
    {
        var ticket = await desk.SubmitAsync();
        await using (var db = desk.Database.Open())
        {
            if (!await db.Users.AnyAsync(u => u.Username == "tester"))
                db.Users.Add(new StaffUser { Username = "tester", Role = StaffRole.Staff, PasswordHash = "x", CreatedAt = desk.Now });
            await db.SaveChangesAsync();
        }
        desk.Time.Advance(TimeSpan.FromMinutes(10));
        await desk.Reports.AssignAsync(ticket, Actor, "tester");
        await desk.Reports.ClassifyAsync(ticket, Actor, "3", null);
        var d = (await desk.Queries.GetAsync(ticket))!;
        Assert.Equal("Investigating", d.Report.State.ToString());
        Assert.All(d.Summary.Deadlines, c => Assert.Null(c.MetAt)); // acknowledgement, assignment, classification meet nothing

        desk.Time.Advance(TimeSpan.FromHours(2));
        await desk.Reports.RecordPreliminaryReportAsync(ticket, Actor, "reporter", null, null, "We confirmed the key is compromised.", null, send: false);
        Assert.Equal("met", (await desk.ClockAsync(ticket, ClockNames.PreliminaryReportToReporter)).State);
        var placeholder = await desk.ClockAsync(ticket, ClockNames.PreliminaryReportToSubscriber);
        Assert.Null(placeholder.Recipient);
        Assert.Equal("open", placeholder.State);
        Assert.Null((await desk.ClockAsync(ticket, ClockNames.Revocation)).MetAt);

        await desk.Reports.AddSubscriberAsync(ticket, Actor, "owner@example.net", "Owner");
        var sub = await desk.ClockAsync(ticket, ClockNames.PreliminaryReportToSubscriber);
        Assert.Equal("owner@example.net", sub.Recipient);
        Assert.Equal((await desk.Queries.GetAsync(ticket))!.Report.ReceivedAt.AddHours(24), sub.DueAt);
        Assert.Equal("open", sub.State);

        await desk.Reports.RecordPreliminaryReportAsync(ticket, Actor, "subscriber", "owner@example.net", null, "Your key is compromised; we revoke within 24 h.", null, send: false);
        Assert.Equal("met", (await desk.ClockAsync(ticket, ClockNames.PreliminaryReportToSubscriber, "owner@example.net")).State);
        Assert.Equal("PreliminaryReported", (await desk.Queries.GetAsync(ticket))!.Report.State.ToString());
        Assert.Null((await desk.ClockAsync(ticket, ClockNames.Revocation)).MetAt);

        await desk.Reports.RecordRevocationAsync(ticket, Actor, null, "CRL 1234 published");
        var revocation = await desk.ClockAsync(ticket, ClockNames.Revocation);
        Assert.Equal("met", revocation.State);
        Assert.Equal(desk.Now, revocation.MetAt);
    }

    [Fact]
    public async Task No_state_pauses_a_clock()
    {
        var ticket = await desk.SubmitAsync();
        var received = (await desk.Queries.GetAsync(ticket))!.Report.ReceivedAt;
        await desk.Reports.ClassifyAsync(ticket, Actor, "12", null);
        desk.Time.Advance(TimeSpan.FromHours(2));
        await desk.Reports.CloseAsync(ticket, Actor, "NotRevoked", "certificate is compliant");
        Assert.Equal("Closed", (await desk.Queries.GetAsync(ticket))!.Report.State.ToString());
        Assert.Equal("not-required", (await desk.ClockAsync(ticket, ClockNames.Revocation)).State);

        desk.Time.Advance(TimeSpan.FromHours(19)); // 21 h after receipt
        Assert.Equal("at-risk", (await desk.ClockAsync(ticket, ClockNames.PreliminaryReportToReporter)).State);
        desk.Time.Advance(TimeSpan.FromHours(4)); // 25 h after receipt, still closed
        var toReporter = await desk.ClockAsync(ticket, ClockNames.PreliminaryReportToReporter);
        Assert.Equal("missed", toReporter.State);
        Assert.Equal(received.AddHours(24), toReporter.DueAt);

        await desk.Reports.ReopenAsync(ticket, Actor, "reporter sent more evidence");
        var reopened = await desk.Queries.GetAsync(ticket);
        Assert.Equal("Investigating", reopened!.Report.State.ToString());
        Assert.Equal("open", reopened.Summary.Deadlines.Single(c => c.Name == ClockNames.Revocation).State); // the waiver is undone
        Assert.Equal("missed", reopened.Summary.Deadlines.Single(c => c.Name == ClockNames.PreliminaryReportToReporter).State);
    }

    [Fact]
    public async Task Closing_as_not_a_CPR_in_time_waives_every_clock_and_the_decision_is_recorded()
    {
        var ticket = await desk.SubmitAsync("Buy cheap watches");
        desk.Time.Advance(TimeSpan.FromHours(1));
        await desk.Reports.CloseAsync(ticket, Actor, "NotACpr", "spam");
        var d = (await desk.Queries.GetAsync(ticket))!;
        Assert.All(d.Summary.Deadlines, c => Assert.Equal("not-required", c.State));
        Assert.Contains(d.Events, e => e.Type == "report.closed" && e.Actor == Actor && e.Detail.Contains("spam"));
        Assert.Equal(3, d.Events.Count(e => e.Type == "deadline.waived"));
    }

    [Fact]
    public async Task Actions_are_validated()
    {
        var ticket = await desk.SubmitAsync();
        var ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.ClassifyAsync(ticket, Actor, "99", null));
        Assert.Equal("reason", ex.Field);
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.RecordPreliminaryReportAsync(ticket, Actor, "reporter", null, null, "  ", null));
        Assert.Equal("text", ex.Field);
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.RecordPreliminaryReportAsync(ticket, Actor, "subscriber", "not-an-email", null, "findings", null));
        Assert.Equal("to", ex.Field);
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.RecordPreliminaryReportAsync(ticket, Actor, "reporter", null, null, "findings", desk.Now.AddHours(2), send: false));
        Assert.Equal("sentAt", ex.Field);
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.RecordRevocationAsync(ticket, Actor, null, null));
        Assert.Equal(DeskErrorKind.Conflict, ex.Kind); // classify first
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.CloseAsync(ticket, Actor, "NotRevoked", null));
        Assert.Equal("note", ex.Field);
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.ReopenAsync(ticket, Actor, null));
        Assert.Equal(DeskErrorKind.Conflict, ex.Kind);
        ex = await Assert.ThrowsAsync<DeskException>(() => desk.Reports.AssignAsync("CPR-2026-999999", Actor, null));
        Assert.Equal(DeskErrorKind.NotFound, ex.Kind);
    }

    [Fact]
    public async Task Ticket_numbers_are_sequential_per_year()
    {
        using var fresh = new Desk();
        await fresh.InitializeAsync();
        var a = await fresh.SubmitAsync();
        var b = await fresh.SubmitAsync();
        Assert.Equal("CPR-2026-000001", a);
        Assert.Equal("CPR-2026-000002", b);
        fresh.Time.SetUtcNow(new DateTimeOffset(2027, 1, 1, 0, 0, 1, TimeSpan.Zero));
        Assert.Equal("CPR-2027-000001", await fresh.SubmitAsync());
        fresh.Time.SetUtcNow(new DateTimeOffset(2027, 1, 2, 0, 0, 1, TimeSpan.Zero));
        Assert.Equal("CPR-2027-000002", await fresh.SubmitAsync());
    }
}
