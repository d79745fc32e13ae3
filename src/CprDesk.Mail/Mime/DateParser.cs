// RFC 5322 §3.3 date-time parsing, including the obsolete forms of §4.3 (two/three-digit years, named and military zones).
namespace CprDesk.Mail.Mime;

/// <summary>Parses Date-like header values. Returns null (with an "invalid-date" defect) when no date can be read; never throws.</summary>
public static class DateParser
{
    private static readonly string[] Months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    private static readonly string[] Days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    public static DateTimeOffset? Parse(string value, List<MimeDefect>? defects = null)
    {
        var result = TryParse(value, defects, out var problem);
        if (result is null) defects?.Add(new MimeDefect(DefectCodes.InvalidDate, $"{problem}: '{Charsets.Truncate(value ?? "")}'"));
        return result;
    }

    private static DateTimeOffset? TryParse(string? value, List<MimeDefect>? defects, out string problem)
    {
        problem = "unreadable date";
        if (string.IsNullOrWhiteSpace(value)) { problem = "empty date"; return null; }
        // RFC 5322 §3.3 allows CFWS between every element; a trailing "(CEST)" comment is the common case.
        var text = Rfc822Lexer.StripComments(value);
        var parts = text.Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries);
        int? month = null;
        string? time = null, zone = null;
        var numbers = new List<string>(2);
        foreach (var raw in parts)
        {
            var p = raw;
            if (time is null && p.Contains(':') && char.IsAsciiDigit(p[0]))
            {
                // A zone glued to the time ("10:00:00+0200") is split off.
                var zoneAt = p.IndexOfAny(['+', '-'], 1);
                if (zoneAt > 0)
                {
                    zone ??= p[zoneAt..];
                    p = p[..zoneAt];
                }
                time = p;
                continue;
            }
            if (p.All(char.IsAsciiDigit))
            {
                numbers.Add(p);
                continue;
            }
            var lower = p.ToLowerInvariant();
            if (month is null && lower.Length >= 3 && char.IsAsciiLetter(lower[0]))
            {
                var m = Array.IndexOf(Months, lower[..3]);
                if (m >= 0 && (lower.Length == 3 || lower.All(char.IsAsciiLetter)))
                {
                    month = m + 1;
                    continue;
                }
                if (Array.IndexOf(Days, lower[..3]) >= 0 && lower.All(c => char.IsAsciiLetter(c) || c == '.')) continue; // day-of-week, not checked
            }
            if (zone is null && time is not null) { zone = p; continue; }
            if (lower.All(c => char.IsAsciiLetter(c) || c == '.') && time is null && month is null) continue; // stray word before the date
            problem = $"unexpected '{Charsets.Truncate(p)}' in date";
            return null;
        }
        if (month is null) { problem = "no month in date"; return null; }
        if (numbers.Count < 2) { problem = "no day or year in date"; return null; }
        string dayText, yearText;
        if (numbers[0].Length >= 3) { yearText = numbers[0]; dayText = numbers[1]; }
        else { dayText = numbers[0]; yearText = numbers[1]; }
        if (dayText.Length > 2 || yearText.Length > 4) return null;
        var day = int.Parse(dayText, System.Globalization.CultureInfo.InvariantCulture);
        var year = int.Parse(yearText, System.Globalization.CultureInfo.InvariantCulture);
        // RFC 5322 §4.3: two-digit years 00-49 are 2000-2049, 50-99 and all three-digit years get 1900 added.
        if (yearText.Length == 2) year += year < 50 ? 2000 : 1900;
        else if (yearText.Length == 3) year += 1900;
        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month.Value)) { problem = "day out of range"; return null; }

        if (time is null) { problem = "no time of day in date"; return null; }
        var hms = time.Split(':');
        if (hms.Length is < 2 or > 3 || hms.Any(h => h.Length is 0 or > 2 || !h.All(char.IsAsciiDigit))) { problem = "bad time of day"; return null; }
        var hour = int.Parse(hms[0], System.Globalization.CultureInfo.InvariantCulture);
        var minute = int.Parse(hms[1], System.Globalization.CultureInfo.InvariantCulture);
        var second = hms.Length == 3 ? int.Parse(hms[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (second == 60) second = 59; // RFC 5322 §3.3 allows a leap second; DateTimeOffset cannot hold one
        if (hour > 23 || minute > 59 || second > 59) { problem = "time of day out of range"; return null; }

        var offset = ParseZone(zone, defects, value!);
        return new DateTimeOffset(year, month.Value, day, hour, minute, second, offset);
    }

    private static TimeSpan ParseZone(string? zone, List<MimeDefect>? defects, string value)
    {
        if (zone is null)
        {
            defects?.Add(new MimeDefect(DefectCodes.InvalidDate, $"no zone in date, taken as UT: '{Charsets.Truncate(value)}'"));
            return TimeSpan.Zero;
        }
        var z = zone.Trim().ToUpperInvariant();
        if (z.StartsWith("GMT", StringComparison.Ordinal) || z.StartsWith("UTC", StringComparison.Ordinal))
        {
            var rest = z[3..];
            if (rest.Length > 0 && (rest[0] == '+' || rest[0] == '-')) z = rest;
        }
        if (z.Length >= 3 && (z[0] == '+' || z[0] == '-'))
        {
            var digits = z[1..].Replace(":", "", StringComparison.Ordinal);
            if (digits.Length == 2) digits += "00";
            if (digits.Length == 4 && digits.All(char.IsAsciiDigit))
            {
                var hh = (digits[0] - '0') * 10 + (digits[1] - '0');
                var mm = (digits[2] - '0') * 10 + (digits[3] - '0');
                // DateTimeOffset holds at most ±14:00; a larger zone is not a real one.
                if (mm < 60 && hh * 60 + mm <= 14 * 60)
                {
                    var span = new TimeSpan(hh, mm, 0);
                    return z[0] == '-' ? -span : span;
                }
            }
        }
        switch (z)
        {
            // RFC 5322 §4.3 obs-zone.
            case "UT" or "UTC" or "GMT" or "Z": return TimeSpan.Zero;
            case "EST": return TimeSpan.FromHours(-5);
            case "EDT": return TimeSpan.FromHours(-4);
            case "CST": return TimeSpan.FromHours(-6);
            case "CDT": return TimeSpan.FromHours(-5);
            case "MST": return TimeSpan.FromHours(-7);
            case "MDT": return TimeSpan.FromHours(-6);
            case "PST": return TimeSpan.FromHours(-8);
            case "PDT": return TimeSpan.FromHours(-7);
        }
        // RFC 5322 §4.3: military zones were defined with the wrong sign in RFC 822, so they are taken as -0000 (no zone information).
        if (z.Length == 1 && char.IsAsciiLetter(z[0]) && z[0] != 'J') return TimeSpan.Zero;
        defects?.Add(new MimeDefect(DefectCodes.InvalidDate, $"unknown zone '{Charsets.Truncate(zone)}', taken as UT"));
        return TimeSpan.Zero;
    }
}
