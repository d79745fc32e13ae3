// Stored on-call schedules, overrides and absences: validated writes (each one audited) and loading them as calculator values.
using System.Globalization;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.OnCall;

public sealed record StoredSchedule(string Name, IReadOnlyList<LayerSpec> Layers, string? TeamWebhook, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A coverage gap of a named schedule.</summary>
public sealed record ScheduleGap(string Schedule, DateTime From, DateTime To);

public sealed record StoredOverride(long Id, string Schedule, string User, DateTime From, DateTime To, string CreatedBy);

public sealed record StoredAbsence(long Id, string User, DateTime From, DateTime To, string Reason, string CreatedBy);

/// <summary>Everything the calculator needs, read at one moment.</summary>
public sealed record OnCallState(IReadOnlyList<Schedule> Schedules, IReadOnlyList<Override> Overrides, IReadOnlyList<Absence> Absences);

public sealed class OnCallStore(Database database, TimeProvider time, Notifications.Outbox? outbox = null)
{
    /// <summary>How far ahead an absence is checked for the gaps it would open.</summary>
    public static readonly TimeSpan AbsenceCheckWindow = OnCallCalculator.DefaultGapWindow;

    private const string GapsKey = "oncall.gaps";

    public async Task<StoredSchedule> PutScheduleAsync(string actor, string name, ScheduleBody? body)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) throw DeskException.Invalid("name", "A schedule name is 1 to 100 characters.");
        if (body is null) throw DeskException.Invalid("body", "The body must be a schedule: {layers:[...]}.");
        var webhook = string.IsNullOrWhiteSpace(body.TeamWebhook) ? null : body.TeamWebhook.Trim();
        if (webhook is not null && !(Uri.TryCreate(webhook, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)))
            throw DeskException.Invalid("teamWebhook", "teamWebhook must be an absolute http(s) URL.");
        var schedule = ScheduleDefinition.ToSchedule(name, body.Layers);
        ScheduleDefinition.Validate(schedule, time.GetUtcNow().UtcDateTime);
        var layers = body.Layers!;

        return await database.WriteAsync(time, async s =>
        {
            for (var i = 0; i < schedule.Layers.Count; i++)
            {
                var participants = schedule.Layers[i].Rotation.Participants;
                for (var p = 0; p < participants.Count; p++)
                    await RequireStaffAsync(s.Db, participants[p], $"layers[{i}].participants[{p}]");
            }
            var row = await s.Db.Schedules.SingleOrDefaultAsync(x => x.Name == name);
            var created = row is null;
            if (row is null)
            {
                row = new OnCallScheduleRow { Name = name, CreatedAt = s.Now };
                s.Db.Schedules.Add(row);
            }
            row.Definition = ScheduleDefinition.Serialize(layers);
            row.TeamWebhook = webhook;
            row.UpdatedAt = s.Now;
            await s.AuditAsync(actor, "oncall.schedule-saved", null, new { schedule = name, created, layers, teamWebhook = webhook });
            return new StoredSchedule(name, layers, webhook, row.CreatedAt, row.UpdatedAt);
        });
    }

    public async Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync()
    {
        await using var db = database.Open();
        var rows = await db.Schedules.AsNoTracking().OrderBy(x => x.Name).ToListAsync();
        return rows.Select(r => new StoredSchedule(r.Name, ScheduleDefinition.Deserialize(r.Definition), r.TeamWebhook, r.CreatedAt, r.UpdatedAt)).ToList();
    }

    public async Task<StoredOverride> AddOverrideAsync(string actor, string? schedule, string? user, DateTime? from, DateTime? to)
    {
        var (f, t) = RequireInterval(from, to);
        return await database.WriteAsync(time, async s =>
        {
            var row = await s.Db.Schedules.SingleOrDefaultAsync(x => x.Name == schedule)
                ?? throw DeskException.Invalid("schedule", $"There is no schedule '{schedule}'.");
            await RequireStaffAsync(s.Db, user, "user");
            var o = new OnCallOverrideRow { ScheduleId = row.Id, Username = user!, FromAt = f, ToAt = t, CreatedBy = actor, CreatedAt = s.Now };
            s.Db.OnCallOverrides.Add(o);
            await s.Db.SaveChangesAsync();
            await s.AuditAsync(actor, "oncall.override-added", null, new { id = o.Id, schedule = row.Name, user, from = f, to = t });
            return new StoredOverride(o.Id, row.Name, o.Username, f, t, actor);
        });
    }

    /// <summary>Records an absence. If it would open coverage time that is not already a gap, on any schedule within
    /// <see cref="AbsenceCheckWindow"/> from now, it is refused with a conflict listing those gaps unless
    /// <paramref name="confirm"/> is set; then it is saved and the audit event records the gaps it created.</summary>
    /// <param name="replaces">Edit: the absence this one replaces (checked as if that one did not exist).</param>
    /// <param name="mayEdit">For an edit: given the replaced absence's user, whether this caller may change it.</param>
    public async Task<(StoredAbsence Absence, IReadOnlyList<ScheduleGap> NewGaps)> AddAbsenceAsync(
        string actor, string? username, DateTime? from, DateTime? to, string? reason, bool confirm, long? replaces = null, Func<string, bool>? mayEdit = null)
    {
        var (f, t) = RequireInterval(from, to);
        var why = reason?.Trim() ?? "";
        if (why.Length > 500) throw DeskException.Invalid("reason", "reason is at most 500 characters.");
        // Checked inside the write so that two absences saved together cannot each pass the check alone.
        return await database.WriteAsync(time, async s =>
        {
            await RequireStaffAsync(s.Db, username, "user");
            var state = await LoadAsync(s.Db);
            AbsenceRow? replaced = null;
            if (replaces is { } rid)
            {
                replaced = await s.Db.Absences.SingleOrDefaultAsync(a => a.Id == rid) ?? throw DeskException.NotFound($"No absence {rid}.");
                if (mayEdit is not null && !mayEdit(replaced.Username)) throw new UnauthorizedAccessException("Only an admin may change another person's absence.");
                var old = state.Absences.First(a => a.User == replaced.Username && a.FromUtc == replaced.FromAt && a.ToUtc == replaced.ToAt && a.Reason == replaced.Reason);
                state = state with { Absences = state.Absences.Where(a => !ReferenceEquals(a, old)).ToList() };
            }
            var absence = new Absence(username!, f, t, why);
            var newGaps = NewGaps(state, absence, s.Now, s.Now + AbsenceCheckWindow);
            if (newGaps.Count > 0 && !confirm)
            {
                var list = string.Join("; ", newGaps.Select(g => $"{g.Schedule} {Iso(g.From)} to {Iso(g.To)}"));
                var ex = DeskException.Conflict(
                    $"This absence leaves nobody on call: {list}. Arrange cover (an override), or resend with confirm=true to save it anyway.");
                ex.Data[GapsKey] = newGaps;
                throw ex;
            }
            var row = replaced ?? new AbsenceRow { CreatedBy = actor, CreatedAt = s.Now };
            var before = replaced is null ? null : new { user = replaced.Username, from = replaced.FromAt, to = replaced.ToAt, reason = replaced.Reason };
            (row.Username, row.FromAt, row.ToAt, row.Reason) = (username!, f, t, why);
            if (replaced is null) s.Db.Absences.Add(row);
            await s.Db.SaveChangesAsync();
            await s.AuditAsync(actor, replaced is null ? "oncall.absence-added" : "oncall.absence-changed", null, new
            {
                id = row.Id, before, user = username, from = f, to = t, reason = why,
                gapsCreated = newGaps.Select(g => new { schedule = g.Schedule, from = g.From, to = g.To }),
            });
            // A confirmed absence that leaves nobody on call is the admins' business at once.
            if (outbox is not null) await GapWarnings.WarnAdminsAsync(s, outbox, newGaps, $"absence of {username} recorded by {actor}");
            return (new StoredAbsence(row.Id, row.Username, f, t, why, actor), newGaps);
        });
    }

    /// <summary>The gaps a refused absence would have created (see <see cref="AddAbsenceAsync"/>), or null.</summary>
    public static IReadOnlyList<ScheduleGap>? GapsOf(DeskException ex) => ex.Data[GapsKey] as IReadOnlyList<ScheduleGap>;

    /// <summary>Removes an absence. <paramref name="mayRemove"/> decides, given its user, whether this caller may.</summary>
    public async Task<StoredAbsence> RemoveAbsenceAsync(string actor, long id, Func<string, bool> mayRemove)
    {
        return await database.WriteAsync(time, async s =>
        {
            var row = await s.Db.Absences.SingleOrDefaultAsync(a => a.Id == id) ?? throw DeskException.NotFound($"No absence {id}.");
            if (!mayRemove(row.Username)) throw new UnauthorizedAccessException("Only an admin may remove another person's absence.");
            s.Db.Absences.Remove(row);
            await s.AuditAsync(actor, "oncall.absence-removed", null, new { id, user = row.Username, from = row.FromAt, to = row.ToAt, reason = row.Reason });
            return new StoredAbsence(row.Id, row.Username, row.FromAt, row.ToAt, row.Reason, row.CreatedBy);
        });
    }

    /// <summary>Deletes a schedule and its overrides.</summary>
    public Task<StoredSchedule> RemoveScheduleAsync(string actor, string name) => database.WriteAsync(time, async s =>
    {
        var row = await s.Db.Schedules.SingleOrDefaultAsync(x => x.Name == name) ?? throw DeskException.NotFound($"No schedule '{name}'.");
        var overrides = await s.Db.OnCallOverrides.Where(o => o.ScheduleId == row.Id).ToListAsync();
        s.Db.OnCallOverrides.RemoveRange(overrides);
        s.Db.Schedules.Remove(row);
        var layers = ScheduleDefinition.Deserialize(row.Definition);
        await s.AuditAsync(actor, "oncall.schedule-removed", null, new
        {
            schedule = name, layers, teamWebhook = row.TeamWebhook, overridesRemoved = overrides.Select(o => new { id = o.Id, user = o.Username, from = o.FromAt, to = o.ToAt }),
        });
        return new StoredSchedule(name, layers, row.TeamWebhook, row.CreatedAt, row.UpdatedAt);
    });

    public async Task<IReadOnlyList<StoredOverride>> ListOverridesAsync()
    {
        await using var db = database.Open();
        return await (from o in db.OnCallOverrides.AsNoTracking() join sc in db.Schedules on o.ScheduleId equals sc.Id
                      orderby o.FromAt, o.Id
                      select new StoredOverride(o.Id, sc.Name, o.Username, o.FromAt, o.ToAt, o.CreatedBy)).ToListAsync();
    }

    /// <summary>Changes an override's schedule, user or window.</summary>
    public async Task<StoredOverride> UpdateOverrideAsync(string actor, long id, string? schedule, string? user, DateTime? from, DateTime? to)
    {
        var (f, t) = RequireInterval(from, to);
        return await database.WriteAsync(time, async s =>
        {
            var o = await s.Db.OnCallOverrides.SingleOrDefaultAsync(x => x.Id == id) ?? throw DeskException.NotFound($"No override {id}.");
            var sc = await s.Db.Schedules.SingleOrDefaultAsync(x => x.Name == schedule) ?? throw DeskException.Invalid("schedule", $"There is no schedule '{schedule}'.");
            await RequireStaffAsync(s.Db, user, "user");
            var oldSchedule = await s.Db.Schedules.Where(x => x.Id == o.ScheduleId).Select(x => x.Name).FirstAsync();
            var before = new { schedule = oldSchedule, user = o.Username, from = o.FromAt, to = o.ToAt };
            (o.ScheduleId, o.Username, o.FromAt, o.ToAt) = (sc.Id, user!, f, t);
            await s.AuditAsync(actor, "oncall.override-changed", null, new { id, before, after = new { schedule = sc.Name, user, from = f, to = t } });
            return new StoredOverride(o.Id, sc.Name, o.Username, f, t, o.CreatedBy);
        });
    }

    public Task<StoredOverride> RemoveOverrideAsync(string actor, long id) => database.WriteAsync(time, async s =>
    {
        var o = await s.Db.OnCallOverrides.SingleOrDefaultAsync(x => x.Id == id) ?? throw DeskException.NotFound($"No override {id}.");
        var name = await s.Db.Schedules.Where(x => x.Id == o.ScheduleId).Select(x => x.Name).FirstAsync();
        s.Db.OnCallOverrides.Remove(o);
        await s.AuditAsync(actor, "oncall.override-removed", null, new { id, schedule = name, user = o.Username, from = o.FromAt, to = o.ToAt });
        return new StoredOverride(o.Id, name, o.Username, o.FromAt, o.ToAt, o.CreatedBy);
    });

    public async Task<IReadOnlyList<StoredAbsence>> ListAbsencesAsync()
    {
        await using var db = database.Open();
        return (await db.Absences.AsNoTracking().OrderBy(a => a.FromAt).ThenBy(a => a.Id).ToListAsync())
            .Select(a => new StoredAbsence(a.Id, a.Username, a.FromAt, a.ToAt, a.Reason, a.CreatedBy)).ToList();
    }

    public async Task<OnCallState> LoadAsync()
    {
        await using var db = database.Open();
        return await LoadAsync(db);
    }

    /// <summary>Coverage gaps of every schedule within [fromUtc, toUtc).</summary>
    public static IReadOnlyList<ScheduleGap> Gaps(OnCallState state, DateTime fromUtc, DateTime toUtc) =>
        state.Schedules.SelectMany(s => OnCallCalculator.CoverageGaps(s, state.Overrides, state.Absences, fromUtc, toUtc)
            .Select(g => new ScheduleGap(s.Name, g.FromUtc, g.ToUtc))).ToList();

    /// <summary>Gap time that exists with <paramref name="added"/> and not without it: each schedule's gaps with the
    /// absence, minus its gaps without.</summary>
    public static IReadOnlyList<ScheduleGap> NewGaps(OnCallState state, Absence added, DateTime fromUtc, DateTime toUtc)
    {
        var with = state.Absences.Append(added).ToList();
        var result = new List<ScheduleGap>();
        foreach (var schedule in state.Schedules)
        {
            var before = OnCallCalculator.CoverageGaps(schedule, state.Overrides, state.Absences, fromUtc, toUtc);
            foreach (var gap in OnCallCalculator.CoverageGaps(schedule, state.Overrides, with, fromUtc, toUtc))
            {
                // Both lists are sorted and disjoint, so subtracting is one pass over the earlier gaps.
                var start = gap.FromUtc;
                foreach (var old in before.Where(b => b.ToUtc > gap.FromUtc && b.FromUtc < gap.ToUtc))
                {
                    if (old.FromUtc > start) result.Add(new ScheduleGap(schedule.Name, start, old.FromUtc));
                    if (old.ToUtc > start) start = old.ToUtc;
                }
                if (start < gap.ToUtc) result.Add(new ScheduleGap(schedule.Name, start, gap.ToUtc));
            }
        }
        return result;
    }

    private static async Task<OnCallState> LoadAsync(CprDeskDb db)
    {
        var schedules = await db.Schedules.AsNoTracking().OrderBy(x => x.Name).ToListAsync();
        var names = schedules.ToDictionary(x => x.Id, x => x.Name);
        // Overrides in the order they were made: where they overlap, the later one wins.
        var overrides = await db.OnCallOverrides.AsNoTracking().OrderBy(o => o.Id).ToListAsync();
        var absences = await db.Absences.AsNoTracking().OrderBy(a => a.Id).ToListAsync();
        return new OnCallState(
            schedules.Select(x => ScheduleDefinition.ToSchedule(x.Name, ScheduleDefinition.Deserialize(x.Definition))).ToList(),
            overrides.Select(o => new Override(names[o.ScheduleId], o.Username, o.FromAt, o.ToAt)).ToList(),
            absences.Select(a => new Absence(a.Username, a.FromAt, a.ToAt, a.Reason)).ToList());
    }

    private static async Task RequireStaffAsync(CprDeskDb db, string? username, string field)
    {
        if (string.IsNullOrWhiteSpace(username) || !await db.Users.AnyAsync(u => u.Username == username && !u.Disabled))
            throw DeskException.Invalid(field, $"'{username}' is not an active staff account.");
    }

    private static (DateTime From, DateTime To) RequireInterval(DateTime? from, DateTime? to)
    {
        if (from is null) throw DeskException.Invalid("from", "from must be an ISO-8601 instant.");
        if (to is null) throw DeskException.Invalid("to", "to must be an ISO-8601 instant.");
        var (f, t) = (from.Value.ToUniversalTime(), to.Value.ToUniversalTime());
        if (f >= t) throw DeskException.Invalid("to", "to must be after from.");
        return (f, t);
    }

    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
