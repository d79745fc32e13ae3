using System.Diagnostics;

namespace CprDesk.Storage;

/// <summary>The single-writer lock, with two lanes: a waiting <em>priority</em> writer (intake committing a message
/// someone is waiting to hear "250" about) goes before every waiting ordinary writer (report processing, staff
/// actions, escalation). A running transaction is never interrupted; FIFO within a lane.
/// <para>Intake first, like an MTA's queue: while intake commits keep arriving (one finished less than
/// <see cref="IntakeQuiet"/> ago, or one is waiting or running), a background writer (report processing, escalation,
/// evidence, outbox — not an HTTP request a person waits on) holds back before queueing — but
/// never longer than <see cref="MaxDeferral"/> per write, so a sustained flood slows background work down without
/// stopping it. What is deferred is work on messages already committed (their clocks run from
/// receipt), so a burst is taken in at the rate the disk commits and turned into reports as the writer frees up.</para></summary>
internal sealed class WriteGate
{
    /// <summary>Intake counts as busy for this long after its last commit (a sender's next message follows within a
    /// millisecond or two on a fast link).</summary>
    public static readonly TimeSpan IntakeQuiet = TimeSpan.FromMilliseconds(10);

    /// <summary>An ordinary write waits at most this long for intake to go quiet, then queues as usual.</summary>
    public static readonly TimeSpan MaxDeferral = TimeSpan.FromMilliseconds(1000);

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _priority = new();
    private readonly Queue<TaskCompletionSource> _ordinary = new();
    private bool _held, _heldByPriority;
    private long _lastPriorityRelease = long.MinValue / 2;

    /// <summary>Time since a priority (intake) writer last released the gate; null when none has yet.</summary>
    public TimeSpan? SinceLastPriorityRelease
    {
        get
        {
            lock (_lock) return _lastPriorityRelease == long.MinValue / 2 ? null : Stopwatch.GetElapsedTime(_lastPriorityRelease);
        }
    }

    public async Task WaitAsync(bool priority, CancellationToken ct, bool deferToIntake = false)
    {
        if (!priority && deferToIntake)
        {
            var start = Stopwatch.GetTimestamp();
            while (IntakeBusy(out var quietIn) && Stopwatch.GetElapsedTime(start) < MaxDeferral)
                await Task.Delay(quietIn, ct);
        }
        await AcquireAsync(priority, ct);
    }

    private bool IntakeBusy(out TimeSpan quietIn)
    {
        lock (_lock)
        {
            var since = Stopwatch.GetElapsedTime(_lastPriorityRelease);
            var busy = _priority.Count > 0 || (_held && _heldByPriority) || since < IntakeQuiet;
            quietIn = since < IntakeQuiet ? IntakeQuiet - since : TimeSpan.FromMilliseconds(1);
            return busy;
        }
    }

    private Task AcquireAsync(bool priority, CancellationToken ct)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                _heldByPriority = priority;
                return Task.CompletedTask;
            }
            waiter = new TaskCompletionSource(priority, TaskCreationOptions.RunContinuationsAsynchronously);
            (priority ? _priority : _ordinary).Enqueue(waiter);
        }
        // A cancelled waiter stays queued but completed; Release skips it. The registration is dropped once the wait
        // ends either way, so long-lived tokens (the host's stopping token) do not collect one per write.
        if (ct.CanBeCanceled)
        {
            var registration = ct.Register(() => waiter.TrySetCanceled(ct));
            waiter.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return waiter.Task;
    }

    public void Release()
    {
        lock (_lock)
        {
            if (_heldByPriority) _lastPriorityRelease = Stopwatch.GetTimestamp();
            while (_priority.Count > 0 || _ordinary.Count > 0)
            {
                var next = _priority.Count > 0 ? _priority.Dequeue() : _ordinary.Dequeue();
                // Ownership passes on (_held stays true); the state is set before the waiter can run.
                var wasPriority = (bool)next.Task.AsyncState!;
                var before = _heldByPriority;
                _heldByPriority = wasPriority;
                if (next.TrySetResult()) return;
                _heldByPriority = before;
            }
            _held = false;
            _heldByPriority = false;
        }
    }
}
