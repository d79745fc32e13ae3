// Who is on call at an instant, the shifts over a window, and the gaps in coverage: pure functions of the definitions.
namespace CprDesk.OnCall;

/// <summary>
/// Everything here is a pure function of (schedule, overrides, absences, instants): no clock, no storage.
/// Rules, in order of precedence, at an instant T:
/// <list type="number">
/// <item>An override for this schedule covering T puts its user on call, replacing every layer. If overrides overlap,
/// the one later in the list wins (pass them in the order they were made). An override stands even if its user is absent
/// at T: it is an explicit human decision, so the calculator keeps it and sets <see cref="OnCallDuty.UserAbsent"/>.</item>
/// <item>Otherwise, layers are tried from the highest priority down. A layer has nobody before its rotation's first
/// hand-off and outside its weekly window. Inside, the scheduled person is the current shift's; if they are absent, the
/// next in rotation order covers (then the one after, and so on); if everyone in the layer is absent, the layer has
/// nobody at T and the next layer down is tried.</item>
/// <item>If no override and no layer has anyone, T is in a coverage gap.</item>
/// </list>
/// The secondary, for escalation, comes from the top layer's rotation: see <see cref="OnCallAnswer.Secondary"/>.
/// Intervals are half-open [from, to). All instants must be <see cref="DateTimeKind.Utc"/>.
/// Results are computed by walking the instants at which an input changes (hand-offs, window edges, override and
/// absence edges), never by sampling, so every boundary is exact to the tick.
/// </summary>
public static class OnCallCalculator
{
    /// <summary>The <see cref="OnCallShift.Layer"/> of a shift that comes from an override; no layer may use this name.</summary>
    public const string OverrideLayer = "override";

    /// <summary>How far <see cref="At"/> looks ahead for the end of the current answer.</summary>
    public static readonly TimeSpan Lookahead = TimeSpan.FromDays(366);

    /// <summary>The window <see cref="CoverageGaps(Schedule, IReadOnlyList{Override}, IReadOnlyList{Absence}, DateTime)"/> checks.</summary>
    public static readonly TimeSpan DefaultGapWindow = TimeSpan.FromDays(28);

    /// <summary>DateTime.MaxValue is of unspecified kind; answers past the end of the calendar must still be UTC.</summary>
    internal static readonly DateTime EndOfTime = DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);

    public static OnCallAnswer At(Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences, DateTime utc)
    {
        RequireUtc(utc, nameof(utc));
        var compiled = CompiledSchedule.Compile(schedule, overrides, absences);
        var now = compiled.At(utc);
        var horizon = utc <= DateTime.MaxValue - Lookahead ? utc + Lookahead : EndOfTime;

        // Walk the change points until both the primary and the whole answer have changed, or the horizon is reached.
        DateTime? answerUntil = null, primaryUntil = null;
        for (var t = compiled.NextChange(utc); t < horizon && primaryUntil is null; t = compiled.NextChange(t))
        {
            var then = compiled.At(t);
            if (then.Primary != now.Primary) primaryUntil = t;
            if (answerUntil is null && then != now) answerUntil = t;
        }
        var primary = now.Primary is { } p
            ? new OnCallDuty(p.User, p.Layer, p.ViaOverride, p.CoveringFor, p.UserAbsent, primaryUntil ?? horizon)
            : null;
        return new OnCallAnswer(utc, primary, now.Secondary, answerUntil ?? horizon);
    }

    /// <summary>The shifts within [fromUtc, toUtc), clipped to it, in order. Consecutive shifts touch unless a coverage gap
    /// lies between them; see <see cref="OnCallShift"/> for what makes one shift.</summary>
    public static IReadOnlyList<OnCallShift> Timeline(
        Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences, DateTime fromUtc, DateTime toUtc) =>
        Segments(schedule, overrides, absences, fromUtc, toUtc)
            .Where(s => s.Duty is not null)
            .Select(s => new OnCallShift(s.Duty!.User, s.Duty.Layer, s.From, s.To, s.Duty.ViaOverride, s.Duty.CoveringFor, s.Duty.UserAbsent))
            .ToList();

    /// <summary>Every maximal interval within [fromUtc, toUtc) with nobody on call, clipped to it, in order.</summary>
    public static IReadOnlyList<CoverageGap> CoverageGaps(
        Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences, DateTime fromUtc, DateTime toUtc) =>
        Segments(schedule, overrides, absences, fromUtc, toUtc)
            .Where(s => s.Duty is null)
            .Select(s => new CoverageGap(s.From, s.To))
            .ToList();

    /// <summary>The coverage gaps in the <see cref="DefaultGapWindow"/> starting at <paramref name="fromUtc"/>.</summary>
    public static IReadOnlyList<CoverageGap> CoverageGaps(
        Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences, DateTime fromUtc)
    {
        RequireUtc(fromUtc, nameof(fromUtc));
        var toUtc = fromUtc <= DateTime.MaxValue - DefaultGapWindow ? fromUtc + DefaultGapWindow : EndOfTime;
        return CoverageGaps(schedule, overrides, absences, fromUtc, toUtc);
    }

    /// <summary>[fromUtc, toUtc) cut into maximal pieces with the same primary duty (null: nobody).</summary>
    private static List<(DateTime From, DateTime To, Duty? Duty)> Segments(
        Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences, DateTime fromUtc, DateTime toUtc)
    {
        RequireUtc(fromUtc, nameof(fromUtc));
        RequireUtc(toUtc, nameof(toUtc));
        if (fromUtc > toUtc)
            throw new ArgumentException($"fromUtc ({fromUtc:O}) must not be after toUtc ({toUtc:O}).", nameof(toUtc));
        var compiled = CompiledSchedule.Compile(schedule, overrides, absences);

        var segments = new List<(DateTime, DateTime, Duty?)>();
        if (fromUtc == toUtc) return segments;
        var segmentStart = fromUtc;
        var duty = compiled.At(fromUtc).Primary;
        for (var t = compiled.NextChange(fromUtc); t < toUtc; t = compiled.NextChange(t))
        {
            var next = compiled.At(t).Primary;
            if (next == duty) continue; // an edge that changed nothing for the primary (e.g. a hand-off under a higher layer)
            segments.Add((segmentStart, t, duty));
            (segmentStart, duty) = (t, next);
        }
        segments.Add((segmentStart, toUtc, duty));
        return segments;
    }

    internal static void RequireUtc(DateTime value, string field)
    {
        if (value.Kind != DateTimeKind.Utc)
            throw new ArgumentException($"{field} must be a UTC instant (DateTimeKind.Utc), not {value.Kind}.", field);
    }
}
