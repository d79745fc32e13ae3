// Page models for managing on-call: the calendar, absences, overrides, schedules, contact methods and teams.
using System.Globalization;
using CprDesk.Access;
using CprDesk.OnCall;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff.OnCall;

public static class Form
{
    /// <summary>A datetime-local field, read as UTC (the pages say so next to each field).</summary>
    public static DateTime? Utc(string? value) =>
        DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    public static string Local(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);

    public static string Show(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    public static bool MayAct(this System.Security.Claims.ClaimsPrincipal u) => u.IsInRole(nameof(StaffRole.Admin)) || u.IsInRole(nameof(StaffRole.Staff));

    public static bool IsAdmin(this System.Security.Claims.ClaimsPrincipal u) => u.IsInRole(nameof(StaffRole.Admin));
}

/// <summary>One day of a schedule's calendar: who is on call when, and the gaps.</summary>
public sealed record CalendarDay(DateOnly Day, IReadOnlyList<(DateTime From, DateTime To, string? User, string? Note)> Segments)
{
    public bool HasGap => Segments.Any(s => s.User is null);
}

public sealed record ScheduleCalendar(string Name, OnCallAnswer Now, OnCallAnswer? Next, IReadOnlyList<CalendarDay> Days);

public sealed class IndexModel(OnCallStore store, TimeProvider time) : PageModel
{
    public const int Days = 28;
    public DateTime Now { get; private set; }
    public IReadOnlyList<ScheduleCalendar> Calendars { get; private set; } = [];

    public async Task OnGetAsync()
    {
        Now = time.GetUtcNow().UtcDateTime;
        var state = await store.LoadAsync();
        var first = Now.Date.AddDays(-(((int)Now.DayOfWeek + 6) % 7)); // the Monday of this week (UTC)
        var last = first.AddDays(Days);
        Calendars = state.Schedules.Select(sc =>
        {
            var now = OnCallCalculator.At(sc, state.Overrides, state.Absences, Now);
            var next = now.UntilUtc < Now + OnCallCalculator.Lookahead ? OnCallCalculator.At(sc, state.Overrides, state.Absences, now.UntilUtc) : null;
            var shifts = OnCallCalculator.Timeline(sc, state.Overrides, state.Absences, first, last)
                .Select(s => (s.FromUtc, s.UntilUtc, (string?)s.User, s.ViaOverride ? "override" : s.CoveringFor is { } c ? $"for {c}" : (string?)null));
            var gaps = OnCallCalculator.CoverageGaps(sc, state.Overrides, state.Absences, first, last).Select(g => (g.FromUtc, g.ToUtc, (string?)null, (string?)null));
            var all = shifts.Concat(gaps).OrderBy(x => x.Item1).ToList();
            var days = Enumerable.Range(0, Days).Select(i =>
            {
                var (d0, d1) = (first.AddDays(i), first.AddDays(i + 1));
                var parts = all.Where(x => x.Item2 > d0 && x.Item1 < d1)
                    .Select(x => (x.Item1 < d0 ? d0 : x.Item1, x.Item2 > d1 ? d1 : x.Item2, x.Item3, x.Item4)).ToList();
                return new CalendarDay(DateOnly.FromDateTime(d0), parts);
            }).ToList();
            return new ScheduleCalendar(sc.Name, now, next, days);
        }).ToList();
    }
}

public sealed class AbsencesModel(OnCallStore store) : PageModel
{
    public IReadOnlyList<StoredAbsence> Absences { get; private set; } = [];
    public IReadOnlyList<ScheduleGap> Gaps { get; private set; } = [];
    public string? Error { get; private set; }
    public string? Saved { get; private set; }
    [BindProperty] public long? EditId { get; set; }
    [BindProperty] public string? UserName { get; set; }
    [BindProperty] public string? From { get; set; }
    [BindProperty] public string? To { get; set; }
    [BindProperty] public string? Reason { get; set; }

    public async Task OnGetAsync(long? edit)
    {
        Absences = await store.ListAbsencesAsync();
        UserName = User.Identity?.Name;
        if (edit is { } id && Absences.FirstOrDefault(a => a.Id == id) is { } a)
            (EditId, UserName, From, To, Reason) = (a.Id, a.User, Form.Local(a.From), Form.Local(a.To), a.Reason);
    }

