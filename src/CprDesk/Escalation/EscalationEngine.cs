// One escalation engine: plans steps as rows with due times (ownership from receipt, deadline steps against each
// open clock), then fires what is due. Taking a report stops ownership steps only; a clock's steps stop only when
// the action that meets it happens (or a person waives it). A step with nobody to notify falls through at once.
using CprDesk.Deadlines;
using CprDesk.Notifications;
using CprDesk.OnCall;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Escalation;

public sealed class EscalationEngine(Database database, TimeProvider time, EscalationPolicy policy, OnCallStore onCall, Outbox outbox,
    ILogger<EscalationEngine> log, Compliance.Incidents.IncidentEscalation? incidents = null) : BackgroundService
{
    public const string Ownership = "ownership";
    public const string Deadline = "deadline";
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <summary>A step settled later than this after its due time means the engine was down or behind.</summary>
    public static readonly TimeSpan OverdueAfter = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _running = new(1, 1);

    private readonly DateTime _createdAt = time.GetUtcNow().UtcDateTime;

    /// <summary>When the engine last completed a cycle (a heartbeat for health checks).</summary>
    public DateTime? LastCycleAt { get; private set; }

    /// <summary>The last cycle, or the engine's start while the first cycle is still running.</summary>
    public DateTime Heartbeat => LastCycleAt ?? _createdAt;

    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Asks for a cycle now (a report was just created): the first page goes out in milliseconds, not at the next tick.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var full = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await RunOnceAsync(stoppingToken, full); }
            catch (Exception ex) when (ex is not OperationCanceledException) { log.LogError(ex, "Escalation cycle failed; it runs again"); }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var woken = _wake.WaitAsync(cts.Token);
            var tick = Task.Delay(Interval, time, cts.Token);
            full = await Task.WhenAny(woken, tick) == tick;
            await cts.CancelAsync();
            try { await Task.WhenAll(woken, tick); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Plans new steps and fires every step due at the current time. Returns how many steps it settled.</summary>
    /// <param name="fullPlan">False plans only reports and clocks created since the last cycle (a wake-up after a new
    /// report); the timer's cycles re-check everything, which also catches due times changed by reclassification.</param>
    public async Task<int> RunOnceAsync(CancellationToken ct = default, bool fullPlan = true)
    {
        await _running.WaitAsync(ct);
        try
        {
            var now = time.GetUtcNow().UtcDateTime;
            await PlanAsync(fullPlan);
            var settled = 0;
            var late = new List<(long Id, TimeSpan By)>();
            OnCallState? state = null; // loaded once per cycle, not once per step
            // Earliest first, up to StepsPerTransaction steps in one transaction (a burst of new reports costs one commit per
            // batch, not one per step); a fall-through makes the next step due now, so loop until none is due.
            while (settled < 10_000)
            {
                bool any;
                await using (var db = database.Open())
                    any = await db.EscalationSteps.AnyAsync(x => x.Status == "pending" && x.DueAt <= now, ct);
                if (!any) break;
                state ??= await onCall.LoadAsync();
                var (count, overdue) = await SettleDueAsync(now, state, ct);
                if (count == 0) break;
                settled += count;
                late.AddRange(overdue);
            }
            if (late.Count > 0) await WarnOverdueAsync(late);
            if (incidents is not null) await incidents.RunOnceAsync(now, state ?? await onCall.LoadAsync());
            await GapWarnings.DailyAsync(database, time, onCall, outbox);
            LastCycleAt = now;
            return settled;
        }
        finally
        {
            _running.Release();
        }
    }

    private long _plannedReportsUpTo, _plannedDeadlinesUpTo;

    /// <summary>At most this many reports and this many clocks are planned in one write transaction. A burst of
    /// thousands of new reports once made one transaction of tens of thousands of step rows: tens of MiB of change
    /// tracking held at once (most of the 20,000-message benchmark's peak memory) and the writer held for seconds.
    /// At 256 a chunk still held the writer's turn for 100-200 ms, which an SMTP reply waiting on the next commit felt.</summary>
    public const int PlanChunk = 64;

    private async Task PlanAsync(bool full)
    {
        long maxReport, maxDeadline;
        await using (var db = database.Open())
        {
            maxReport = await db.Reports.MaxAsync(r => (long?)r.Id) ?? 0;
            maxDeadline = await db.Deadlines.MaxAsync(d => (long?)d.Id) ?? 0;
        }
        // Cursors by id: each chunk continues after the last row the previous one looked at, so the loop ends even
        // when a row gets no steps (an empty policy).
        var reportsAfter = full ? 0 : _plannedReportsUpTo;
        var deadlinesAfter = full ? 0 : _plannedDeadlinesUpTo;
        var reportsDone = policy.Ownership.Count == 0;
        var deadlinesDone = policy.Deadline.Count == 0;
        while (!reportsDone || !deadlinesDone)
        {
            (reportsAfter, reportsDone, deadlinesAfter, deadlinesDone) = await database.WriteAsync(time, async s =>
            {
                var (rAfter, rDone, dAfter, dDone) = (reportsAfter, reportsDone, deadlinesAfter, deadlinesDone);
                if (!rDone)
                {
                    // Ownership: reports nobody has taken yet.
                    var untaken = await s.Db.Reports.Where(r => r.Id > rAfter && r.AssigneeId == null && r.State != ReportState.Closed)
                        .Where(r => !s.Db.EscalationSteps.Any(x => x.ReportId == r.Id && x.Kind == Ownership))
                        .OrderBy(r => r.Id).Select(r => new { r.Id, r.ReceivedAt }).Take(PlanChunk).ToListAsync();
                    foreach (var r in untaken)
                        for (var i = 0; i < policy.Ownership.Count; i++)
                            s.Db.EscalationSteps.Add(new EscalationStepRow
                            {
                                ReportId = r.Id, Kind = Ownership, StepIndex = i, DueAt = r.ReceivedAt + policy.Ownership[i].After, Status = "pending", CreatedAt = s.Now,
                            });
                    rDone = untaken.Count < PlanChunk;
                    if (untaken.Count > 0) rAfter = untaken[^1].Id;
                }
                if (!dDone)
                {
                    // Deadline steps for every open clock, whatever the report's state (no state pauses a clock). Only
                    // clocks without a plan for their current due time are touched, so a cycle's cost does not grow with
                    // the backlog; a clock whose due time changed (reclassification) gets a new plan and the old plan's
                    // pending steps stop.
                    var unplanned = await s.Db.Deadlines.Where(d => d.Id > dAfter && d.MetAt == null && d.WaivedAt == null)
                        .Where(d => !s.Db.EscalationSteps.Any(x => x.DeadlineId == d.Id && x.PlanDueAt == d.DueAt))
                        .OrderBy(d => d.Id).Select(d => new { d.Id, d.ReportId, d.DueAt }).Take(PlanChunk).ToListAsync();
                    var ids = unplanned.Select(d => d.Id).ToList();
                    // By clock, then status in memory: a status filter in SQL makes SQLite walk every pending step (see SettleAsync).
                    var stale = (await s.Db.EscalationSteps.Where(x => x.DeadlineId != null && ids.Contains(x.DeadlineId.Value)).ToListAsync())
                        .Where(x => x.Status == "pending").ToList();
                    foreach (var x in stale) x.Status = "cancelled";
                    foreach (var d in unplanned)
                        for (var i = 0; i < policy.Deadline.Count; i++)
                        {
                            var step = policy.Deadline[i];
                            s.Db.EscalationSteps.Add(new EscalationStepRow
                            {
                                ReportId = d.ReportId, DeadlineId = d.Id, Kind = Deadline, StepIndex = i, DueAt = step.AtMiss ? d.DueAt : d.DueAt - step.Before,
                                Status = "pending", PlanDueAt = d.DueAt, CreatedAt = s.Now,
                            });
                        }
                    dDone = unplanned.Count < PlanChunk;
                    if (unplanned.Count > 0) dAfter = unplanned[^1].Id;
                }
                return (rAfter, rDone, dAfter, dDone);
            });
        }
        // Everything up to the maxima read before the first chunk is planned (later rows were too, or wait for the next plan).
        _plannedReportsUpTo = Math.Max(_plannedReportsUpTo, maxReport);
        _plannedDeadlinesUpTo = Math.Max(_plannedDeadlinesUpTo, maxDeadline);
    }

    /// <summary>At most this many steps are settled in one write transaction (bounds how long it holds the writer).</summary>
    public const int StepsPerTransaction = 16;

    private Task<(int Count, List<(long Id, TimeSpan By)> Late)> SettleDueAsync(DateTime now, OnCallState state, CancellationToken ct) =>
        database.WriteAsync(time, async s =>
        {
            var count = 0;
            var late = new List<(long Id, TimeSpan By)>();
            var routes = new Dictionary<string, Route>(StringComparer.Ordinal); // same transaction, same instant: same answer
            // The earliest due steps, settled in order and saved together. A step one of them makes due (a fall-through)
            // waits for the next transaction: RunOnceAsync loops until nothing is due.
            var due = await s.Db.EscalationSteps.Where(x => x.Status == "pending" && x.DueAt <= now).OrderBy(x => x.DueAt).ThenBy(x => x.Id)
                .Select(x => new ValueTuple<long, DateTime>(x.Id, x.DueAt)).Take(StepsPerTransaction).ToListAsync(ct);
            foreach (var (id, dueAt) in due)
            {
                if (now - dueAt > OverdueAfter) late.Add((id, now - dueAt));
                await SettleAsync(s, id, now, state, routes);
                count++;
            }
            await s.Db.SaveChangesAsync(ct);
            s.Db.ChangeTracker.Clear(); // what is saved need not be compared again at the commit
            return (count, late);
        }, ct);

    private async Task SettleAsync(WriteScope s, long stepId, DateTime now, OnCallState state, Dictionary<string, Route> routes)
    {
        var step = await s.Db.EscalationSteps.FirstAsync(x => x.Id == stepId);
        if (step.Status != "pending") return;
        var report = await s.Db.Reports.FirstAsync(r => r.Id == step.ReportId);
        DeadlineRow? clock = step.DeadlineId is { } did ? await s.Db.Deadlines.FirstOrDefaultAsync(d => d.Id == did) : null;
        var audience = step.Kind == Ownership ? policy.Ownership[step.StepIndex].Notify : policy.Deadline[step.StepIndex].Notify;
        var what = new
        {
            kind = step.Kind, step = step.StepIndex, audience, clock = clock?.Name, recipient = clock?.Recipient, dueAt = clock?.DueAt,
            stepDueAt = step.DueAt,
        };

        // Ownership steps end when someone takes the report; deadline steps only when their clock is met or waived.
        var stopped = step.Kind == Ownership
            ? report.AssigneeId is not null || report.State == ReportState.Closed ? "taken" : null
            : clock is null ? "clock-gone" : clock.MetAt is not null ? "met" : clock.WaivedAt is not null ? "waived" : step.PlanDueAt != clock.DueAt ? "replanned" : null;
        if (stopped is not null)
        {
            step.Status = "cancelled";
            await s.AuditAsync("system", "escalation.stopped", report.Ticket, new { what.kind, what.step, what.clock, what.recipient, reason = stopped });
            return;
        }

        var step0 = step.Kind == Deadline ? policy.Deadline[step.StepIndex] : null;
        if (step0 is { AtMiss: true } && now >= clock!.DueAt)
        {
            await s.AuditAsync("system", "deadline.missed", report.Ticket, new { clock = clock!.Name, clock.Recipient, clock.DueAt, clock.Section });
            if (incidents is not null) await incidents.OnDeadlineMissedAsync(s, report, clock);
            // Another step in this batch may miss a clock of the same report: it must find this incident, not open a second.
            await s.Db.SaveChangesAsync();
        }

        var key = string.Join(',', audience);
        if (!routes.TryGetValue(key, out var route)) routes[key] = route = await RouteAsync(s.Db, state, audience, now);
        var (reachable, unreachable) = (route.Reachable, route.Unreachable);
        if (reachable.Count == 0 && route.TeamHooks.Count == 0)
        {
            // Nobody to tell: do not wait out the next step's delay.
            step.Status = "fell-through";
            step.FiredAt = now;
            await s.AuditAsync("system", "escalation.no-one-on-call", report.Ticket, new { what.kind, what.step, what.audience, what.clock, what.recipient, unreachable });
            // Selected by the step's identity only (a handful of rows); status and time are checked here, because a filter
            // on them lets SQLite pick the (status, due_at) index and walk every pending future step of every report.
            var next = (await s.Db.EscalationSteps.Where(x => x.ReportId == step.ReportId && x.DeadlineId == step.DeadlineId && x.Kind == step.Kind
                    && x.StepIndex == step.StepIndex + 1).ToListAsync()).Where(x => x.Status == "pending" && x.DueAt > now).ToList();
            // The step at the miss keeps its time: a miss is declared when it happens, never early.
            var nextIsMiss = step.Kind == Deadline && step.StepIndex + 1 < policy.Deadline.Count && policy.Deadline[step.StepIndex + 1].AtMiss;
            if (!nextIsMiss) foreach (var n in next) n.DueAt = now;
            return;
        }

        var subject = clock is null
            ? $"[{report.Ticket}] New Certificate Problem Report: nobody has taken it yet"
            : $"[{report.Ticket}] {clock.Name}{(clock.Recipient is null ? "" : $" ({clock.Recipient})")} due {clock.DueAt:yyyy-MM-dd HH:mm} UTC";
        var body = $"""
            {subject}

            Report received {report.ReceivedAt:yyyy-MM-dd HH:mm} UTC, state {report.State}.
            {(clock is null
                ? "Nobody has taken this report yet. Take it on the dashboard."
                : clock.DueAt <= now
                    ? $"The clock {clock.Name} was due at {clock.DueAt:yyyy-MM-dd HH:mm} UTC and is MISSED. ({clock.Section})"
                    : $"The clock {clock.Name} is due at {clock.DueAt:yyyy-MM-dd HH:mm} UTC, in {Web.Countdown.Format(clock.DueAt, now)[3..]}. Only the action that meets it stops these messages. ({clock.Section})")}

            You receive this as {string.Join(", ", audience)} under the escalation policy.
            """;
        // One body serves Slack/Mattermost ("text") and generic receivers (the named fields); see docs/operators.md.
        var hook = new
        {
            text = subject, ticket = report.Ticket, clock = clock?.Name, recipient = clock?.Recipient, dueAt = clock?.DueAt,
            step = $"{step.Kind} step {step.StepIndex}", audience, state = report.State.ToString(),
        };
        await QueueAsync(s, route, report.Id, report.Ticket, step.Id, subject, body, hook);
        step.Status = "fired";
        step.FiredAt = now;
        await s.AuditAsync("system", "escalation.fired", report.Ticket, new
        {
            what.kind, what.step, what.audience, what.clock, what.recipient, what.dueAt, notified = reachable.Select(p => p.Username), teamChannels = route.TeamHooks.Count, unreachable,
        });

        // A repeating step comes back until the clock is met or due.
        if (step0?.RepeatEvery is { } every && clock is not null && now + every < clock.DueAt)
            s.Db.EscalationSteps.Add(new EscalationStepRow
            {
                ReportId = step.ReportId, DeadlineId = step.DeadlineId, Kind = step.Kind, StepIndex = step.StepIndex, DueAt = now + every,
                Status = "pending", PlanDueAt = step.PlanDueAt, CreatedAt = s.Now,
            });
    }

    /// <summary>An alarm about the system itself (a canary lost, a channel failing) routed as an escalation step is: to
    /// every contact method of each person in <paramref name="audience"/> (on-call primary/secondary from the schedules
    /// and absences now, admins, everyone) and, for "team", every team channel. Runs in the caller's transaction; returns
    /// who was notified. With nobody reachable it returns empty and the caller decides (nothing is dropped silently:
    /// the caller audits the outcome).</summary>
    public async Task<IReadOnlyList<string>> PageAsync(WriteScope s, IReadOnlyList<string> audience, string subject, string body)
    {
        var route = await RouteAsync(s.Db, await onCall.LoadAsync(), audience, s.Now);
        await QueueAsync(s, route, null, null, null, subject, body, new { text = subject, detail = body, audience });
        return route.Destinations.Select(d => d.User!).Distinct().ToList();
    }

    /// <summary>Who an audience reaches at an instant: the people, their contact methods, and the team channels (for
    /// "team"). Fixed within one write transaction, so a batch of steps resolves each audience once.</summary>
    internal sealed record Route(IReadOnlyList<StaffUser> People, IReadOnlyList<Destination> Destinations, IReadOnlyList<string> TeamHooks)
    {
        public List<StaffUser> Reachable { get; } = People.Where(p => Destinations.Any(d => d.User == p.Username)).ToList();
        public List<string> Unreachable => People.Except(Reachable).Select(p => p.Username).ToList();
    }

    private static async Task<Route> RouteAsync(CprDeskDb db, OnCallState state, IReadOnlyList<string> audience, DateTime now)
    {
        var people = await ResolveAsync(db, state, audience, now);
        var destinations = await ContactStore.DestinationsAsync(db, people);
        var teamHooks = audience.Contains("team") ? await ContactStore.TeamChannelsAsync(db) : [];
        return new Route(people, destinations, teamHooks);
    }

    /// <summary>One message per destination (email or webhook, by the contact method's kind) and one per team channel.</summary>
    private async Task QueueAsync(WriteScope s, Route route, long? reportId, string? ticket, long? stepId, string subject, string body, object hook)
    {
        foreach (var d in route.Destinations)
        {
            var userId = route.People.First(p => p.Username == d.User).Id;
            if (d.Kind == ContactMethodRow.Email)
                await outbox.QueueAsync(s, Outbox.Notification, reportId, ticket, d.Target, d.DisplayName, subject, body, null, [], autoSubmitted: true, "system", stepId, d.MethodId, userId);
            else
                await outbox.QueueWebhookAsync(s, reportId, ticket, d.Target, subject, hook, "system", stepId, d.MethodId, userId);
        }
        foreach (var url in route.TeamHooks)
            await outbox.QueueWebhookAsync(s, reportId, ticket, url, subject, hook, "system", stepId);
    }

    /// <summary>Tells the admins that steps fired late: paging that should have happened did not happen on time.</summary>
    private Task WarnOverdueAsync(List<(long Id, TimeSpan By)> late) => database.WriteAsync(time, async s =>
    {
        var worst = late.Max(l => l.By);
        var text = $"""
            The escalation engine settled {late.Count} step(s) more than {OverdueAfter.TotalMinutes:0} minute(s) late, the worst by
            {worst.TotalMinutes:0} minutes. CprDesk was down or behind; check /healthz and the server's log.
            """;
        var admins = await outbox.TellAdminsAsync(s, "Escalation steps fired late", text);
        await s.AuditAsync("system", "escalation.overdue", null, new { steps = late.Select(l => l.Id), worstMinutes = Math.Round(worst.TotalMinutes), told = admins.Select(a => a.Username) });
        return true;
    });

    internal static async Task<List<StaffUser>> ResolveAsync(CprDeskDb db, OnCallState state, IReadOnlyList<string> audience, DateTime now)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var answers = state.Schedules.Select(sc => OnCallCalculator.At(sc, state.Overrides, state.Absences, now)).ToList();
        if (audience.Contains("primary")) foreach (var a in answers) if (a.Primary is { } p) names.Add(p.User);
        if (audience.Contains("secondary")) foreach (var a in answers) if (a.Secondary is { } sec) names.Add(sec);
        var users = await db.Users.AsNoTracking().Where(u => !u.Disabled).ToListAsync();
        return users.Where(u => names.Contains(u.Username)
            || (audience.Contains("admins") && u.Role == StaffRole.Admin)
            || (audience.Contains("everyone") && u.Role != StaffRole.Auditor)).OrderBy(u => u.Username).ToList();
    }
}
