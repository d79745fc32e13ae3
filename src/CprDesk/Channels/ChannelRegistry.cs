// The registry of published channels: every way a reporter is told to send a CPR. Every change is audited.
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Channels;

/// <summary>What a person gives to add or change a channel. Null leaves a field as it is (on change).</summary>
public sealed record ChannelInput(
    string? Address, string? Kind = null, string? Owner = null, string? Purpose = null, IReadOnlyList<string>? PublishedIn = null,
    string? Route = null, int? MaxSilenceHours = null, bool? GroupAlias = null, IReadOnlyList<string>? AliasMembers = null,
    bool? CanaryEnabled = null, int? CanaryEveryMinutes = null, int? LateAfterMinutes = null);

public sealed class ChannelRegistry(Database database, TimeProvider time)
{
    public static readonly string[] Kinds = ["email", "web-form", "api"];
    public static readonly string[] Places = ["cps", "website", "ccadb-prm", "ccadb-alias1", "ccadb-alias2"];
    public static readonly string[] Routes = ["smtp-relay", "mailbox-poll", "pipe", "web"];

    public async Task<IReadOnlyList<ChannelRow>> ListAsync()
    {
        await using var db = database.Open();
        return await db.Channels.AsNoTracking().OrderBy(c => c.Kind).ThenBy(c => c.Address).ToListAsync();
    }

    public async Task<ChannelRow?> FindAsync(string idOrAddress)
    {
        await using var db = database.Open();
        return await FindAsync(db, idOrAddress);
    }

