// Group aliases against staff and absences: who on the alias would actually read a CPR next week.
using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Storage;
using CprDesk.Tests.Support;

namespace CprDesk.Tests.Channels;

public sealed class AliasRosterTests : IAsyncLifetime
{
    private readonly Desk _desk = new();

    public Task InitializeAsync() => _desk.InitializeAsync();

    public Task DisposeAsync()
    {
        _desk.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Members_who_are_not_staff_disabled_or_away_all_week_are_flagged()
    {
        var accounts = new Accounts(_desk.Database, _desk.Time);
        await accounts.CreateAsync("test", "alice", StaffRole.Staff, "alice@ca.example", null);
        await accounts.CreateAsync("test", "bob", StaffRole.Staff, "bob@ca.example", null);
        await accounts.CreateAsync("test", "carol", StaffRole.Staff, "carol@ca.example", null);
        await accounts.CreateAsync("test", "dave", StaffRole.Staff, "dave@ca.example", null);
        await accounts.DisableAsync("test", "bob");
        var now = _desk.Now;
        await _desk.Database.WriteAsync(_desk.Time, async s =>
        {
            // carol: away the whole week in two back-to-back absences; dave: away only for three days.
            s.Db.Absences.Add(new AbsenceRow { Username = "carol", FromAt = now.AddDays(-1), ToAt = now.AddDays(4), Reason = "leave", CreatedBy = "test", CreatedAt = now });
            s.Db.Absences.Add(new AbsenceRow { Username = "carol", FromAt = now.AddDays(4), ToAt = now.AddDays(10), Reason = "leave", CreatedBy = "test", CreatedAt = now });
            s.Db.Absences.Add(new AbsenceRow { Username = "dave", FromAt = now, ToAt = now.AddDays(3), Reason = "course", CreatedBy = "test", CreatedAt = now });
            await s.Db.SaveChangesAsync();
            return true;
        });
        var registry = new ChannelRegistry(_desk.Database, _desk.Time);
        await registry.AddAsync("test", new ChannelInput("cpr-team@ca.example",
            AliasMembers: ["alice@ca.example, bob@ca.example", "carol@ca.example", "dave@ca.example", "contractor@elsewhere.example"]));
        await registry.AddAsync("test", new ChannelInput("cpr@ca.example"));

        var check = Assert.Single(await new AliasRoster(_desk.Database, _desk.Time).CheckAsync());
        Assert.Equal("cpr-team@ca.example", check.Alias);
        var problems = check.Members.ToDictionary(m => m.Address, m => m.Problem);
        Assert.Null(problems["alice@ca.example"]);
        Assert.Equal("disabled", problems["bob@ca.example"]);
        Assert.Equal("absent", problems["carol@ca.example"]);
        Assert.Null(problems["dave@ca.example"]);
        Assert.Equal("not-staff", problems["contractor@elsewhere.example"]);
        Assert.False(check.NobodyReads);
    }
}
