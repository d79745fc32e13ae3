// Group aliases: each member compared with the staff accounts and the absences. A member who is not staff, is
// disabled, or is away for the whole of the next 7 days is a reader the alias relies on in vain.
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

/// <param name="Problem">not-staff, disabled, absent; null when the member is fine.</param>
public sealed record AliasMember(string Address, string? Username, string? Problem, string? Detail);

public sealed record AliasCheck(string Alias, IReadOnlyList<AliasMember> Members)
{
    /// <summary>Nobody on the alias would read a CPR in the coming week.</summary>
    public bool NobodyReads => Members.All(m => m.Problem is not null);
}

public sealed class AliasRoster(Database database, TimeProvider time)
{
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(7);

    public async Task<IReadOnlyList<AliasCheck>> CheckAsync()
    {
        var now = time.GetUtcNow().UtcDateTime;
        var until = now + Horizon;
        await using var db = database.Open();
        var aliases = await db.Channels.AsNoTracking().Where(c => c.GroupAlias).OrderBy(c => c.Address).ToListAsync();
        var users = await db.Users.AsNoTracking().Where(u => u.Email != null).ToListAsync();
        var absences = await db.Absences.AsNoTracking().Where(a => a.ToAt > now && a.FromAt < until).ToListAsync();
        var onRoster = (await db.Schedules.AsNoTracking().Select(s => s.Definition).ToListAsync());
        return aliases.Select(a => new AliasCheck(a.Address, a.AliasMembers.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(address =>
        {
            var user = users.FirstOrDefault(u => string.Equals(u.Email, address, StringComparison.OrdinalIgnoreCase));
            if (user is null) return new AliasMember(address, null, "not-staff", "no staff account has this address");
            if (user.Disabled) return new AliasMember(address, user.Username, "disabled", "the staff account is disabled");
            if (AwayThroughout(absences.Where(x => x.Username == user.Username).ToList(), now, until) is { } back)
                return new AliasMember(address, user.Username, "absent", $"absent for the next 7 days (back {back:yyyy-MM-dd HH:mm} UTC)");
            var rostered = onRoster.Any(d => d.Contains($"\"{user.Username}\"", StringComparison.Ordinal));
            return new AliasMember(address, user.Username, null, rostered ? "on an on-call schedule" : "staff, not on an on-call schedule");
        }).ToList())).ToList();
    }

    /// <summary>When the absences cover [from, to) without a break, the end of the covering stretch.</summary>
    private static DateTime? AwayThroughout(List<AbsenceRow> absences, DateTime from, DateTime to)
    {
        var reach = from;
        foreach (var a in absences.OrderBy(a => a.FromAt))
        {
            if (a.FromAt > reach) break;
            if (a.ToAt > reach) reach = a.ToAt;
        }
        return reach >= to ? reach : null;
    }
}
