// Reads a CA Certificate Compliance bug's whiteboard: bracketed tags, "[close on …]" and the free-text
// "Next update …" that root-program staff write in many date forms (2025-05-23, 2023-Oct-27, 31-Oct-2023, 23.2.2024).
using System.Globalization;
using System.Text.RegularExpressions;

namespace CprDesk.Compliance.Bugzilla;

public sealed record WhiteboardInfo(IReadOnlyList<string> Tags, DateTime? NextUpdate, DateTime? CloseOn)
{
    public bool Has(string tag) => Tags.Contains(tag, StringComparer.OrdinalIgnoreCase);
}

public static partial class Whiteboard
{
    public static WhiteboardInfo Parse(string? whiteboard)
    {
        if (string.IsNullOrWhiteSpace(whiteboard)) return new([], null, null);
        var tags = new List<string>();
        DateTime? closeOn = null;
        foreach (Match m in Bracketed().Matches(whiteboard))
        {
            var tag = m.Groups[1].Value.Trim();
            var close = CloseOn().Match(tag);
            if (close.Success)
            {
                closeOn = ParseDate(close.Groups[1].Value);
                tags.Add("close-on");
                continue;
            }
            if (tag.Length > 0) tags.Add(tag.ToLowerInvariant());
        }
        DateTime? next = null;
        var n = NextUpdate().Match(whiteboard);
        if (n.Success) next = ParseDate(n.Groups[1].Value);
        return new(tags, next, closeOn);
    }

    private static readonly string[] Formats =
    [
        "yyyy-MM-dd", "yyyy-M-d", "yyyy-MMM-dd", "yyyy-MMM-d", "yyyy-MMMM-dd", "dd-MMM-yyyy", "d-MMM-yyyy", "dd-MMMM-yyyy", "d-MMMM-yyyy",
        "d.M.yyyy", "dd.MM.yyyy", "yyyy/MM/dd", "yyyy/M/d", "yyyy.MM.dd", "d MMM yyyy", "d MMMM yyyy", "MMM d yyyy", "MMMM d yyyy", "MMM d, yyyy",
        "MMMM d, yyyy", "yyyyMMdd",
    ];

    /// <summary>A calendar date in any of the forms seen on whiteboards, as midnight UTC; null when not a date.</summary>
    public static DateTime? ParseDate(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var t = text.Trim().TrimEnd('.', ',', ';', ')', ']');
        t = Ordinal().Replace(t, "$1");
        if (DateTime.TryParseExact(t, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var d))
            return DateTime.SpecifyKind(d.Date, DateTimeKind.Utc);
        // "Sept" is common and not an invariant-culture abbreviation.
        var sept = Regex.Replace(t, "Sept(?![a-z])", "Sep", RegexOptions.IgnoreCase);
        if (sept != t && DateTime.TryParseExact(sept, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out d))
            return DateTime.SpecifyKind(d.Date, DateTimeKind.Utc);
        return null;
    }

    [GeneratedRegex(@"\[([^\[\]]*)\]")]
    private static partial Regex Bracketed();

    [GeneratedRegex(@"^close[\s-]+on\s+(.+)$", RegexOptions.IgnoreCase)]
    private static partial Regex CloseOn();

    // "Next update 2025-05-23", "next update: 31-Oct-2023", "Next Update on 23.2.2024", "Next update by Oct 27, 2023".
    [GeneratedRegex(@"next[\s-]*update\s*(?:[:\-–]|on|by|due)?\s*((?:\d{1,4}[-./]\w{1,9}[-./]\d{1,4})|(?:\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4})|(?:[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})|\d{8})",
        RegexOptions.IgnoreCase)]
    private static partial Regex NextUpdate();

    [GeneratedRegex(@"(\d)(st|nd|rd|th)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Ordinal();
}
