// A validated schedule with its overrides and absences indexed: who is on call at an instant, and when that can change.
namespace CprDesk.OnCall;

/// <summary>Who is on call, without when. Equality of this is what "the answer changed" means.</summary>
internal sealed record Duty(string User, string Layer, bool ViaOverride, string? CoveringFor, bool UserAbsent);

internal readonly record struct Snapshot(Duty? Primary, string? Secondary);

/// <summary>
/// The evaluation core. Its contract, which everything else relies on: <see cref="At"/> is constant on
/// [t, <see cref="NextChange"/>(t)) for every t. <see cref="NextChange"/> returns the earliest input edge after t
/// (a hand-off or window edge of any layer, an override or absence edge); the answer may or may not differ there.
/// </summary>
internal sealed class CompiledSchedule
{
    private readonly CompiledLayer[] layers;               // highest priority first
    private readonly Override[] overrides;                 // this schedule's only, in caller order: later wins
    private readonly Dictionary<string, Absence[]> absences; // by user, ordinal
    private readonly DateTime[] edges;                     // sorted, distinct edges of the overrides and relevant absences

    private CompiledSchedule(CompiledLayer[] layers, Override[] overrides, Dictionary<string, Absence[]> absences, DateTime[] edges) =>
        (this.layers, this.overrides, this.absences, this.edges) = (layers, overrides, absences, edges);

