// Incident clocks escalate like report clocks: the engine's deadline steps (rules/escalation.json) are planned as
// rows against each open incident clock and fired by the escalation engine's cycle. A miss is itself an incident
// (DOMAIN F16), so it is recorded as incident.deadline-missed. Also raises the Bugzilla weekly-review alarm.
using CprDesk.Escalation;
using CprDesk.Notifications;
using CprDesk.OnCall;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Compliance.Incidents;

public sealed class IncidentEscalation(Database database, TimeProvider time, IncidentDesk desk, EscalationPolicy policy, Outbox outbox,
    Bugzilla.BugzillaWatch watch)
{
    /// <summary>Hook for the escalation engine, inside the transaction that records a report's deadline.missed.</summary>
    public Task OnDeadlineMissedAsync(WriteScope s, Report report, DeadlineRow clock) => desk.OpenForMissedClockAsync(s, report, clock);

    /// <summary>One cycle: plan, then fire every due step (earliest first), then the review alarm.</summary>
    public async Task<int> RunOnceAsync(DateTime now, OnCallState state)
    {
        await PlanAsync();
        var settled = 0;
        while (settled < 10_000)
        {
            long next;
            await using (var db = database.Open())
                next = await db.IncidentEscalationSteps.Where(x => x.Status == "pending" && x.DueAt <= now).OrderBy(x => x.DueAt).ThenBy(x => x.Id)
                    .Select(x => x.Id).FirstOrDefaultAsync();
            if (next == 0) break;
            await SettleAsync(next, now, state);
            settled++;
        }
        await watch.ReviewAlarmAsync();
        return settled;
    }

    private Task PlanAsync() => database.WriteAsync(time, async s =>
    {
        var unplanned = await s.Db.IncidentClocks.Where(c => c.MetAt == null && c.WaivedAt == null)
            .Where(c => !s.Db.IncidentEscalationSteps.Any(x => x.ClockId == c.Id && x.PlanDueAt == c.DueAt))
            .Select(c => new { c.Id, c.DueAt }).Take(5000).ToListAsync();
        var ids = unplanned.Select(c => c.Id).ToList();
        // By clock, then status in memory: a status filter in SQL lets SQLite walk every pending step instead.
        foreach (var stale in (await s.Db.IncidentEscalationSteps.Where(x => ids.Contains(x.ClockId)).ToListAsync()).Where(x => x.Status == "pending"))
            stale.Status = "cancelled";
        foreach (var c in unplanned)
        {
            var steps = policy.Deadline.Select((step, i) => (i, step, due: step.AtMiss ? c.DueAt : c.DueAt - step.Before)).ToList();
            // A clock planned late (an incident opened days after awareness) fires only the latest of its past steps.
            var latestPast = steps.Where(x => !x.step.AtMiss && x.due <= s.Now).Select(x => (int?)x.i).Max();
            foreach (var (i, step, due) in steps)
                if (step.AtMiss || due > s.Now || i == latestPast)
                    s.Db.IncidentEscalationSteps.Add(new IncidentEscalationStep { ClockId = c.Id, StepIndex = i, DueAt = due, Status = "pending", PlanDueAt = c.DueAt, CreatedAt = s.Now });
        }
        return true;
    });

    private Task SettleAsync(long stepId, DateTime now, OnCallState state) => database.WriteAsync(time, async s =>
    {
        var step = await s.Db.IncidentEscalationSteps.FirstAsync(x => x.Id == stepId);
        if (step.Status != "pending") return true;
        var clock = await s.Db.IncidentClocks.FirstOrDefaultAsync(c => c.Id == step.ClockId);
        var stopped = clock is null ? "clock-gone" : clock.MetAt is not null ? "met" : clock.WaivedAt is not null ? "waived" : step.PlanDueAt != clock.DueAt ? "replanned" : null;
        if (stopped is not null || clock is null)
        {
            step.Status = "cancelled";
            await s.AuditAsync("system", "incident.escalation-stopped", null, new { incident = clock?.IncidentId, clock = clock?.Name, step = step.StepIndex, reason = stopped });
            return true;
        }
        var incident = await s.Db.Incidents.FirstAsync(i => i.Id == clock.IncidentId);
        var rule = policy.Deadline[step.StepIndex];
        if (rule.AtMiss && now >= clock.DueAt)
            await s.AuditAsync("system", "incident.deadline-missed", null, new { incident = incident.Id, clock = clock.Name, clock.Ref, clock.DueAt, clock.Basis });

        var people = await EscalationEngine.ResolveAsync(s.Db, state, rule.Notify, now);
        var reachable = people.Where(p => !string.IsNullOrWhiteSpace(p.Email) || !string.IsNullOrWhiteSpace(p.WebhookUrl)).ToList();
        if (reachable.Count == 0)
        {
            step.Status = "fell-through";
            step.FiredAt = now;
            await s.AuditAsync("system", "incident.escalation-no-one-on-call", null, new { incident = incident.Id, clock = clock.Name, step = step.StepIndex, audience = rule.Notify });
            var nextIsMiss = step.StepIndex + 1 < policy.Deadline.Count && policy.Deadline[step.StepIndex + 1].AtMiss;
            if (!nextIsMiss)
                foreach (var n in (await s.Db.IncidentEscalationSteps.Where(x => x.ClockId == step.ClockId && x.StepIndex == step.StepIndex + 1).ToListAsync())
                    .Where(x => x.Status == "pending" && x.DueAt > now))
                    n.DueAt = now;
            return true;
        }
        var subject = $"[Incident {incident.Id}] {clock.Name} due {clock.DueAt:yyyy-MM-dd HH:mm} UTC{(clock.DueAt <= now ? " — MISSED" : "")}";
        var body = $"""
            {subject}

            Incident {incident.Id}: {incident.Title} ({incident.Kind}, {incident.Status}).
            {(clock.DueAt <= now ? "This incident deadline is MISSED; missing it is itself a public incident." : $"Due in {Web.Countdown.Format(clock.DueAt, now)[3..]}.")}
            Why it is due then: {clock.Basis}

            You receive this as {string.Join(", ", rule.Notify)} under the escalation policy.
            """;
        foreach (var p in reachable)
        {
            if (!string.IsNullOrWhiteSpace(p.Email))
                await outbox.QueueAsync(s, Outbox.Notification, null, null, p.Email, p.DisplayName, subject, body, null, [], autoSubmitted: true, "system");
            if (!string.IsNullOrWhiteSpace(p.WebhookUrl))
                await outbox.QueueWebhookAsync(s, null, null, p.WebhookUrl, subject, new { text = subject, incident = incident.Id, clock = clock.Name, dueAt = clock.DueAt, step = step.StepIndex }, "system", null);
        }
        step.Status = "fired";
        step.FiredAt = now;
        await s.AuditAsync("system", "incident.escalation-fired", null, new
        {
            incident = incident.Id, clock = clock.Name, clock.Ref, clock.DueAt, step = step.StepIndex, audience = rule.Notify, notified = reachable.Select(p => p.Username),
        });
        if (rule.RepeatEvery is { } every && now + every < clock.DueAt)
            s.Db.IncidentEscalationSteps.Add(new IncidentEscalationStep { ClockId = step.ClockId, StepIndex = step.StepIndex, DueAt = now + every, Status = "pending", PlanDueAt = step.PlanDueAt, CreatedAt = s.Now });
        return true;
    });
}
