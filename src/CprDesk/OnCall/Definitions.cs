// The inputs of the on-call calculator: schedules (layers of rotations), overrides and absences, as plain values.
namespace CprDesk.OnCall;

/// <summary>How long one shift of a rotation lasts. Exactly one of two kinds:
/// <list type="bullet">
/// <item><see cref="Days"/> &gt; 0: calendar days. Every hand-off happens at the rotation's local hand-off time,
/// so a daily shift is 23 h or 25 h long across a DST change.</item>
/// <item><see cref="Fixed"/> &gt; 0: absolute time. Hand-offs are exactly that far apart in UTC, whatever the
/// local clock does (a 12 h rotation that starts at 09:00 runs 10:00/22:00 local after spring-forward).</item>
/// </list>
/// The constructor is private so that no other combination can exist.</summary>
public sealed record ShiftLength
{
    /// <summary>Shorter fixed shifts are a mistake in practice, and would make timelines enormous.</summary>
    public static readonly TimeSpan MinimumFixed = TimeSpan.FromMinutes(1);

    private ShiftLength(int days, TimeSpan @fixed) => (Days, Fixed) = (days, @fixed);

    /// <summary>Calendar days per shift, or 0 for a fixed-length rotation.</summary>
    public int Days { get; }

    /// <summary>Absolute length of a shift, or <see cref="TimeSpan.Zero"/> for a calendar-day rotation.</summary>
    public TimeSpan Fixed { get; }

    public static ShiftLength Daily { get; } = new(1, TimeSpan.Zero);
    public static ShiftLength Weekly { get; } = new(7, TimeSpan.Zero);

    public static ShiftLength CalendarDays(int days) => days >= 1
        ? new ShiftLength(days, TimeSpan.Zero)
        : throw new ArgumentOutOfRangeException(nameof(days), days, "A calendar-day shift lasts at least one day.");

    public static ShiftLength FixedDuration(TimeSpan duration) => duration >= MinimumFixed
        ? new ShiftLength(0, duration)
        : throw new ArgumentOutOfRangeException(nameof(duration), duration, $"A fixed shift lasts at least {MinimumFixed}.");

    public static ShiftLength Hours(int hours) => FixedDuration(TimeSpan.FromHours(hours));

    public override string ToString() => Days > 0 ? $"{Days} calendar day(s)" : $"fixed {Fixed}";
}

/// <summary>The part of each week a layer applies, in the rotation's time zone. For each day in
/// <see cref="Days"/> the window is local [day From, day To) when To &gt; From, and [day From, next day To)
/// when To &lt;= From (an overnight window; 00:00–00:00 is the whole day). The window masks the rotation; it
/// does not pause it: shifts keep turning over outside the window, their owners are just not on call there.
/// Window edges are local times resolved with the same DST rules as hand-offs (see <see cref="LocalTime"/>).</summary>
public sealed record WeeklyWindow(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To)
{
    public static WeeklyWindow Weekdays(TimeOnly from, TimeOnly to) => new(
        new HashSet<DayOfWeek> { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday },
        from, to);
}

/// <summary>An ordered list of people taking turns. Shift 0 starts at <see cref="HandOff"/> on <see cref="Start"/>
/// in <see cref="TimeZoneId"/> and belongs to Participants[0]; shift k belongs to Participants[k mod n]. Before shift 0
/// the rotation has nobody. User names are compared ordinally (case-sensitive). A name may appear more than once.</summary>
public sealed record Rotation(
    IReadOnlyList<string> Participants,
    ShiftLength Length,
    TimeOnly HandOff,
    string TimeZoneId,
    DateOnly Start,
    WeeklyWindow? Window = null);

/// <summary>One layer of a schedule. Where several layers have someone, the highest <see cref="Priority"/> wins.</summary>
public sealed record Layer(string Name, int Priority, Rotation Rotation);

public sealed record Schedule(string Name, IReadOnlyList<Layer> Layers);

/// <summary><see cref="User"/> is on call for <see cref="Schedule"/> (matched by name, ordinally) during
/// [FromUtc, ToUtc), replacing whoever the layers would have put there, on every layer, even where no layer has anyone.</summary>
public sealed record Override(string Schedule, string User, DateTime FromUtc, DateTime ToUtc);

/// <summary><see cref="User"/> is away during [FromUtc, ToUtc) on every schedule.</summary>
public sealed record Absence(string User, DateTime FromUtc, DateTime ToUtc, string Reason);