    public async Task<IActionResult> OnPostSaveAsync(bool confirm)
    {
        if (!User.MayAct()) return Forbid();
        if (!User.IsAdmin() && UserName != User.Identity?.Name) { Error = "Only an admin may record another person's absence."; return await PageAsync(); }
        try
        {
            var (saved, gaps) = await store.AddAbsenceAsync(User.Actor(), UserName, Form.Utc(From), Form.Utc(To), Reason, confirm, EditId,
                u => User.IsAdmin() || u == User.Identity?.Name);
            Saved = $"Saved the absence of {saved.User} from {Form.Show(saved.From)} to {Form.Show(saved.To)} UTC" + (gaps.Count > 0 ? $"; it leaves {gaps.Count} coverage gap(s), the admins are told." : ".");
            (EditId, From, To, Reason) = (null, null, null, null);
        }
        catch (DeskException ex) when (OnCallStore.GapsOf(ex) is { } gaps)
        {
            Gaps = gaps; // shown with a "save anyway" button carrying the same values
        }
        catch (DeskException ex) { Error = $"{ex.Field}: {ex.Message}"; }
        catch (UnauthorizedAccessException ex) { Error = ex.Message; }
        return await PageAsync();
    }

    public async Task<IActionResult> OnPostDeleteAsync(long id)
    {
        if (!User.MayAct()) return Forbid();
        try { await store.RemoveAbsenceAsync(User.Actor(), id, u => User.IsAdmin() || u == User.Identity?.Name); Saved = $"Removed absence {id}."; }
        catch (DeskException ex) { Error = ex.Message; }
        catch (UnauthorizedAccessException ex) { Error = ex.Message; }
        return await PageAsync();
    }

    private async Task<IActionResult> PageAsync()
    {
        Absences = await store.ListAbsencesAsync();
        return Page();
    }
}

public sealed class OverridesModel(OnCallStore store) : PageModel
{
    public IReadOnlyList<StoredOverride> Overrides { get; private set; } = [];
    public IReadOnlyList<string> Schedules { get; private set; } = [];
    public string? Error { get; private set; }
    public string? Saved { get; private set; }
    [BindProperty] public long? EditId { get; set; }
    [BindProperty] public string? Schedule { get; set; }
    [BindProperty] public string? UserName { get; set; }
    [BindProperty] public string? From { get; set; }
    [BindProperty] public string? To { get; set; }

    public async Task OnGetAsync(long? edit)
    {
        await LoadAsync();
        if (edit is { } id && Overrides.FirstOrDefault(o => o.Id == id) is { } o)
            (EditId, Schedule, UserName, From, To) = (o.Id, o.Schedule, o.User, Form.Local(o.From), Form.Local(o.To));
    }

    public async Task<IActionResult> OnPostSaveAsync()
    {
        if (!User.MayAct()) return Forbid();
        try
        {
            var o = EditId is { } id
                ? await store.UpdateOverrideAsync(User.Actor(), id, Schedule, UserName, Form.Utc(From), Form.Utc(To))
                : await store.AddOverrideAsync(User.Actor(), Schedule, UserName, Form.Utc(From), Form.Utc(To));
            Saved = $"Saved: {o.User} covers {o.Schedule} from {Form.Show(o.From)} to {Form.Show(o.To)} UTC.";
            (EditId, From, To, UserName) = (null, null, null, null);
        }
        catch (DeskException ex) { Error = $"{ex.Field}: {ex.Message}"; }
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(long id)
    {
        if (!User.MayAct()) return Forbid();
        try { await store.RemoveOverrideAsync(User.Actor(), id); Saved = $"Removed override {id}."; }
        catch (DeskException ex) { Error = ex.Message; }
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Overrides = await store.ListOverridesAsync();
        Schedules = (await store.ListSchedulesAsync()).Select(s => s.Name).ToList();
    }
}

public sealed class SchedulesModel(OnCallStore store) : PageModel
{
    public IReadOnlyList<StoredSchedule> Schedules { get; private set; } = [];
    public string? Error { get; private set; }
    public string? Saved { get; private set; }
    [BindProperty] public string? Name { get; set; }
    [BindProperty] public string? Layers { get; set; }
    [BindProperty] public string? TeamWebhook { get; set; }

    public static string Example => ScheduleDefinition.Serialize([new LayerSpec("primary", 0, ["alice", "bob"], new ShiftSpec(7, null), "09:00", "Europe/Warsaw", "2026-01-05", null)]);

    public async Task OnGetAsync(string? edit)
    {
        Schedules = await store.ListSchedulesAsync();
        if (Schedules.FirstOrDefault(s => s.Name == edit) is { } s)
            (Name, Layers, TeamWebhook) = (s.Name, System.Text.Json.JsonSerializer.Serialize(s.Layers, new System.Text.Json.JsonSerializerOptions(ScheduleDefinition.Json) { WriteIndented = true }), s.TeamWebhook);
        else Layers = Example;
    }

