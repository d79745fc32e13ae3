namespace CprDesk.Storage;

/// <summary>The single-writer lock, with two lanes: a waiting <em>priority</em> writer (intake committing a message
/// someone is waiting to hear "250" about) goes before every waiting ordinary writer (report processing, staff
/// actions, escalation). A running transaction is never interrupted; FIFO within a lane.</summary>
internal sealed class WriteGate
{
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _priority = new();
    private readonly Queue<TaskCompletionSource> _ordinary = new();
    private bool _held;

    public Task WaitAsync(bool priority, CancellationToken ct)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return Task.CompletedTask;
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
            while (_priority.Count > 0 || _ordinary.Count > 0)
            {
                var next = _priority.Count > 0 ? _priority.Dequeue() : _ordinary.Dequeue();
                if (next.TrySetResult()) return; // ownership passes on; _held stays true
            }
            _held = false;
        }
    }
}
