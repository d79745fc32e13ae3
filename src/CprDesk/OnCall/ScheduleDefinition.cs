// The stored and wire form of a schedule (JSON, as an operator writes it) and its translation into calculator values.
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CprDesk.Reports;

namespace CprDesk.OnCall;

/// <summary>Exactly one of <see cref="Days"/> (calendar days) or <see cref="Hours"/> (fixed length).</summary>
public sealed record ShiftSpec(int? Days, int? Hours);

public sealed record WindowSpec(IReadOnlyList<string>? Days, string? From, string? To);

/// <summary>One layer as written. Times are strings so that a bad value is refused naming its field,
/// not as a generic JSON error.</summary>
public sealed record LayerSpec(
    string? Name, int Priority, IReadOnlyList<string>? Participants, ShiftSpec? Shift,
    string? HandOff, string? TimeZone, string? Start, WindowSpec? Window);

public sealed record ScheduleBody(IReadOnlyList<LayerSpec>? Layers, string? TeamWebhook);

public static partial class ScheduleDefinition
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Serialize(IReadOnlyList<LayerSpec> layers) => JsonSerializer.Serialize(layers, Json);

    public static IReadOnlyList<LayerSpec> Deserialize(string definition) =>
        JsonSerializer.Deserialize<List<LayerSpec>>(definition, Json) ?? [];

    /// <summary>The calculator's schedule. Format errors are <see cref="DeskException.Invalid"/> naming the body field;
    /// the calculator's own rules (zones, duplicate names and priorities) are checked by <see cref="Validate"/>.</summary>
    public static Schedule ToSchedule(string name, IReadOnlyList<LayerSpec>? layers)
    {
        if (layers is null || layers.Count == 0) throw DeskException.Invalid("layers", "A schedule needs at least one layer.");
        var result = new List<Layer>();
        for (var i = 0; i < layers.Count; i++)
        {
            var f = $"layers[{i}]";
            var l = layers[i] ?? throw DeskException.Invalid(f, $"{f} must not be null.");
            var shift = l.Shift switch
            {
                { Days: { } d, Hours: null } when d >= 1 => ShiftLength.CalendarDays(d),
                { Days: null, Hours: { } h } when h >= 1 => ShiftLength.Hours(h),
                _ => throw DeskException.Invalid($"{f}.shift", $"{f}.shift must give exactly one of days or hours, at least 1."),
            };
            var handOff = Time(l.HandOff, $"{f}.handOff");
            if (!DateOnly.TryParseExact(l.Start, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
                throw DeskException.Invalid($"{f}.start", $"{f}.start must be a date like 2026-01-05.");
            WeeklyWindow? window = null;
            if (l.Window is { } w)
            {
                var days = new HashSet<DayOfWeek>();
                for (var d = 0; d < (w.Days?.Count ?? 0); d++)
                {
                    if (!Enum.TryParse<DayOfWeek>(w.Days![d], ignoreCase: true, out var day) || !Enum.IsDefined(day) || int.TryParse(w.Days[d], out _))
                        throw DeskException.Invalid($"{f}.window.days[{d}]", $"{f}.window.days[{d}] must be a day name such as Monday.");
                    days.Add(day);
                }
                window = new WeeklyWindow(days, Time(w.From, $"{f}.window.from"), Time(w.To, $"{f}.window.to"));
            }
            var rotation = new Rotation(l.Participants ?? [], shift, handOff, l.TimeZone ?? "", start, window);
            result.Add(new Layer(l.Name ?? "", l.Priority, rotation));
        }
        return new Schedule(name, result);
    }

    /// <summary>Runs the calculator once so that every rule it enforces is checked before anything is stored.</summary>
    public static void Validate(Schedule schedule, DateTime nowUtc)
    {
        try
        {
            OnCallCalculator.At(schedule, [], [], nowUtc);
        }
        catch (ArgumentException ex)
        {
            throw DeskException.Invalid(ApiField(ex.ParamName), ex.Message);
        }
    }

    /// <summary>The calculator names fields by its records ("schedule.Layers[0].Rotation.TimeZoneId"); callers wrote
    /// the JSON body, so errors name its fields ("layers[0].timeZone").</summary>
    public static string ApiField(string? calculatorField)
    {
        if (string.IsNullOrEmpty(calculatorField)) return "layers";
        var f = calculatorField.StartsWith("schedule.", StringComparison.Ordinal) ? calculatorField["schedule.".Length..] : calculatorField;
        f = f.Replace(".Rotation.TimeZoneId", ".timeZone").Replace(".Rotation.Length", ".shift").Replace(".Rotation.", ".");
        return CamelSegment().Replace(f, m => m.Value.ToLowerInvariant());
    }

    private static TimeOnly Time(string? value, string field) =>
        TimeOnly.TryParseExact(value, ["HH:mm", "HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
            ? t
            : throw DeskException.Invalid(field, $"{field} must be a local time like 09:00.");

    /// <summary>The first letter of each path segment.</summary>
    [GeneratedRegex(@"(?<=^|\.)[A-Z]")]
    private static partial Regex CamelSegment();
}
