// Runs one poller per configured mailbox for the lifetime of the host.
using CprDesk.Notifications;
using CprDesk.Storage;

namespace CprDesk.Intake.Imap;

/// <summary>The configured mailboxes' pollers (tests call <see cref="MailboxPoller.RunOnceAsync"/> on them directly).</summary>
public sealed class MailboxPollers(IReadOnlyList<MailboxPoller> pollers)
{
    public IReadOnlyList<MailboxPoller> All => pollers;
}

public sealed class MailboxPollerService(MailboxPollers pollers, ILogger<MailboxPollerService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (pollers.All.Count == 0) return;
        log.LogInformation("Polling {Count} mailbox(es): {Names}", pollers.All.Count, string.Join(", ", pollers.All.Select(p => p.Settings.Name)));
        await Task.WhenAll(pollers.All.Select(p => LoopAsync(p, stoppingToken)));
    }

    private async Task LoopAsync(MailboxPoller poller, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var cycle = await poller.RunOnceAsync(ct);
                await poller.WaitForNextCycleAsync(cycle.Succeeded, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A fault of ours (the database): logged, and the next cycle tries again after the interval.
                log.LogError(ex, "Mailbox {Mailbox}: the poll cycle failed", poller.Settings.Name);
                try { await Task.Delay(poller.Settings.Interval, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }
}

public static class MailboxSetup
{
    /// <summary>Registers the configured mailboxes' pollers and their background service.</summary>
    public static void AddMailboxPolling(this WebApplicationBuilder builder)
    {
        var mailboxes = MailboxSettings.Load(builder.Configuration);
        var s = builder.Services;
        s.AddSingleton(sp => new MailboxPollers(mailboxes.Select(m => new MailboxPoller(m, sp.GetRequiredService<Database>(), sp.GetRequiredService<IntakePipeline>(),
            sp.GetRequiredService<Outbox>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<MailboxPoller>>())).ToList()));
        s.AddSingleton<MailboxStatus>();
        s.AddHostedService<MailboxPollerService>();
    }
}