    public static CompiledSchedule Compile(Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(overrides);
        ArgumentNullException.ThrowIfNull(absences);
        if (string.IsNullOrWhiteSpace(schedule.Name))
            throw new ArgumentException("Schedule.Name must not be empty.", "schedule.Name");
        if (schedule.Layers is null || schedule.Layers.Count == 0)
            throw new ArgumentException($"Schedule '{schedule.Name}': Layers must not be empty.", "schedule.Layers");

        var compiled = new List<CompiledLayer>();
        for (var i = 0; i < schedule.Layers.Count; i++)
            compiled.Add(CompiledLayer.Compile(schedule.Layers[i], $"schedule.Layers[{i}]"));
        foreach (var group in compiled.GroupBy(l => l.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw new ArgumentException($"Schedule '{schedule.Name}': layer name '{group.Key}' is used twice.", "schedule.Layers.Name");
        foreach (var group in compiled.GroupBy(l => l.Priority).Where(g => g.Count() > 1))
            throw new ArgumentException(
                $"Schedule '{schedule.Name}': layers {string.Join(", ", group.Select(l => $"'{l.Name}'"))} share priority {group.Key}; " +
                "which one wins would be arbitrary.", "schedule.Layers.Priority");

        for (var i = 0; i < overrides.Count; i++)
        {
            var o = overrides[i] ?? throw new ArgumentException("Override must not be null.", $"overrides[{i}]");
            RequireName(o.Schedule, $"overrides[{i}].Schedule");
            RequireName(o.User, $"overrides[{i}].User");
            RequireInterval(o.FromUtc, o.ToUtc, $"overrides[{i}]");
        }
        for (var i = 0; i < absences.Count; i++)
        {
            var a = absences[i] ?? throw new ArgumentException("Absence must not be null.", $"absences[{i}]");
            RequireName(a.User, $"absences[{i}].User");
            RequireInterval(a.FromUtc, a.ToUtc, $"absences[{i}]");
        }

        var mine = overrides.Where(o => string.Equals(o.Schedule, schedule.Name, StringComparison.Ordinal)).ToArray();
        // Absences of people who can never be on call here cannot change any answer; leaving their edges out keeps walks short.
        var relevant = compiled.SelectMany(l => l.Participants).Concat(mine.Select(o => o.User)).ToHashSet(StringComparer.Ordinal);
        var byUser = absences.Where(a => relevant.Contains(a.User))
            .GroupBy(a => a.User, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        var edges = mine.SelectMany(o => new[] { o.FromUtc, o.ToUtc })
            .Concat(byUser.Values.SelectMany(list => list).SelectMany(a => new[] { a.FromUtc, a.ToUtc }))
            .Distinct().Order().ToArray();

        return new CompiledSchedule(compiled.OrderByDescending(l => l.Priority).ToArray(), mine, byUser, edges);
    }

    public Snapshot At(DateTime t)
    {
        var (top, shift, offset) = TopLayer(t);
        var overriding = OverrideAt(t);
        Duty? primary = null;
        if (overriding is not null)
            primary = new Duty(overriding.User, OnCallCalculator.OverrideLayer, ViaOverride: true, CoveringFor: null, IsAbsent(overriding.User, t));
        else if (top is not null)
            primary = new Duty(top.Participant(shift + offset), top.Name, ViaOverride: false,
                CoveringFor: offset == 0 ? null : top.Participant(shift), UserAbsent: false);

        string? secondary = null;
        if (top is not null && primary is not null)
            for (var j = 0; j < top.Participants.Length && secondary is null; j++)
            {
                var candidate = top.Participant(shift + j);
                if (candidate != primary.User && !IsAbsent(candidate, t)) secondary = candidate;
            }
        return new Snapshot(primary, secondary);
    }

    public DateTime NextChange(DateTime t)
    {
        var next = OnCallCalculator.EndOfTime;
        foreach (var layer in layers)
        {
            var candidate = layer.NextChange(t);
            if (candidate < next) next = candidate;
        }
        var i = Array.BinarySearch(edges, t);
        i = i >= 0 ? i + 1 : ~i; // first edge strictly after t
        if (i < edges.Length && edges[i] < next) next = edges[i];
        return next;
    }

    /// <summary>The highest-priority layer with someone available at <paramref name="t"/>: its current shift index, and how
    /// far past the scheduled person (skipping absent ones) the rotation had to go.</summary>
    private (CompiledLayer? Layer, long Shift, int Offset) TopLayer(DateTime t)
    {
        foreach (var layer in layers)
        {
            if (!layer.IsActive(t, out var shift)) continue;
            for (var j = 0; j < layer.Participants.Length; j++)
                if (!IsAbsent(layer.Participant(shift + j), t))
                    return (layer, shift, j);
            // Everyone in this layer is away: it has nobody, and lower layers apply.
        }
        return (null, 0, 0);
    }

    private Override? OverrideAt(DateTime t)
    {
        for (var i = overrides.Length - 1; i >= 0; i--)
            if (overrides[i].FromUtc <= t && t < overrides[i].ToUtc)
                return overrides[i];
        return null;
    }

    private bool IsAbsent(string user, DateTime t) =>
        absences.TryGetValue(user, out var list) && list.Any(a => a.FromUtc <= t && t < a.ToUtc);

    private static void RequireName(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException($"{field} must not be empty.", field);
    }

    private static void RequireInterval(DateTime from, DateTime to, string field)
    {
        OnCallCalculator.RequireUtc(from, field + ".FromUtc");
        OnCallCalculator.RequireUtc(to, field + ".ToUtc");
        if (from >= to)
            throw new ArgumentException($"{field}: FromUtc ({from:O}) must be before ToUtc ({to:O}).", field + ".ToUtc");
    }
}

/// <summary>A validated layer: its rotation with the time zone looked up, and its optional weekly window. One is built per
/// calculator call and never shared, so its memo needs no locking.</summary>
internal sealed class CompiledLayer
{
    private readonly TimeZoneInfo zone;
    private readonly int days;            // calendar days per shift, or 0
    private readonly long fixedTicks;     // fixed shift length, or 0
    private readonly DateOnly start;
    private readonly TimeOnly handOff;
    private readonly DateTime firstHandOff;
    private readonly WeeklyWindow? window;
    // Walks ask for the same few local hand-offs and window edges over and over; resolving one costs several zone lookups.
    private readonly Dictionary<(int Day, TimeOnly Time), DateTime> resolved = [];

    private CompiledLayer(Layer layer, TimeZoneInfo zone)
    {
        Name = layer.Name;
        Priority = layer.Priority;
        Participants = layer.Rotation.Participants.ToArray();
        this.zone = zone;
        days = layer.Rotation.Length.Days;
        fixedTicks = layer.Rotation.Length.Fixed.Ticks;
        start = layer.Rotation.Start;
        handOff = layer.Rotation.HandOff;
        window = layer.Rotation.Window;
        firstHandOff = Resolve(start, handOff);
    }

    public string Name { get; }
    public int Priority { get; }
    public string[] Participants { get; }

    public string Participant(long index) => Participants[(int)(index % Participants.Length)];

    public static CompiledLayer Compile(Layer? layer, string field)
    {
        if (layer is null) throw new ArgumentException("Layer must not be null.", field);
        if (string.IsNullOrWhiteSpace(layer.Name))
            throw new ArgumentException($"{field}.Name must not be empty.", field + ".Name");
        if (string.Equals(layer.Name, OnCallCalculator.OverrideLayer, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException(
                $"{field}.Name '{layer.Name}' is reserved: answers use it to mark an override.", field + ".Name");
        var rotation = layer.Rotation ?? throw new ArgumentException($"Layer '{layer.Name}': Rotation must not be null.", field + ".Rotation");
        field += ".Rotation";
        if (rotation.Participants is null || rotation.Participants.Count == 0)
            throw new ArgumentException($"Layer '{layer.Name}': {field}.Participants must not be empty.", field + ".Participants");
        for (var i = 0; i < rotation.Participants.Count; i++)
            if (string.IsNullOrWhiteSpace(rotation.Participants[i]))
                throw new ArgumentException($"Layer '{layer.Name}': {field}.Participants[{i}] must not be empty.", $"{field}.Participants[{i}]");
        if (rotation.Length is null)
            throw new ArgumentException($"Layer '{layer.Name}': {field}.Length must not be null.", field + ".Length");
        if (rotation.Window is { } w && (w.Days is null || w.Days.Count == 0))
            throw new ArgumentException($"Layer '{layer.Name}': {field}.Window.Days must not be empty.", field + ".Window.Days");
        return new CompiledLayer(layer, FindZone(rotation.TimeZoneId, layer.Name, field + ".TimeZoneId"));
    }

    private static TimeZoneInfo FindZone(string? id, string layer, string field)
    {
        if (string.IsNullOrWhiteSpace(id))
            throw new ArgumentException($"Layer '{layer}': {field} must not be empty.", field);
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"Layer '{layer}': {field} '{id}' is not a known time zone.", field, e);
        }
    }

    /// <summary>True when this layer's rotation has begun and <paramref name="t"/> is inside its window (if any).</summary>
    public bool IsActive(DateTime t, out long shift)
    {
        shift = ShiftIndex(t);
        return shift >= 0 && (window is null || Window(t).Inside);
    }

    /// <summary>The first hand-off or window edge after <paramref name="t"/>.</summary>
    public DateTime NextChange(DateTime t)
    {
        var next = ShiftStart(ShiftIndex(t) + 1);
        if (window is not null)
        {
            var edge = Window(t).NextEdge;
            if (edge < next) next = edge;
        }
        return next;
    }

    /// <summary>The shift containing <paramref name="t"/>, or -1 before the first hand-off.</summary>
    private long ShiftIndex(DateTime t)
    {
        if (t < firstHandOff) return -1;
        long k = days > 0
            ? Math.Max(0, (LocalDate(t).DayNumber - start.DayNumber) / days)
            : (t - firstHandOff).Ticks / fixedTicks;
        // The local date names the shift handed off on or before that date; before that day's hand-off it is one too high
        // (and a hand-off DST moved across midnight could put it one off either way). Settle it on the real boundaries.
        while (k > 0 && ShiftStart(k) > t) k--;
        while (ShiftStart(k + 1) is var next && next <= t && next != DateTime.MaxValue) k++;
        return k;
    }

    /// <summary>Start of shift <paramref name="k"/> (k &gt;= 0), or the end of time past the end of the calendar.</summary>
    private DateTime ShiftStart(long k)
    {
        if (days > 0)
        {
            var dayNumber = start.DayNumber + k * days;
            return dayNumber <= DateOnly.MaxValue.DayNumber
                ? Resolve(DateOnly.FromDayNumber((int)dayNumber), handOff)
                : OnCallCalculator.EndOfTime;
        }
        return k <= (DateTime.MaxValue.Ticks - firstHandOff.Ticks) / fixedTicks
            ? firstHandOff.AddTicks(k * fixedTicks)
            : OnCallCalculator.EndOfTime;
    }

    /// <summary>Whether <paramref name="t"/> is inside the window, and the first window edge after it. Looks at windows
    /// opening from two local days before t (an overnight window, or one moved by DST, can reach t) to eight days after
    /// (the same weekday next week is always among them, so an edge is always found).</summary>
    private (bool Inside, DateTime NextEdge) Window(DateTime t)
    {
        var w = window!;
        var today = LocalDate(t).DayNumber;
        var inside = false;
        var next = OnCallCalculator.EndOfTime;
        for (var d = Math.Max(DateOnly.MinValue.DayNumber, today - 2); d <= Math.Min(DateOnly.MaxValue.DayNumber, today + 8); d++)
        {
            var day = DateOnly.FromDayNumber(d);
            if (!w.Days.Contains(day.DayOfWeek)) continue;
            var opens = Resolve(day, w.From);
            var closes = w.To > w.From ? Resolve(day, w.To)
                : d < DateOnly.MaxValue.DayNumber ? Resolve(day.AddDays(1), w.To)
                : OnCallCalculator.EndOfTime;
            if (opens <= t && t < closes) inside = true;
            if (opens > t && opens < next) next = opens;
            if (closes > t && closes < next) next = closes;
            // Windows of later days open and close no earlier than this one: nothing after it can be nearer or contain t.
            if (opens > t) break;
        }
        return (inside, next);
    }

    private DateTime Resolve(DateOnly day, TimeOnly time)
    {
        if (!resolved.TryGetValue((day.DayNumber, time), out var utc))
            resolved[(day.DayNumber, time)] = utc = LocalTime.ToUtc(day, time, zone);
        return utc;
    }

    private DateOnly LocalDate(DateTime t) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(t, zone));
}
