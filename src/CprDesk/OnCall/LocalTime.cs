// Turns a local date and wall-clock time in a time zone into exactly one UTC instant, with fixed rules for DST edges.
namespace CprDesk.OnCall;

/// <summary>
/// Resolution of a local time L (a date and a time of day) in zone Z to a UTC instant. Every hand-off and every
/// window edge goes through here, so these rules are the whole DST story of the calculator:
/// <list type="number">
/// <item>If L occurs exactly once in Z, the result is that instant.</item>
/// <item>If L does not occur (it lies in a spring-forward gap), the result is the first instant after the gap, which
/// is the transition instant itself. Example: 02:30 on 2026-03-29 in Europe/Warsaw does not exist (02:00 CET jumps to
/// 03:00 CEST), so it resolves to 03:00 CEST = 01:00Z. Not "L shifted by the gap length" (03:30).</item>
/// <item>If L occurs twice (it lies in a fall-back overlap), the result is the first occurrence, i.e. the earlier
/// instant, read with the offset in force before the transition. Example: 01:30 on 2026-11-01 in America/New_York
/// resolves to 01:30 EDT = 05:30Z, not 01:30 EST = 06:30Z.</item>
/// </list>
/// Rule 2 finds the transition by bisection over UTC, which assumes a zone changes its offset at most once in the
/// 28 hours around L; every zone in the tz database satisfies that.
/// </summary>
public static class LocalTime
{
    // UTC offsets lie within [-12:00, +14:00]. At L - 15 h the local clock is before L; at L + 13 h it is after L.
    private static readonly TimeSpan SearchBefore = TimeSpan.FromHours(15);
    private static readonly TimeSpan SearchAfter = TimeSpan.FromHours(13);

    public static DateTime ToUtc(DateOnly date, TimeOnly time, TimeZoneInfo zone)
    {
        var local = date.ToDateTime(time, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
            return FirstInstantReaching(local, zone);
        if (zone.IsAmbiguousTime(local))
            // The larger offset is the one before the fall-back; subtracting it gives the earlier instant.
            return DateTime.SpecifyKind(local - zone.GetAmbiguousTimeOffsets(local).Max(), DateTimeKind.Utc);
        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }

    /// <summary>The earliest UTC instant at which the local clock in <paramref name="zone"/> reads
    /// <paramref name="local"/> or later. For a time inside a gap, that is the transition instant.</summary>
    private static DateTime FirstInstantReaching(DateTime local, TimeZoneInfo zone)
    {
        long lo = Math.Max(DateTime.MinValue.Ticks, local.Ticks - SearchBefore.Ticks); // clock reads before local
        long hi = Math.Min(DateTime.MaxValue.Ticks, local.Ticks + SearchAfter.Ticks);  // clock reads local or later
        while (hi - lo > 1)
        {
            var mid = lo + (hi - lo) / 2;
            if (WallClockTicks(mid, zone) >= local.Ticks) hi = mid;
            else lo = mid;
        }
        return new DateTime(hi, DateTimeKind.Utc);
    }

    private static long WallClockTicks(long utcTicks, TimeZoneInfo zone) =>
        utcTicks + zone.GetUtcOffset(new DateTime(utcTicks, DateTimeKind.Utc)).Ticks;
}
