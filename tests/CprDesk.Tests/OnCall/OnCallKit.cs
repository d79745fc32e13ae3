// Small builders for on-call tests: UTC instants from ISO text, and one-layer schedules.
using System.Globalization;
using CprDesk.OnCall;

namespace CprDesk.Tests.OnCall;

internal static class OnCallKit
{
    public const string Warsaw = "Europe/Warsaw";
    public const string NewYork = "America/New_York";
    public const string Kolkata = "Asia/Kolkata";

    public static readonly IReadOnlyList<Override> NoOverrides = [];
    public static readonly IReadOnlyList<Absence> NoAbsences = [];

    /// <summary>"2026-03-29T01:00:00Z" (or with fractional seconds) as a UTC DateTime.</summary>
    public static DateTime Utc(string iso) =>
        DateTime.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    public static ShiftLength Length(string name) => name switch
    {
        "daily" => ShiftLength.Daily,
        "weekly" => ShiftLength.Weekly,
        _ when name.EndsWith('h') => ShiftLength.Hours(int.Parse(name[..^1], CultureInfo.InvariantCulture)),
        _ when name.EndsWith('d') => ShiftLength.CalendarDays(int.Parse(name[..^1], CultureInfo.InvariantCulture)),
        _ => throw new ArgumentException($"unknown length {name}", nameof(name)),
    };

    public static Rotation Rotation(string zone, string length, string handOff, string start, string participants, WeeklyWindow? window = null) =>
        new(participants.Split(','), Length(length), TimeOnly.Parse(handOff, CultureInfo.InvariantCulture), zone,
            DateOnly.Parse(start, CultureInfo.InvariantCulture), window);

    public static Schedule OneLayer(Rotation rotation, string name = "tls") => new(name, [new Layer("base", 0, rotation)]);

    public static Absence Away(string user, string from, string to, string reason = "holiday") => new(user, Utc(from), Utc(to), reason);

    public static Override Cover(string user, string from, string to, string schedule = "tls") => new(schedule, user, Utc(from), Utc(to));
}
