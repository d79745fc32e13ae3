// iCalendar (RFC 5545) feeds of on-call shifts: per person and per schedule, in UTC, reachable with a secret token
// because calendar apps cannot send cookies. The token is stored as SHA-256 and a person can rotate theirs.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.OnCall;

public sealed class CalendarFeeds(Database database, TimeProvider time, OnCallStore onCall)
{
    public const int DefaultWeeks = 8;
    public const int MaxWeeks = 52;
    /// <summary>Feeds start a week back, at a UTC midnight, so that a shift keeps its UID from one fetch to the next.</summary>
    public static readonly TimeSpan History = TimeSpan.FromDays(7);

    /// <summary>Issues a new feed token for <paramref name="username"/>; the old one stops working at once.</summary>
    public Task<string> RotateAsync(string actor, string username) => database.WriteAsync(time, async s =>
    {
        var user = await s.Db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Username == username && !u.Disabled)
            ?? throw DeskException.NotFound($"No active user '{username}'.");
        var token = "cprc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var row = await s.Db.CalendarFeedTokens.FirstOrDefaultAsync(t => t.UserId == user.Id);
        var replaced = row is not null;
        if (row is null) s.Db.CalendarFeedTokens.Add(row = new CalendarFeedTokenRow { UserId = user.Id });
        row.TokenHash = Hash(token);
        row.CreatedAt = s.Now;
        await s.AuditAsync(actor, "calendar-feed.rotated", null, new { user = username, replaced });
        return token;
    });

    /// <summary>When the person's current token was issued, or null if they have none.</summary>
    public async Task<DateTime?> IssuedAtAsync(string username)
    {
        await using var db = database.Open();
        return await (from t in db.CalendarFeedTokens join u in db.Users on t.UserId equals u.Id where u.Username == username select (DateTime?)t.CreatedAt).FirstOrDefaultAsync();
    }

    /// <summary>The active person a token belongs to, or null.</summary>
    public async Task<string?> UserOfAsync(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100) return null;
        var hash = Hash(token);
        await using var db = database.Open();
        return await (from t in db.CalendarFeedTokens join u in db.Users on t.UserId equals u.Id
                      where t.TokenHash == hash && !u.Disabled select u.Username).FirstOrDefaultAsync();
    }

    /// <summary>Every shift of <paramref name="username"/> on every schedule.</summary>
    public async Task<string> PersonAsync(string username, int weeks)
    {
        var (state, from, to, now) = await WindowAsync(weeks);
        var events = state.Schedules.SelectMany(sc => OnCallCalculator.Timeline(sc, state.Overrides, state.Absences, from, to)
            .Where(sh => sh.User == username).Select(sh => ShiftEvent(sc.Name, sh))).OrderBy(e => e.From).ToList();
        return ICalendar.Write($"On call: {username}", now, events);
    }

    /// <summary>Every shift of a schedule with who is on call, and its coverage gaps.</summary>
    public async Task<string?> ScheduleAsync(string name, int weeks)
    {
        var (state, from, to, now) = await WindowAsync(weeks);
        var sc = state.Schedules.FirstOrDefault(x => x.Name == name);
        if (sc is null) return null;
        var events = OnCallCalculator.Timeline(sc, state.Overrides, state.Absences, from, to).Select(sh => ShiftEvent(sc.Name, sh))
            .Concat(OnCallCalculator.CoverageGaps(sc, state.Overrides, state.Absences, from, to).Select(g => new CalendarEvent(
                Uid("gap", sc.Name, g.FromUtc), g.FromUtc, g.ToUtc, $"NOBODY on call ({sc.Name})",
                "Coverage gap: a Certificate Problem Report arriving now pages nobody until the deadline steps reach the admins.")))
            .OrderBy(e => e.From).ToList();
        return ICalendar.Write($"On call: {name}", now, events);
    }

    public static int ParseWeeks(string? weeks) =>
        string.IsNullOrWhiteSpace(weeks) ? DefaultWeeks
        : int.TryParse(weeks, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxWeeks ? n
        : throw DeskException.Invalid("weeks", $"weeks must be a whole number from 1 to {MaxWeeks}.");

    private async Task<(OnCallState State, DateTime From, DateTime To, DateTime Now)> WindowAsync(int weeks)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var from = now.Date - History;
        return (await onCall.LoadAsync(), from, now.Date.AddDays(7 * weeks + 1), now);
    }

    private static CalendarEvent ShiftEvent(string schedule, OnCallShift sh)
    {
        var how = sh.ViaOverride ? "override" : $"layer {sh.Layer}";
        var summary = $"On call: {sh.User} ({schedule})";
        var description = $"{sh.User} is on call for {schedule} ({how}){(sh.CoveringFor is { } c ? $", covering for {c}" : "")}.";
        return new CalendarEvent(Uid("shift", schedule, sh.FromUtc, sh.User, sh.Layer, sh.ViaOverride ? "o" : "r", sh.CoveringFor ?? ""),
            sh.FromUtc, sh.UntilUtc, summary, description);
    }

    /// <summary>Stable: the same shift (schedule, start, person, layer) has the same UID in every fetch.</summary>
    private static string Uid(string kind, string schedule, DateTime from, params string[] more)
    {
        var key = string.Join('\u001f', new[] { kind, schedule, from.ToString("O", CultureInfo.InvariantCulture) }.Concat(more));
        return $"{kind}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32]}@cprdesk";
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

public sealed record CalendarEvent(string Uid, DateTime From, DateTime To, string Summary, string Description);

/// <summary>A strict RFC 5545 writer for what the feeds need: CRLF lines folded at 75 octets, TEXT escaped, UTC times.</summary>
public static class ICalendar
{
    public const int MaxLineOctets = 75;

    public static string Write(string name, DateTime stampUtc, IEnumerable<CalendarEvent> events)
    {
        var sb = new StringBuilder();
        Line(sb, "BEGIN:VCALENDAR");
        Line(sb, "VERSION:2.0");
        Line(sb, "PRODID:-//CprDesk//On-call//EN");
        Line(sb, "CALSCALE:GREGORIAN");
        Line(sb, "METHOD:PUBLISH");
        Line(sb, "X-WR-CALNAME:" + Escape(name));
        foreach (var e in events)
        {
            Line(sb, "BEGIN:VEVENT");
            Line(sb, "UID:" + e.Uid);
            Line(sb, "DTSTAMP:" + Utc(stampUtc));
            Line(sb, "DTSTART:" + Utc(e.From));
            Line(sb, "DTEND:" + Utc(e.To));
            Line(sb, "SUMMARY:" + Escape(e.Summary));
            Line(sb, "DESCRIPTION:" + Escape(e.Description));
            Line(sb, "TRANSP:TRANSPARENT");
            Line(sb, "END:VEVENT");
        }
        Line(sb, "END:VCALENDAR");
        return sb.ToString();
    }

    /// <summary>RFC 5545 §3.3.5 form #2: UTC.</summary>
    public static string Utc(DateTime utc) => utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>§3.3.11: backslash, semicolon, comma and newline are escaped; other control characters are dropped.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text.Replace("\r\n", "\n"))
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case ';': sb.Append(@"\;"); break;
                case ',': sb.Append(@"\,"); break;
                case '\n' or '\r': sb.Append(@"\n"); break;
                case < ' ' or '\u007f': break;
                default: sb.Append(c); break;
            }
        return sb.ToString();
    }

    /// <summary>§3.1: lines longer than 75 octets are folded with CRLF and one space, never inside a UTF-8 sequence.</summary>
    private static void Line(StringBuilder sb, string line)
    {
        var octets = 0;
        var limit = MaxLineOctets;
        for (var i = 0; i < line.Length; i++)
        {
            var n = char.IsHighSurrogate(line[i]) && i + 1 < line.Length ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(line.AsSpan(i, n));
            if (octets + size > limit)
            {
                sb.Append("\r\n ");
                octets = 1; // the space counts towards the continuation line's 75 octets
            }
            sb.Append(line, i, n);
            octets += size;
            i += n - 1;
        }
        sb.Append("\r\n");
    }
}