    public async Task<IActionResult> OnPostSaveAsync()
    {
        if (!User.IsAdmin()) return Forbid();
        try
        {
            List<LayerSpec>? layers;
            try { layers = System.Text.Json.JsonSerializer.Deserialize<List<LayerSpec>>(Layers ?? "", ScheduleDefinition.Json); }
            catch (System.Text.Json.JsonException ex) { throw DeskException.Invalid("layers", $"The layers are not valid JSON: {ex.Message.Split('\n')[0]}"); }
            var s = await store.PutScheduleAsync(User.Actor(), Name?.Trim() ?? "", new ScheduleBody(layers, TeamWebhook));
            Saved = $"Saved schedule {s.Name}.";
        }
        catch (DeskException ex) { Error = $"{ex.Field}: {ex.Message}"; }
        Schedules = await store.ListSchedulesAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(string name)
    {
        if (!User.IsAdmin()) return Forbid();
        try { await store.RemoveScheduleAsync(User.Actor(), name); Saved = $"Deleted schedule {name} and its overrides."; }
        catch (DeskException ex) { Error = ex.Message; }
        Schedules = await store.ListSchedulesAsync();
        Layers = Example;
        return Page();
    }
}

public sealed class ContactsModel(ContactStore contacts, CalendarFeeds feeds, OnCallStore store, Access.Accounts accounts) : PageModel
{
    public string Person { get; private set; } = "";
    public IReadOnlyList<ContactMethod> Methods { get; private set; } = [];
    public IReadOnlyList<string> People { get; private set; } = [];
    public IReadOnlyList<Team> Teams { get; private set; } = [];
    public DateTime? FeedIssuedAt { get; private set; }
    public Web.Api.FeedLinks? NewFeed { get; private set; }
    public string? Error { get; private set; }
    public string? Saved { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? user) => await LoadAsync(user);

    public async Task<IActionResult> OnPostAddAsync(string? user, string? kind, string? target, string? label)
    {
        if (!MayManage(user)) return Forbid();
        try { await contacts.AddAsync(User.Actor(), Who(user), new ContactMethodBody(kind, target, label, null)); Saved = "Contact method added."; }
        catch (DeskException ex) { Error = $"{ex.Field}: {ex.Message}"; }
        return await LoadAsync(user);
    }

    public async Task<IActionResult> OnPostUpdateAsync(string? user, long id, string? kind, string? target, string? label, int? position)
    {
        if (!MayManage(user)) return Forbid();
        try { await contacts.UpdateAsync(User.Actor(), Who(user), id, new ContactMethodBody(kind, target, label, position)); Saved = "Contact method saved."; }
        catch (DeskException ex) { Error = $"{ex.Field}: {ex.Message}"; }
        return await LoadAsync(user);
    }

    public async Task<IActionResult> OnPostRemoveAsync(string? user, long id)
    {
        if (!MayManage(user)) return Forbid();
        try { await contacts.RemoveAsync(User.Actor(), Who(user), id); Saved = "Contact method removed."; }
        catch (DeskException ex) { Error = ex.Message; }
        return await LoadAsync(user);
    }

    public async Task<IActionResult> OnPostTeamAsync(string? team, string? channelWebhook, string? members)
    {
        if (!User.IsAdmin()) return Forbid();
        try
        {
            var list = (members ?? "").Split([',', ' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            await contacts.PutTeamAsync(User.Actor(), team ?? "", new TeamBody(channelWebhook, list));
            Saved = $"Team {team} saved.";
        }
        catch (DeskException ex) { Error = $"{ex.Field}: {ex.Message}"; }
        return await LoadAsync(null);
    }

    public async Task<IActionResult> OnPostRemoveTeamAsync(string team)
    {
        if (!User.IsAdmin()) return Forbid();
        try { await contacts.RemoveTeamAsync(User.Actor(), team); Saved = $"Team {team} removed."; }
        catch (DeskException ex) { Error = ex.Message; }
        return await LoadAsync(null);
    }

    public async Task<IActionResult> OnPostFeedAsync()
    {
        var token = await feeds.RotateAsync(User.Actor(), User.Identity!.Name!);
        NewFeed = await Web.Api.OnCallManagementApi.LinksAsync(HttpContext, token, store);
        return await LoadAsync(null);
    }

    private string Who(string? user) => string.IsNullOrEmpty(user) ? User.Identity!.Name! : user;

    private bool MayManage(string? user) => User.IsAdmin() || Who(user) == User.Identity?.Name;

    private async Task<IActionResult> LoadAsync(string? user)
    {
        if (!MayManage(user)) return Forbid();
        Person = Who(user);
        try { Methods = await contacts.ListAsync(Person); }
        catch (DeskException ex) { Error = ex.Message; }
        if (User.IsAdmin()) People = (await accounts.ListAsync()).Where(u => !u.Disabled).Select(u => u.Username).ToList();
        Teams = await contacts.ListTeamsAsync();
        FeedIssuedAt = await feeds.IssuedAtAsync(User.Identity!.Name!);
        return Page();
    }
}
