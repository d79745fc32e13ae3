// The seed scenario end to end with a fake clock: a CPR on a Saturday evening, the primary on holiday, nobody
// taking it, then someone taking it but the clocks still escalating until their own actions happen.
using CprDesk.Deadlines;
using CprDesk.Escalation;
using CprDesk.OnCall;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Escalation;

public sealed class EscalationScenarioTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset Saturday = new(2026, 3, 7, 20, 48, 0, TimeSpan.Zero);
    private readonly Desk _desk = new();
    private OnCallStore _onCall = null!;

    public async Task InitializeAsync()
    {
        await _desk.InitializeAsync();
        _desk.Time.SetUtcNow(Saturday.AddDays(-1));
        _onCall = new OnCallStore(_desk.Database, _desk.Time, _desk.Outbox);
        await using (var db = _desk.Database.Open())
        {
            foreach (var (name, role) in new[] { ("alice", StaffRole.Staff), ("bob", StaffRole.Staff), ("dave", StaffRole.Staff), ("carol", StaffRole.Admin), ("audrey", StaffRole.Auditor) })
                db.Users.Add(new StaffUser { Username = name, Role = role, Email = $"{name}@ca.example", PasswordHash = "x", CreatedAt = _desk.Now });
            await db.SaveChangesAsync();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _desk.Dispose();

    private EscalationEngine NewEngine() => new(_desk.Database, _desk.Time, EscalationPolicy.Load(Path.Combine(AppContext.BaseDirectory, "rules", "escalation.json")),
        _onCall, _desk.Outbox, NullLogger<EscalationEngine>.Instance);

    private async Task WeeklyScheduleAsync() =>
        // alice, bob, dave take weeks from Monday 2 March 09:00 Warsaw time: alice has the week of the seed CPR.
        await _onCall.PutScheduleAsync("user:carol", "cpr", new ScheduleBody(
            [new LayerSpec("all", 0, ["alice", "bob", "dave"], new ShiftSpec(7, null), "09:00", "Europe/Warsaw", "2026-03-02", null)], null));

    private async Task<List<string>> NotifiedAsync(string ticket, DateTime? at = null)
    {
        await using var db = _desk.Database.Open();
        var report = await db.Reports.SingleAsync(r => r.Ticket == ticket);
        var q = db.Outbox.Where(o => o.ReportId == report.Id && o.Kind == "notification");
        if (at is { } t) q = q.Where(o => o.CreatedAt == t);
        return await q.OrderBy(o => o.Id).Select(o => o.Recipient).ToListAsync();
    }

    private async Task<List<AuditEvent>> EventsAsync(string ticket, string type)
    {
        await using var db = _desk.Database.Open();
        return await db.AuditEvents.Where(e => e.Ticket == ticket && e.Type == type).OrderBy(e => e.Seq).ToListAsync();
    }

    private async Task AdvanceToAsync(EscalationEngine engine, DateTimeOffset to)
    {
        _desk.Time.SetUtcNow(to);
        await engine.RunOnceAsync();
    }

    [Fact]
    public async Task The_seed_scenario_escalates_by_deadline_until_each_clock_is_met()
    {
        await WeeklyScheduleAsync();
        await _onCall.AddAbsenceAsync("user:carol", "alice", new DateTime(2026, 3, 6, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 3, 10, 0, 0, 0, DateTimeKind.Utc), "holiday", confirm: true);
        var engine = NewEngine();
        _desk.Time.SetUtcNow(Saturday);
        var ticket = await _desk.SubmitAsync();
        var t0 = Saturday.UtcDateTime;

        // At receipt: the primary is on holiday, so the next in rotation (bob) is paged.
        await engine.RunOnceAsync();
        Assert.Equal(["bob@ca.example"], await NotifiedAsync(ticket, t0));

        // Nobody takes it: 30 minutes later the secondary (dave), after an hour the admins (carol).
        await AdvanceToAsync(engine, Saturday.AddMinutes(30));
        Assert.Equal(["dave@ca.example"], await NotifiedAsync(ticket, t0.AddMinutes(30)));
        await AdvanceToAsync(engine, Saturday.AddHours(1));
        Assert.Equal(["carol@ca.example"], await NotifiedAsync(ticket, t0.AddHours(1)));

        // Bob takes it, but sends no preliminary report: ownership steps are over, deadline steps are not.
        _desk.Time.SetUtcNow(Saturday.AddHours(1.5));
        await _desk.Reports.AssignAsync(ticket, "user:bob", "bob");
        await AdvanceToAsync(engine, Saturday.AddHours(12));
        var atT12 = await NotifiedAsync(ticket, t0.AddHours(12));
        Assert.Equal(3 * 2, atT12.Count); // three open clocks × (primary bob, secondary dave)
        Assert.Equal(["bob@ca.example", "dave@ca.example"], atT12.Distinct().Order());

        // The report goes to the reporter, not the Subscriber.
        _desk.Time.SetUtcNow(Saturday.AddHours(13));
        await _desk.Reports.RecordPreliminaryReportAsync(ticket, "user:bob", "reporter", null, null, "We are revoking the certificate.", null, send: false);

        await AdvanceToAsync(engine, Saturday.AddHours(20)); // T−4 h: admins, for the two clocks still open
        var fired = await EventsAsync(ticket, "escalation.fired");
        var atT4 = fired.Where(e => e.At == t0.AddHours(20)).ToList();
        Assert.Equal(2, atT4.Count);
        Assert.DoesNotContain(atT4, e => e.Detail.Contains(ClockNames.PreliminaryReportToReporter));
        Assert.Contains(atT4, e => e.Detail.Contains(ClockNames.PreliminaryReportToSubscriber));
        Assert.Contains(await EventsAsync(ticket, "escalation.stopped"), e => e.Detail.Contains(ClockNames.PreliminaryReportToReporter) && e.Detail.Contains("\"met\""));

        // T−1 h: everyone (not the auditor), repeating every 15 minutes until the clocks are due.
        await AdvanceToAsync(engine, Saturday.AddHours(23));
        Assert.Equal(["alice@ca.example", "bob@ca.example", "carol@ca.example", "dave@ca.example"],
            (await NotifiedAsync(ticket, t0.AddHours(23))).Distinct().Order());
        await AdvanceToAsync(engine, Saturday.AddHours(23.25));
        Assert.Equal(2 * 4, (await NotifiedAsync(ticket, t0.AddHours(23.25))).Count);

        // At the due time the Subscriber and revocation clocks are missed; the reporter's is not.
        await AdvanceToAsync(engine, Saturday.AddHours(24));
        var missed = await EventsAsync(ticket, "deadline.missed");
        Assert.Equal(2, missed.Count);
        Assert.DoesNotContain(missed, e => e.Detail.Contains(ClockNames.PreliminaryReportToReporter));

        // Every notification is in the audit log.
        await using var db = _desk.Database.Open();
        var notifications = await db.Outbox.CountAsync(o => o.Kind == "notification");
        var queued = await db.AuditEvents.CountAsync(e => e.Type == "mail.queued" && e.Detail.Contains("\"kind\":\"notification\""));
        Assert.True(notifications > 20);
        Assert.Equal(notifications, queued);
        await using var db2 = _desk.Database.Open();
        Assert.True((await CprDesk.Compliance.AuditLog.VerifyAsync(db2)).Ok);
    }

    [Fact]
    public async Task A_burst_larger_than_one_planning_chunk_is_planned_in_full_and_only_once()
    {
        var policy = EscalationPolicy.Load(Path.Combine(AppContext.BaseDirectory, "rules", "escalation.json"));
        var engine = NewEngine();
        _desk.Time.SetUtcNow(Saturday);
        var count = 2 * EscalationEngine.PlanChunk + 3;
        for (var i = 0; i < count; i++) await _desk.SubmitAsync($"Report {i} of a burst.");

        await engine.RunOnceAsync(default, fullPlan: false); // the wake-up path: new rows only, in chunks
        await engine.RunOnceAsync(); // the timer's full re-check finds nothing left to plan

        await using var db = _desk.Database.Open();
        var ownership = await db.EscalationSteps.Where(x => x.Kind == EscalationEngine.Ownership)
            .GroupBy(x => x.ReportId).Select(g => g.Count()).ToListAsync();
        Assert.Equal(count, ownership.Count);
        Assert.All(ownership, n => Assert.Equal(policy.Ownership.Count, n));
        var openClocks = await db.Deadlines.CountAsync(d => d.MetAt == null && d.WaivedAt == null);
        Assert.True(openClocks >= count);
        var planned = await db.EscalationSteps.Where(x => x.Kind == EscalationEngine.Deadline)
            .GroupBy(x => x.DeadlineId).Select(g => g.Count()).ToListAsync();
        Assert.Equal(openClocks, planned.Count);
        Assert.All(planned, n => Assert.Equal(policy.Deadline.Count, n));
    }

    [Fact]
    public async Task A_step_with_nobody_on_call_falls_through_at_once()
    {
        // No schedule at all: primary and secondary resolve to nobody, so the admins are told at receipt, not after an hour.
        var engine = NewEngine();
        _desk.Time.SetUtcNow(Saturday);
        var ticket = await _desk.SubmitAsync();
        await engine.RunOnceAsync();
        Assert.Equal(["carol@ca.example"], await NotifiedAsync(ticket, Saturday.UtcDateTime));
        var fallThrough = await EventsAsync(ticket, "escalation.no-one-on-call");
        Assert.Equal(2, fallThrough.Count(e => e.Detail.Contains("\"ownership\"")));

        // At T−12 h the deadline steps find nobody either and fall through to the admins at once (not at T−4 h),
        // but nothing is declared missed before the due time.
        _desk.Time.SetUtcNow(Saturday.AddHours(12));
        await engine.RunOnceAsync();
        Assert.Equal(3, (await NotifiedAsync(ticket, Saturday.UtcDateTime.AddHours(12))).Count(r => r == "carol@ca.example"));
        Assert.Empty(await EventsAsync(ticket, "deadline.missed"));
        _desk.Time.SetUtcNow(Saturday.AddHours(24));
        await engine.RunOnceAsync();
        Assert.Equal(3, (await EventsAsync(ticket, "deadline.missed")).Count);
    }

    [Fact]
    public async Task A_restart_mid_scenario_loses_no_step_and_sends_none_twice()
    {
        await WeeklyScheduleAsync();
        var first = NewEngine();
        _desk.Time.SetUtcNow(Saturday);
        var ticket = await _desk.SubmitAsync();
        await first.RunOnceAsync();
        await AdvanceToAsync(first, Saturday.AddMinutes(30));

        // "Restart": a new engine over the same database, run at the same instant and then onwards.
        var second = NewEngine();
        Assert.Equal(0, await second.RunOnceAsync());
        await AdvanceToAsync(second, Saturday.AddHours(12));

        var fired = await EventsAsync(ticket, "escalation.fired");
        var keys = fired.Select(e => (e.At, e.Detail)).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        // The admins were told that steps fired late.
        await using (var db = _desk.Database.Open())
        {
            Assert.Single(await db.AuditEvents.Where(e => e.Type == "escalation.overdue").ToListAsync());
            Assert.Contains("carol@ca.example", await db.Outbox.Where(o => o.Subject == "Escalation steps fired late").Select(o => o.Recipient).ToListAsync());
        }
        // The admins' ownership step fell due while the engine was "down"; it fires late rather than never.
        Assert.Single(fired, e => e.Detail.Contains("\"kind\":\"ownership\",\"step\":2"));
        Assert.Equal(3, fired.Count(e => e.At == Saturday.UtcDateTime.AddHours(12) && e.Detail.Contains("\"kind\":\"deadline\"")));
    }

    [Fact]
    public async Task Admins_hear_of_a_gap_when_an_absence_creates_one_and_daily_while_it_is_within_a_week()
    {
        await _onCall.PutScheduleAsync("user:carol", "solo", new ScheduleBody(
            [new LayerSpec("all", 0, ["bob"], new ShiftSpec(1, null), "09:00", "Europe/Warsaw", "2026-03-01", null)], null));
        var from = _desk.Now.AddDays(2);
        await _onCall.AddAbsenceAsync("user:carol", "bob", from, from.AddDays(1), "leave", confirm: true);
        await using (var db = _desk.Database.Open())
        {
            var mail = await db.Outbox.Where(o => o.Subject == "On-call coverage gap").Select(o => o.Recipient).ToListAsync();
            Assert.Equal(["carol@ca.example"], mail);
        }

        var engine = NewEngine();
        await engine.RunOnceAsync();
        await engine.RunOnceAsync(); // same day: no second reminder
        _desk.Time.Advance(TimeSpan.FromDays(1));
        await engine.RunOnceAsync();
        await using var db2 = _desk.Database.Open();
        var warnings = await db2.AuditEvents.Where(e => e.Type == GapWarnings.EventType).OrderBy(e => e.Seq).ToListAsync();
        Assert.Equal(3, warnings.Count); // the absence, then one daily reminder on each of two days
        Assert.Equal(2, warnings.Count(w => w.Detail.Contains("\"why\":\"daily\"")));
        Assert.Equal(3, await db2.Outbox.CountAsync(o => o.Subject == "On-call coverage gap"));
    }

    [Fact]
    public async Task When_a_Subscriber_becomes_known_the_placeholder_clocks_steps_stop_and_the_Subscribers_clock_gets_its_own()
    {
        var engine = NewEngine();
        _desk.Time.SetUtcNow(Saturday);
        var ticket = await _desk.SubmitAsync();
        await engine.RunOnceAsync(); // plans steps for the "no Subscriber known yet" clock
        _desk.Time.Advance(TimeSpan.FromHours(1));
        await _desk.Reports.AddSubscriberAsync(ticket, "user:bob", "owner@example.net", null); // deletes that clock row
        await engine.RunOnceAsync();
        _desk.Time.SetUtcNow(Saturday.AddHours(12));
        await engine.RunOnceAsync();
        var fired = await EventsAsync(ticket, "escalation.fired");
        Assert.Contains(fired, e => e.Detail.Contains("\"recipient\":\"owner@example.net\""));
        Assert.Contains(await EventsAsync(ticket, "escalation.stopped"), e => e.Detail.Contains("clock-gone"));
    }
}