    private static async Task<ChannelRow?> FindAsync(CprDeskDb db, string idOrAddress)
    {
        var key = Normalise(idOrAddress.Trim());
        if (long.TryParse(idOrAddress, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            return await db.Channels.FirstOrDefaultAsync(c => c.Id == id);
        return await db.Channels.FirstOrDefaultAsync(c => c.Address == key);
    }

    public Task<ChannelRow> AddAsync(string actor, ChannelInput input) => database.WriteAsync(time, async s =>
    {
        var address = Normalise(input.Address?.Trim() ?? "");
        var kind = input.Kind?.Trim().ToLowerInvariant() ?? (IsUrl(address) ? "web-form" : "email");
        var row = new ChannelRow { Kind = kind, Address = address, CreatedAt = s.Now, UpdatedAt = s.Now };
        Apply(row, input with { Address = null, Kind = null });
        if (input.Route is null) row.Route = kind == "email" ? "smtp-relay" : "web";
        Validate(row);
        if (await s.Db.Channels.AnyAsync(c => c.Address == row.Address))
            throw DeskException.Conflict($"The channel {row.Address} is already in the registry.");
        row.NextCanaryAt = row.CanaryEnabled ? s.Now : null;
        s.Db.Channels.Add(row);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "channel.added", null, Describe(row));
        return row;
    });

    public Task<ChannelRow> UpdateAsync(string actor, string idOrAddress, ChannelInput input) => database.WriteAsync(time, async s =>
    {
        var row = await FindAsync(s.Db, idOrAddress) ?? throw DeskException.NotFound($"No channel {idOrAddress} in the registry.");
        var before = Describe(row);
        Apply(row, input);
        Validate(row);
        row.UpdatedAt = s.Now;
        if (!row.CanaryEnabled) row.NextCanaryAt = null;
        else row.NextCanaryAt ??= s.Now;
        await s.AuditAsync(actor, "channel.changed", null, new { before, after = Describe(row) });
        return row;
    });

    public Task RemoveAsync(string actor, string idOrAddress) => database.WriteAsync(time, async s =>
    {
        var row = await FindAsync(s.Db, idOrAddress) ?? throw DeskException.NotFound($"No channel {idOrAddress} in the registry.");
        s.Db.Channels.Remove(row);
        await s.AuditAsync(actor, "channel.removed", null, Describe(row));
        return true;
    });

    private static void Apply(ChannelRow row, ChannelInput i)
    {
        if (i.Address is not null) row.Address = Normalise(i.Address.Trim());
        if (i.Kind is not null) row.Kind = i.Kind.Trim().ToLowerInvariant();
        if (i.Owner is not null) row.Owner = Blank(i.Owner);
        if (i.Purpose is not null) row.Purpose = Blank(i.Purpose);
        if (i.PublishedIn is not null)
        {
            var places = i.PublishedIn.SelectMany(p => p.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries)).Select(p => p.ToLowerInvariant()).Distinct().ToList();
            foreach (var p in places)
                if (!Places.Contains(p)) throw DeskException.Invalid("publishedIn", $"'{p}' is not a place a channel is published; use {string.Join(", ", Places)}.");
            row.PublishedIn = string.Join(' ', places);
        }
        if (i.Route is not null) row.Route = i.Route.Trim().ToLowerInvariant();
        if (i.MaxSilenceHours is { } h) row.MaxSilenceHours = h == 0 ? null : h;
        if (i.GroupAlias is { } g) row.GroupAlias = g;
        if (i.AliasMembers is not null)
        {
            var members = i.AliasMembers.SelectMany(m => m.Split([',', ' ', ';', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries))
                .Select(m => m.Trim().ToLowerInvariant()).Where(m => m.Length > 0 && !m.StartsWith('#')).Distinct().ToList();
            foreach (var m in members)
                if (!System.Net.Mail.MailAddress.TryCreate(m, out _)) throw DeskException.Invalid("aliasMembers", $"'{m}' is not an email address.");
            row.AliasMembers = string.Join(' ', members);
            if (members.Count > 0) row.GroupAlias = true;
        }
        if (i.CanaryEnabled is { } e) row.CanaryEnabled = e;
        if (i.CanaryEveryMinutes is { } every) row.CanaryEveryMinutes = every;
        if (i.LateAfterMinutes is { } late) row.LateAfterMinutes = late;
    }

    private static void Validate(ChannelRow row)
    {
        if (!Kinds.Contains(row.Kind)) throw DeskException.Invalid("kind", $"kind must be one of {string.Join(", ", Kinds)}.");
        if (row.Kind == "email")
        {
            if (!ChannelText.IsEmail(row.Address)) throw DeskException.Invalid("address", $"'{row.Address}' is not an email address.");
        }
        else if (!IsUrl(row.Address)) throw DeskException.Invalid("address", $"'{row.Address}' is not an http(s) URL.");
        if (!Routes.Contains(row.Route)) throw DeskException.Invalid("route", $"route must be one of {string.Join(", ", Routes)}.");
        if (row.Kind != "email" && row.Route != "web") throw DeskException.Invalid("route", "A web form or API channel reaches CprDesk by the route 'web'.");
        if (row.Kind == "email" && row.Route == "web") throw DeskException.Invalid("route", "An email channel reaches CprDesk by smtp-relay, mailbox-poll or pipe.");
        if (row.MaxSilenceHours is < 1 or > 24 * 366) throw DeskException.Invalid("maxSilenceHours", "maxSilenceHours must be 1 to 8784 (or 0 for none).");
        if (row.CanaryEveryMinutes is < 5 or > 60 * 24 * 31) throw DeskException.Invalid("canaryEveryMinutes", "canaryEveryMinutes must be 5 to 44640.");
        if (row.LateAfterMinutes is < 1 or > 60 * 24 * 7) throw DeskException.Invalid("lateAfterMinutes", "lateAfterMinutes must be 1 to 10080.");
        if (row.GroupAlias && row.Kind != "email") throw DeskException.Invalid("groupAlias", "Only an email address can be a group alias.");
        if (row.Owner is { Length: > 200 } || row.Purpose is { Length: > 1000 }) throw DeskException.Invalid("owner", "owner (200) or purpose (1000) is too long.");
    }

    /// <summary>The intake channel (as intake health counts messages: email, imap, web-form, api) a published channel arrives on.</summary>
    public static string IntakeChannel(ChannelRow r) => r.Kind switch
    {
        "email" => r.Route == "mailbox-poll" ? Intake.IntakePipeline.ImapChannel : Intake.IntakePipeline.EmailChannel,
        "api" => "api",
        _ => "web-form",
    };

    /// <summary>The registry's expected maximum silences, per intake channel, for the silence alarm. Several published
    /// channels may share an intake channel (two addresses through the same SMTP listener): the shortest wins, because
    /// the shared channel silent that long means the channel with that limit has been silent at least that long.</summary>
    public async Task<IReadOnlyDictionary<string, TimeSpan>> ExpectedSilenceAsync(CancellationToken ct = default)
    {
        await using var db = database.Open();
        var rows = await db.Channels.AsNoTracking().Where(c => c.MaxSilenceHours != null).ToListAsync(ct);
        return rows.GroupBy(IntakeChannel, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => TimeSpan.FromHours(g.Min(c => c.MaxSilenceHours!.Value)), StringComparer.Ordinal);
    }

    public static object Describe(ChannelRow r) => new
    {
        r.Id, r.Kind, r.Address, r.Owner, r.Purpose, r.PublishedIn, r.Route, r.MaxSilenceHours, r.GroupAlias, r.AliasMembers,
        r.CanaryEnabled, r.CanaryEveryMinutes, r.LateAfterMinutes,
    };

    public static string Normalise(string address) => IsUrl(address) ? ChannelText.NormaliseUrl(address) : address.ToLowerInvariant();

    public static bool IsUrl(string s) =>
        Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && !string.IsNullOrEmpty(u.Host);

    private static string? Blank(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
