// Drift: reading the CCADB CA Owner report and CPS section 1.5.2, and comparing them with the registry.
using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Storage;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CprDesk.Tests.Channels;

public sealed class DriftTests : IAsyncLifetime
{
    public const string Owner = "Example Trust Services Ltd.";
    public static string Fixture(string name) => Path.Combine(Repo.Root, "tests", "CprDesk.Tests", "Channels", "Fixtures", name);

    private readonly Desk _desk = new();

    public Task InitializeAsync() => _desk.InitializeAsync();

    public Task DisposeAsync()
    {
        _desk.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void The_CCADB_row_of_our_CA_owner_is_read_across_lines_with_obfuscation_undone()
    {
        var listing = CcadbCsv.Read(File.ReadAllText(Fixture("ccadb-ca-owners.csv")), "example trust services ltd.");
        Assert.Equal(Owner, listing.CaOwnerName);
        Assert.Equal(
            ["https://example-trust.test/report-problem", "cpr@example-trust.test", "revoke@example-trust.test", "security@example-trust.test"],
            listing.ProblemReporting);
        Assert.Empty(listing.Alias1);
    }

    [Fact]
    public void Csv_fields_keep_commas_doubled_quotes_and_line_breaks()
    {
        var rows = CcadbCsv.Parse("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"x\ny\",,z\n");
        Assert.Equal(2, rows.Count);
        Assert.Equal(["a", "b, c", "say \"hi\""], rows[0]);
        Assert.Equal(["x\ny", "", "z"], rows[1]);
    }

    [Theory]
    [InlineData("cpr [at] ca [dot] example", "cpr@ca.example")]
    [InlineData("cpr(at)ca(dot)example", "cpr@ca.example")]
    [InlineData("CPR at ca dot example", "cpr@ca.example")]
    [InlineData("cpr{at}sub.ca{dot}example", "cpr@sub.ca.example")]
    [InlineData("write to us at cpr@ca.example.", "cpr@ca.example")]
    public void Obfuscated_addresses_are_recognised(string text, string expected) =>
        Assert.Equal([expected], ChannelText.Extract(text));

    [Fact]
    public void An_email_address_inside_a_URL_is_not_an_address()
    {
        Assert.Equal(["https://ca.example/report?to=cpr@ca.example"], ChannelText.Extract("see https://ca.example/report?to=cpr@ca.example"));
    }

    [Fact]
    public void An_unknown_CA_owner_is_a_clear_error()
    {
        var ex = Assert.Throws<CprDesk.Reports.DeskException>(() => CcadbCsv.Read(File.ReadAllText(Fixture("ccadb-ca-owners.csv")), "Nobody CA"));
        Assert.Contains("Nobody CA", ex.Message);
        Assert.Throws<CprDesk.Reports.DeskException>(() => CcadbCsv.Read("\"Name\",\"Other\"\n\"a\",\"b\"\n", "a"));
    }

    [Theory]
    [InlineData("cps.md", new[] { "https://example-trust.test/report-problem", "cpr@example-trust.test", "new-alias@example-trust.test" })]
    [InlineData("cps.html", new[] { "cpr@example-trust.test", "https://example-trust.test/report-problem" })]
    public void Section_152_is_found_past_the_table_of_contents_and_ends_at_the_next_section(string file, string[] expected) =>
        Assert.Equal(expected.Order(), CpsText.Addresses(File.ReadAllText(Fixture(file))).Order());

    [Fact]
    public void A_plain_text_CPS_without_section_152_is_refused()
    {
        var ex = Assert.Throws<CprDesk.Reports.DeskException>(() => CpsText.Section152("1.5.1 Organization\nWrite to x@ca.example\n"));
        Assert.Equal("cps", ex.Field);
    }

    private async Task<ChannelRegistry> RegistryAsync()
    {
        var registry = new ChannelRegistry(_desk.Database, _desk.Time);
        await registry.AddAsync("test", new ChannelInput("cpr@example-trust.test", PublishedIn: ["cps", "ccadb-prm"]));
        await registry.AddAsync("test", new ChannelInput("https://example-trust.test/report-problem", PublishedIn: ["cps", "ccadb-prm", "website"]));
        await registry.AddAsync("test", new ChannelInput("revoke@example-trust.test", PublishedIn: ["ccadb-prm"]));
        await registry.AddAsync("test", new ChannelInput("old@example-trust.test", PublishedIn: ["cps"]));
        await registry.AddAsync("test", new ChannelInput("https://example-trust.test/api/v1/reports", Kind: "api", PublishedIn: ["website"]));
        return registry;
    }

    [Fact]
    public async Task Every_difference_between_registry_CPS_and_CCADB_is_reported()
    {
        var registry = await RegistryAsync();
        var published = DriftCheck.Read(Fixture("ccadb-ca-owners.csv"), Fixture("cps.md"), Owner);
        var findings = DriftCheck.Compare(await registry.ListAsync(), published).Select(f => $"{f.Kind} {f.Value}: {f.Detail}").ToList();
        Assert.Equal(new[]
        {
            "unregistered new-alias@example-trust.test: published in cps but not in the registry",
            "inconsistent new-alias@example-trust.test: in CPS section 1.5.2 but not in the CCADB Problem Reporting Mechanism",
            "inconsistent revoke@example-trust.test: in the CCADB Problem Reporting Mechanism but not in CPS section 1.5.2",
            "unregistered security@example-trust.test: published in ccadb-prm but not in the registry",
            "inconsistent security@example-trust.test: in the CCADB Problem Reporting Mechanism but not in CPS section 1.5.2",
            "inconsistent old@example-trust.test: the registry says it is published in cps, but cps does not list it",
            "unpublished old@example-trust.test: in the registry but not published in ccadb-prm, cps",
        }.Order(), findings.Order());
    }

    [Fact]
    public async Task A_new_difference_is_audited_and_told_to_the_admins_once_and_resolved_when_it_is_gone()
    {
        var registry = await RegistryAsync();
        await new Accounts(_desk.Database, _desk.Time).CreateAsync("test", "boss", StaffRole.Admin, "boss@ca.example", null);
        var cps = Path.Combine(Path.GetTempPath(), $"cps-{Guid.NewGuid():N}.md");
        File.Copy(Fixture("cps.md"), cps);
        try
        {
            var settings = new ChannelSettings { CaOwnerName = Owner, CcadbCsv = Fixture("ccadb-ca-owners.csv"), CpsFile = cps };
            var watch = new DriftWatch(_desk.Database, _desk.Time, settings, registry, _desk.Outbox, NullLogger<DriftWatch>.Instance);

            await watch.DailyAsync(CancellationToken.None);
            Assert.Equal(1, await MailsToBossAsync());
            Assert.Equal(7, (await watch.OpenFindingsAsync()).Count);

            // Same findings a day later: no new mail.
            _desk.Time.Advance(TimeSpan.FromHours(25));
            await watch.DailyAsync(CancellationToken.None);
            Assert.Equal(1, await MailsToBossAsync());

            // Within the day nothing runs even after a change.
            await registry.AddAsync("test", new ChannelInput("new-alias@example-trust.test", PublishedIn: ["cps"]));
            File.WriteAllText(cps, File.ReadAllText(cps).Replace("new-alias [at] example-trust [dot] test", "new-alias [at] example-trust [dot] test or fresh@example-trust.test"));
            await watch.DailyAsync(CancellationToken.None);
            Assert.Equal(1, await MailsToBossAsync());

            _desk.Time.Advance(TimeSpan.FromHours(25));
            await watch.DailyAsync(CancellationToken.None);
            Assert.Equal(2, await MailsToBossAsync());
            await using var db = _desk.Database.Open();
            var types = await db.AuditEvents.Select(e => new { e.Type, e.Detail }).ToListAsync();
            Assert.Contains(types, e => e.Type == "channels.drift-resolved" && e.Detail.Contains("published in cps but not in the registry") && e.Detail.Contains("new-alias"));
            Assert.Contains(types, e => e.Type == "channels.drift-found" && e.Detail.Contains("fresh@example-trust.test"));
            Assert.Equal(3, types.Count(e => e.Type == DriftCheck.CheckedEvent));
            Assert.True((await CprDesk.Compliance.AuditLog.VerifyAsync(db, CancellationToken.None)).Ok);
        }
        finally
        {
            File.Delete(cps);
        }
    }

    private async Task<int> MailsToBossAsync()
    {
        await using var db = _desk.Database.Open();
        return await db.Outbox.CountAsync(o => o.Recipient == "boss@ca.example" && o.Subject == "Published CPR channels have drifted");
    }
}
