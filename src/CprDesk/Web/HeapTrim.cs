// Keeps the process's memory near what it actually uses. CprDesk's live managed data is small (tens of MiB), but a
// backlog of reports allocates fast, and the background (non-compacting) collections let the heap keep hundreds of MiB
// of garbage committed. When the committed heap passes a soft ceiling, one full compacting collection that also returns
// memory to the operating system brings it back down — at most once per interval, so it costs a few milliseconds now
// and then, never a steady tax.
namespace CprDesk.Web;

/// <summary><c>CprDesk:Memory:*</c>.</summary>
public sealed class MemorySettings
{
    /// <summary>Committed managed heap (MiB) above which a compacting collection runs; 0 turns the trim off.</summary>
    public int HeapTrimMiB { get; set; } = 48;

    /// <summary>How often the heap is looked at (seconds).</summary>
    public double CheckSeconds { get; set; } = 0.25;

    /// <summary>At least this long between two trims (seconds), however much the heap grows in between.</summary>
    public double MinSecondsBetweenTrims { get; set; } = 1;

    public void Validate()
    {
        if (HeapTrimMiB < 0) throw new InvalidOperationException("CprDesk:Memory:HeapTrimMiB must be 0 (off) or a positive number of MiB.");
        if (CheckSeconds is <= 0 or > 3600) throw new InvalidOperationException("CprDesk:Memory:CheckSeconds must be between 0 and 3600.");
        if (MinSecondsBetweenTrims is < 0 or > 86400) throw new InvalidOperationException("CprDesk:Memory:MinSecondsBetweenTrims must be between 0 and 86400.");
    }
}

public sealed class HeapTrimService(MemorySettings settings, TimeProvider time, ILogger<HeapTrimService> log) : BackgroundService
{
    private DateTimeOffset _lastTrim = DateTimeOffset.MinValue;

    /// <summary>Trims done since start.</summary>
    public int Trims { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.HeapTrimMiB == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.CheckSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) CheckOnce();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Trims when the committed heap is above the ceiling and the last trim is old enough. True if it trimmed.</summary>
    public bool CheckOnce()
    {
        var now = time.GetUtcNow();
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        if (settings.HeapTrimMiB == 0 || committed <= (long)settings.HeapTrimMiB << 20) return false;
        if (now - _lastTrim < TimeSpan.FromSeconds(settings.MinSecondsBetweenTrims)) return false;
        _lastTrim = now;
        // Aggressive = blocking, compacting, and decommitting what is free (not just marking it reusable).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Trims++;
        log.LogDebug("Heap trim: committed {Before} MiB before, {After} MiB after", committed >> 20, GC.GetGCMemoryInfo().TotalCommittedBytes >> 20);
        return true;
    }
}
