// People's contact methods and teams with their channels: validated writes, each one audited, and the lookups the
// escalation engine uses to reach a person.
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.OnCall;

public sealed record ContactMethod(long Id, string User, string Kind, string Target, string? Label, int Position);

public sealed record ContactMethodBody(string? Kind, string? Target, string? Label, int? Position);

public sealed record Team(string Name, string? ChannelWebhook, IReadOnlyList<string> Members);

public sealed record TeamBody(string? ChannelWebhook, IReadOnlyList<string>? Members);

/// <summary>Where one notification goes: a method of a person (<see cref="MethodId"/> null for the account's own
/// email or webhook when the person has no methods), or a team channel (<see cref="User"/> null).</summary>
public sealed record Destination(long? MethodId, string? User, string? DisplayName, string Kind, string Target);

public sealed class ContactStore(Database database, TimeProvider time)
{
    public const int MaxMethodsPerPerson = 20;

    public async Task<IReadOnlyList<ContactMethod>> ListAsync(string username)
    {
        await using var db = database.Open();
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Username == username)
            ?? throw DeskException.NotFound($"No user '{username}'.");
        return (await db.ContactMethods.AsNoTracking().Where(m => m.UserId == user.Id).OrderBy(m => m.Position).ThenBy(m => m.Id).ToListAsync())
            .Select(m => View(m, username)).ToList();
    }

    public Task<ContactMethod> AddAsync(string actor, string username, ContactMethodBody? body) => database.WriteAsync(time, async s =>
    {
        var (kind, target, label) = Validate(body);
        var user = await FindUserAsync(s.Db, username);
        var existing = await s.Db.ContactMethods.Where(m => m.UserId == user.Id).ToListAsync();
        if (existing.Count >= MaxMethodsPerPerson) throw DeskException.Invalid("target", $"A person has at most {MaxMethodsPerPerson} contact methods.");
        if (existing.Any(m => m.Kind == kind && m.Target == target)) throw DeskException.Conflict($"{username} already has the {kind} {target}.");
        var row = new ContactMethodRow
        {
            UserId = user.Id, Kind = kind, Target = target, Label = label, CreatedAt = s.Now, UpdatedAt = s.Now,
            Position = body!.Position ?? (existing.Count == 0 ? 0 : existing.Max(m => m.Position) + 1),
        };
        s.Db.ContactMethods.Add(row);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "contact-method.added", null, new { id = row.Id, user = username, kind, target, label, position = row.Position });
        return View(row, username);
    });

    public Task<ContactMethod> UpdateAsync(string actor, string username, long id, ContactMethodBody? body) => database.WriteAsync(time, async s =>
    {
        var (kind, target, label) = Validate(body);
        var user = await FindUserAsync(s.Db, username);
        var row = await s.Db.ContactMethods.FirstOrDefaultAsync(m => m.Id == id && m.UserId == user.Id)
            ?? throw DeskException.NotFound($"{username} has no contact method {id}.");
        if (await s.Db.ContactMethods.AnyAsync(m => m.UserId == user.Id && m.Id != id && m.Kind == kind && m.Target == target))
            throw DeskException.Conflict($"{username} already has the {kind} {target}.");
        var before = new { row.Kind, row.Target, row.Label, row.Position };
        (row.Kind, row.Target, row.Label, row.Position, row.UpdatedAt) = (kind, target, label, body!.Position ?? row.Position, s.Now);
        await s.AuditAsync(actor, "contact-method.changed", null, new { id, user = username, before, after = new { kind, target, label, row.Position } });
        return View(row, username);
    });

    public Task<ContactMethod> RemoveAsync(string actor, string username, long id) => database.WriteAsync(time, async s =>
    {
        var user = await FindUserAsync(s.Db, username);
        var row = await s.Db.ContactMethods.FirstOrDefaultAsync(m => m.Id == id && m.UserId == user.Id)
            ?? throw DeskException.NotFound($"{username} has no contact method {id}.");
        s.Db.ContactMethods.Remove(row);
        await s.AuditAsync(actor, "contact-method.removed", null, new { id, user = username, row.Kind, row.Target });
        return View(row, username);
    });

    public async Task<IReadOnlyList<Team>> ListTeamsAsync()
    {
        await using var db = database.Open();
        var teams = await db.Teams.AsNoTracking().OrderBy(t => t.Name).ToListAsync();
        var members = await (from m in db.TeamMembers join u in db.Users on m.UserId equals u.Id select new { m.TeamId, u.Username }).ToListAsync();
        return teams.Select(t => new Team(t.Name, t.ChannelWebhook, members.Where(m => m.TeamId == t.Id).Select(m => m.Username).Order(StringComparer.Ordinal).ToList())).ToList();
    }

    public Task<Team> PutTeamAsync(string actor, string name, TeamBody? body) => database.WriteAsync(time, async s =>
    {
        name = name?.Trim() ?? "";
        if (name.Length is 0 or > 100) throw DeskException.Invalid("name", "A team name is 1 to 100 characters.");
        if (body is null) throw DeskException.Invalid("body", "The body must be a team: {channelWebhook, members:[...]}.");
        var hook = string.IsNullOrWhiteSpace(body.ChannelWebhook) ? null : body.ChannelWebhook.Trim();
        if (hook is not null && !WebhookTransport.IsValidUrl(hook)) throw DeskException.Invalid("channelWebhook", "channelWebhook must be an absolute http(s) URL.");
        var names = body.Members ?? [];
        var ids = new List<long>();
        for (var i = 0; i < names.Count; i++)
        {
            var u = await s.Db.Users.AsNoTracking().FirstOrDefaultAsync(x => x.Username == names[i] && !x.Disabled)
                ?? throw DeskException.Invalid($"members[{i}]", $"'{names[i]}' is not an active staff account.");
            if (!ids.Contains(u.Id)) ids.Add(u.Id);
        }
        var row = await s.Db.Teams.FirstOrDefaultAsync(t => t.Name == name);
        var created = row is null;
        if (row is null)
        {
            row = new TeamRow { Name = name, CreatedAt = s.Now };
            s.Db.Teams.Add(row);
        }
        row.ChannelWebhook = hook;
        row.UpdatedAt = s.Now;
        await s.Db.SaveChangesAsync();
        s.Db.TeamMembers.RemoveRange(await s.Db.TeamMembers.Where(m => m.TeamId == row.Id).ToListAsync());
        foreach (var id in ids) s.Db.TeamMembers.Add(new TeamMemberRow { TeamId = row.Id, UserId = id });
        var members = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        await s.AuditAsync(actor, "team.saved", null, new { team = name, created, channelWebhook = hook, members });
        return new Team(name, hook, members);
    });

    public Task<Team> RemoveTeamAsync(string actor, string name) => database.WriteAsync(time, async s =>
    {
        var row = await s.Db.Teams.FirstOrDefaultAsync(t => t.Name == name) ?? throw DeskException.NotFound($"No team '{name}'.");
        s.Db.TeamMembers.RemoveRange(await s.Db.TeamMembers.Where(m => m.TeamId == row.Id).ToListAsync());
        s.Db.Teams.Remove(row);
        await s.AuditAsync(actor, "team.removed", null, new { team = name, row.ChannelWebhook });
        return new Team(name, row.ChannelWebhook, []);
    });

    /// <summary>Every method of each person, in order. A person with no methods is reached at the account's email and
    /// webhook, so that nobody becomes unreachable by removing their last method.</summary>
    public static async Task<IReadOnlyList<Destination>> DestinationsAsync(CprDeskDb db, IReadOnlyList<StaffUser> people)
    {
        var ids = people.Select(p => p.Id).ToList();
        var methods = await db.ContactMethods.AsNoTracking().Where(m => ids.Contains(m.UserId)).OrderBy(m => m.Position).ThenBy(m => m.Id).ToListAsync();
        var result = new List<Destination>();
        foreach (var p in people)
        {
            var mine = methods.Where(m => m.UserId == p.Id).ToList();
            if (mine.Count > 0)
                result.AddRange(mine.Select(m => new Destination(m.Id, p.Username, p.DisplayName, m.Kind, m.Target)));
            else
            {
                if (!string.IsNullOrWhiteSpace(p.Email)) result.Add(new Destination(null, p.Username, p.DisplayName, ContactMethodRow.Email, p.Email));
                if (!string.IsNullOrWhiteSpace(p.WebhookUrl)) result.Add(new Destination(null, p.Username, p.DisplayName, ContactMethodRow.Webhook, p.WebhookUrl));
            }
        }
        return result;
    }

    /// <summary>Team channels told at "team" steps: every team's channel and every schedule's team webhook.</summary>
    public static async Task<IReadOnlyList<string>> TeamChannelsAsync(CprDeskDb db)
    {
        var schedules = await db.Schedules.AsNoTracking().Where(x => x.TeamWebhook != null).Select(x => x.TeamWebhook!).ToListAsync();
        var teams = await db.Teams.AsNoTracking().Where(x => x.ChannelWebhook != null).Select(x => x.ChannelWebhook!).ToListAsync();
        return schedules.Concat(teams).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Called when an account is created with an email or webhook: they become its first methods.</summary>
    public static void AddInitial(WriteScope s, StaffUser user)
    {
        var position = 0;
        if (!string.IsNullOrWhiteSpace(user.Email))
            s.Db.ContactMethods.Add(new ContactMethodRow { UserId = user.Id, Kind = ContactMethodRow.Email, Target = user.Email, Position = position++, CreatedAt = s.Now, UpdatedAt = s.Now });
        if (!string.IsNullOrWhiteSpace(user.WebhookUrl))
            s.Db.ContactMethods.Add(new ContactMethodRow { UserId = user.Id, Kind = ContactMethodRow.Webhook, Target = user.WebhookUrl, Position = position, CreatedAt = s.Now, UpdatedAt = s.Now });
    }

    private static (string Kind, string Target, string? Label) Validate(ContactMethodBody? body)
    {
        if (body is null) throw DeskException.Invalid("body", "The body must be a contact method: {kind, target, label?, position?}.");
        var kind = body.Kind?.Trim().ToLowerInvariant();
        if (kind is not (ContactMethodRow.Email or ContactMethodRow.Webhook)) throw DeskException.Invalid("kind", "kind must be email or webhook.");
        var target = body.Target?.Trim() ?? "";
        if (kind == ContactMethodRow.Email) target = ReportDesk.RequireEmail("target", target);
        else if (target.Length > 2000 || !WebhookTransport.IsValidUrl(target)) throw DeskException.Invalid("target", "A webhook target must be an absolute http(s) URL.");
        var label = string.IsNullOrWhiteSpace(body.Label) ? null : body.Label.Trim();
        if (label is { Length: > 100 }) throw DeskException.Invalid("label", "label is at most 100 characters.");
        if (body.Position is < 0 or > 1000) throw DeskException.Invalid("position", "position is a whole number from 0 to 1000.");
        return (kind, target, label);
    }

    private static async Task<StaffUser> FindUserAsync(CprDeskDb db, string username) =>
        await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Username == username) ?? throw DeskException.NotFound($"No user '{username}'.");

    private static ContactMethod View(ContactMethodRow m, string user) => new(m.Id, user, m.Kind, m.Target, m.Label, m.Position);
}
