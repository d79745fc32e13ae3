using CprDesk.Deadlines;
using CprDesk.Intake;
using CprDesk.Intake.Email;
using CprDesk.Notifications;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Support;

/// <summary>The domain services over a fresh SQLite database and a fake clock, without HTTP.</summary>
public sealed class Desk : IAsyncLifetime, IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 6, 19, 45, 0, TimeSpan.Zero); // a Friday evening

    private readonly TempDir _dir = new();
    public FakeTimeProvider Time { get; } = new(Start);
    public Database Database { get; }
    public ClockRules Rules { get; } = LoadRules();
    public ReportDesk Reports { get; }
    public ReportQueries Queries { get; }
    public IntakePipeline Intake { get; }

    public Outbox Outbox { get; }
    public MailSettings Mail { get; } = new() { From = "cpr-desk@ca.example" };

    public Desk()
    {
        Database = new Database(_dir.Path);
        Outbox = new Outbox(Mail);
        Reports = new ReportDesk(Database, Time, Rules, Outbox);
        Queries = new ReportQueries(Database, Time, Rules);
        Intake = NewIntake(Database, Time, Reports, Outbox, Mail);
    }

    public static IntakePipeline NewIntake(Database database, TimeProvider time, ReportDesk reports, Outbox outbox, MailSettings mail) =>
        new(database, time, reports, new IntakeLimits(1024 * 1024), new Acknowledgements(outbox, mail, new CprDeskOptions()), outbox, mail,
            NullLogger<IntakePipeline>.Instance);

    public static ClockRules LoadRules() => ClockRules.Load(System.IO.Path.Combine(AppContext.BaseDirectory, "rules", "tls-br.json"));

    public DateTime Now => Time.GetUtcNow().UtcDateTime;

    public async Task<string> SubmitAsync(string description = "The key of this certificate was published.", string email = "reporter@example.org")
    {
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { reporterEmail = email, description });
        var result = await Intake.SubmitAsync(new RawSubmission("api", json, "application/json", "127.0.0.1"));
        return result.Report.Ticket;
    }

    public async Task<DeadlineView> ClockAsync(string ticket, string name, string? recipient = null)
    {
        var d = await Queries.GetAsync(ticket) ?? throw new InvalidOperationException("no report");
        return d.Summary.Deadlines.Single(c => c.Name == name && (recipient is null || c.Recipient == recipient));
    }

    public Task InitializeAsync() => Database.MigrateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
