// iCalendar feeds through the real host, read with a strict RFC 5545 line parser: CRLF, folding at 75 octets,
// escaping, UTC times, stable UIDs, shifts across the Warsaw spring-forward, and a token that can be rotated.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.OnCall;

public sealed partial class CalendarFeedTests : IAsyncLifetime
{
    // Wednesday before the last Sunday of March 2026 (Warsaw springs forward 2026-03-29 01:00Z).
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 25, 12, 0, 0, TimeSpan.Zero));
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(time: _time);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private sealed record VEvent(Dictionary<string, string> Props);

    /// <summary>A strict reader: every line ends in CRLF, no physical line is over 75 octets, a continuation line starts
    /// with one space, components nest properly, and every event has the required properties in UTC.</summary>
    private static List<VEvent> Parse(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        Assert.EndsWith("\r\n", text);
        Assert.DoesNotMatch(BareLineBreak(), text);
        var physical = text[..^2].Split("\r\n");
        Assert.All(physical, l => Assert.True(Encoding.UTF8.GetByteCount(l) <= 75, $"line over 75 octets: {l}"));
        var logical = new List<string>();
        foreach (var l in physical)
        {
            if (l.StartsWith(' ')) { Assert.NotEmpty(logical); logical[^1] += l[1..]; }
            else logical.Add(l);
        }
        Assert.Equal("BEGIN:VCALENDAR", logical[0]);
        Assert.Equal("END:VCALENDAR", logical[^1]);
        Assert.Contains("VERSION:2.0", logical);
        Assert.Contains(logical, l => l.StartsWith("PRODID:", StringComparison.Ordinal));
        var events = new List<VEvent>();
        Dictionary<string, string>? current = null;
        foreach (var l in logical.Skip(1).SkipLast(1))
        {
            var m = ContentLine().Match(l);
            Assert.True(m.Success, $"not a content line: {l}");
            var (name, value) = (m.Groups[1].Value, m.Groups[3].Value);
            if (name == "BEGIN") { Assert.Null(current); Assert.Equal("VEVENT", value); current = []; continue; }
            if (name == "END") { Assert.NotNull(current); Assert.Equal("VEVENT", value); events.Add(new VEvent(current)); current = null; continue; }
            if (current is not null) { Assert.False(current.ContainsKey(name), $"{name} twice"); current[name] = value; }
        }
        Assert.Null(current);
        foreach (var e in events)
        {
            foreach (var p in new[] { "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY" }) Assert.True(e.Props.ContainsKey(p), $"event without {p}");
            foreach (var p in new[] { "DTSTAMP", "DTSTART", "DTEND" }) Assert.Matches(UtcTime(), e.Props[p]);
            Assert.True(Utc(e.Props["DTSTART"]) < Utc(e.Props["DTEND"]));
            // TEXT: a comma, semicolon or backslash must be escaped.
            Assert.DoesNotMatch(UnescapedText(), e.Props["SUMMARY"]);
        }
        return events;
    }

    private static DateTime Utc(string v) => DateTime.ParseExact(v, "yyyyMMdd'T'HHmmss'Z'", null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

    private static string Unescape(string v) => Regex.Replace(v, @"\\([\\;,nN])", m => m.Groups[1].Value is "n" or "N" ? "\n" : m.Groups[1].Value);

    [Fact]
    public async Task Feeds_list_shifts_in_UTC_across_the_Warsaw_DST_change_with_stable_UIDs_and_the_token_can_be_rotated()
    {
        var a = await _host.UserAsync(StaffRole.Staff);
        var b = await _host.UserAsync(StaffRole.Staff);
        var admin = await _host.UserAsync(StaffRole.Admin);
        // A long name with a comma, a semicolon and non-ASCII letters: escaped, and folded without splitting a UTF-8 sequence.
        const string schedule = "Dyżur CPR; Warszawa, zespół PKI — rotacja dzienna o bardzo długiej nazwie";
        using var adminClient = _host.Client(admin.Token);
        var put = await adminClient.PutAsync($"/api/v1/schedules/{Uri.EscapeDataString(schedule)}", JsonContent.Create(new
        {
            layers = new[] { new { name = "daily", priority = 0, participants = new[] { a.Username, b.Username }, shift = new { days = 1 }, handOff = "09:00", timeZone = "Europe/Warsaw", start = "2026-03-20" } },
        }));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

        using var client = _host.Client(a.Token);
        var rotated = await client.PostAsync("/api/v1/calendar-feed", null);
        Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        var links = await rotated.Content.ReadFromJsonAsync<JsonElement>();
        var personUrl = new Uri(links.GetProperty("person").GetString()!);
        var scheduleUrl = new Uri(Assert.Single(links.GetProperty("schedules").EnumerateArray()).GetString()!);

        using var anonymous = _host.Client(); // a calendar app: no cookie, no token header
        var response = await anonymous.GetAsync(personUrl.PathAndQuery + "?weeks=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/calendar", response.Content.Headers.ContentType!.MediaType);
        var mine = Parse(await response.Content.ReadAsByteArrayAsync());

        // Feed window: 2026-03-18 00:00Z to 2026-04-02 00:00Z. a has shift 0 (03-20), 2, 4, …: every other day.
        Assert.NotEmpty(mine);
        Assert.All(mine, e => Assert.Equal($"On call: {a.Username} ({schedule})", Unescape(e.Props["SUMMARY"])));
        Assert.Contains(@"Dyżur CPR\; Warszawa\, zespół", string.Concat(mine[0].Props["SUMMARY"]));
        var starts = mine.Select(e => Utc(e.Props["DTSTART"])).ToList();
        Assert.Equal(new DateTime(2026, 3, 20, 8, 0, 0, DateTimeKind.Utc), starts[0]);
        Assert.All(starts, s => Assert.Equal(s < new DateTime(2026, 3, 29, 1, 0, 0, DateTimeKind.Utc) ? 8 : 7, s.Hour)); // 09:00 Warsaw, CET then CEST
        Assert.Contains(starts, s => s.Hour == 7);
        var acrossDst = mine.Single(e => Utc(e.Props["DTSTART"]) == new DateTime(2026, 3, 28, 8, 0, 0, DateTimeKind.Utc));
        Assert.Equal(new DateTime(2026, 3, 29, 7, 0, 0, DateTimeKind.Utc), Utc(acrossDst.Props["DTEND"])); // a 23-hour shift
        Assert.Equal(mine.Count, mine.Select(e => e.Props["UID"]).Distinct().Count());

        // The schedule feed: both people, and the gap before the rotation starts, told apart.
        var all = Parse(await anonymous.GetByteArrayAsync(scheduleUrl.PathAndQuery + "?weeks=1"));
        Assert.Contains(all, e => Unescape(e.Props["SUMMARY"]).StartsWith($"On call: {b.Username}", StringComparison.Ordinal));
        var gap = Assert.Single(all, e => Unescape(e.Props["SUMMARY"]).StartsWith("NOBODY", StringComparison.Ordinal));
        Assert.Equal(new DateTime(2026, 3, 18, 0, 0, 0, DateTimeKind.Utc), Utc(gap.Props["DTSTART"]));
        Assert.Equal(new DateTime(2026, 3, 20, 8, 0, 0, DateTimeKind.Utc), Utc(gap.Props["DTEND"]));
        Assert.Equal(mine.Select(e => e.Props["UID"]).ToHashSet(), all.Where(e => e.Props["SUMMARY"].Contains(a.Username)).Select(e => e.Props["UID"]).ToHashSet());

        // Later the same day the same shifts have the same UIDs (calendar apps update, not duplicate).
        _time.Advance(TimeSpan.FromHours(6));
        var again = Parse(await anonymous.GetByteArrayAsync(personUrl.PathAndQuery + "?weeks=1"));
        Assert.Equal(mine.Select(e => e.Props["UID"]), again.Select(e => e.Props["UID"]));

        // Bad input, unknown schedule, wrong token.
        var bad = await anonymous.GetAsync(personUrl.PathAndQuery + "?weeks=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("weeks", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(personUrl.PathAndQuery.Replace("/me.ics", "/schedules/nope.ics"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/calendar/cprc_0000/me.ics")).StatusCode);

        // Rotating the token: the old links stop working, the new ones work.
        var second = await (await client.PostAsync("/api/v1/calendar-feed", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(personUrl.PathAndQuery)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(scheduleUrl.PathAndQuery)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri(second.GetProperty("person").GetString()!).PathAndQuery)).StatusCode);
        await using var db = _host.Service<Database>().Open();
        Assert.Equal(2, await db.AuditEvents.CountAsync(e => e.Type == "calendar-feed.rotated" && e.Actor == "user:" + a.Username));
        Assert.DoesNotContain(await db.CalendarFeedTokens.Select(t => t.TokenHash).ToListAsync(), h => h.Contains("cprc_"));
    }

    [GeneratedRegex("\r(?!\n)|(?<!\r)\n")]
    private static partial Regex BareLineBreak();

    [GeneratedRegex(@"^([A-Z][A-Z0-9-]*)(;[^:]*)?:(.*)$")]
    private static partial Regex ContentLine();

    [GeneratedRegex(@"^\d{8}T\d{6}Z$")]
    private static partial Regex UtcTime();

    [GeneratedRegex(@"(?<!\\)(\\\\)*[,;]|\\[^\\;,nN]")]
    private static partial Regex UnescapedText();
}
