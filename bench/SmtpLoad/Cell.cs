using System.Collections.Concurrent;
using System.Globalization;
using System.Diagnostics;

namespace SmtpLoad;

/// <summary>What one (concurrency, size) cell measured.</summary>
sealed record CellResult(
    string Label,
    int Concurrency,
    int RequestedSize,
    int MessageSize,
    int Target,
    long Sent,
    long Accepted,
    long Failed,
    double WallSeconds,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    bool HitDurationLimit,
    IReadOnlyList<string> FirstFailures)
{
    public double Throughput => WallSeconds > 0 ? Accepted / WallSeconds : 0;
}

/// <summary>Runs one cell: <c>concurrency</c> connections sending back to back until the count or the time is up.</summary>
sealed class Cell
{
    const int FailureSamples = 5;

    readonly Options options;
    readonly int concurrency;
    readonly long deadline;
    long claimed;
    long accepted;
    long failed;
    int hitDeadline;
    readonly List<(string Text, int Count)> failures = []; // the first few distinct texts; guarded by itself
    readonly ConcurrentBag<long[]> latencies = new();

    Cell(Options options, int concurrency)
    {
        this.options = options;
        this.concurrency = concurrency;
        deadline = Stopwatch.GetTimestamp() + (long)(options.DurationLimitSeconds * Stopwatch.Frequency);
    }

    public static async Task<CellResult> RunAsync(Options options, int concurrency, int size, string idPrefix, CancellationToken abort)
    {
        var cell = new Cell(options, concurrency);
        // Hard stop: the duration limit plus one timeout for the messages in flight, plus a margin.
        using var hard = CancellationTokenSource.CreateLinkedTokenSource(abort);
        hard.CancelAfter(TimeSpan.FromSeconds(options.DurationLimitSeconds + options.TimeoutSeconds + 5));
        var started = Stopwatch.GetTimestamp();
        var workers = new Task[concurrency];
        var messageSize = 0;
        for (var i = 0; i < concurrency; i++)
        {
            var factory = new MessageFactory(options, size, idPrefix, seed: HashCode.Combine(idPrefix, i));
            messageSize = factory.Size;
            workers[i] = Task.Run(() => cell.WorkerAsync(factory, hard.Token));
        }
        await Task.WhenAll(workers);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;

        var all = cell.latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new CellResult(options.Label, concurrency, size, messageSize, options.Messages,
            Math.Min(cell.claimed, options.Messages), cell.accepted, cell.failed, wall,
            Percentile(all, 50), Percentile(all, 99), all.Length > 0 ? Ms(all[^1]) : double.NaN,
            cell.hitDeadline != 0, cell.failures.Select(f => f.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $"{f.Text} (x{f.Count})") : f.Text).ToList());
    }

    static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Nearest-rank percentile of sorted ticks, in ms.</summary>
    static double Percentile(long[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return Ms(sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)]);
    }

    bool TryClaim(out long n)
    {
        n = 0;
        if (Stopwatch.GetTimestamp() >= deadline)
        {
            Interlocked.Exchange(ref hitDeadline, 1);
            return false;
        }
        n = Interlocked.Increment(ref claimed);
        return n <= options.Messages;
    }

    bool WorkLeft => Volatile.Read(ref claimed) < options.Messages && Stopwatch.GetTimestamp() < deadline;

    void Fail(string text)
    {
        Interlocked.Increment(ref failed);
        Note(text);
    }

    void Note(string text)
    {
        lock (failures)
        {
            var i = failures.FindIndex(f => f.Text == text);
            if (i >= 0) failures[i] = (text, failures[i].Count + 1);
            else if (failures.Count < FailureSamples) failures.Add((text, 1));
        }
    }

    async Task WorkerAsync(MessageFactory factory, CancellationToken abort)
    {
        var mine = new List<long>(options.Messages / concurrency + 16);
        var terminator = "\r\n.\r\n"u8.ToArray();
        var connectFailures = 0;
        try
        {
            while (WorkLeft && !abort.IsCancellationRequested)
            {
                SmtpConnection connection;
                try
                {
                    connection = await SmtpConnection.OpenAsync(options.Server, options.Helo, options.Timeout, abort);
                    connectFailures = 0;
                }
                catch (SmtpSessionException e)
                {
                    Note("session: " + e.Message);
                    if (++connectFailures >= 3) return; // this connection gives up; the others go on
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * connectFailures), abort);
                    continue;
                }

                await using (connection)
                {
                    while (true)
                    {
                        if (!TryClaim(out var n))
                        {
                            await connection.QuitAsync();
                            return;
                        }
                        try
                        {
                            if (!await SendOneAsync(connection, factory, n, terminator, mine)) break; // reconnect
                        }
                        catch (SmtpSessionException e)
                        {
                            Fail(e.Message);
                            break; // reconnect
                        }
                        catch (OperationCanceledException)
                        {
                            Fail("in flight at the hard stop (duration limit + timeout)");
                            throw;
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // hard stop (duration limit + timeout, or Ctrl-C)
        }
        finally
        {
            latencies.Add([.. mine]);
        }
    }

    /// <summary>One MAIL/RCPT/DATA transaction. False when the server said 421 (closing).</summary>
    async Task<bool> SendOneAsync(SmtpConnection c, MessageFactory factory, long n, byte[] terminator, List<long> mine)
    {
        var data = factory.BuildWire(n);

        SmtpReply reply;
        if (options.Pipelining && c.Pipelining)
        {
            // RFC 2920: MAIL, RCPT and DATA in one write (DATA ends the group), then their three replies.
            var r = await c.PipelineAsync($"MAIL FROM:<{options.From}>", $"RCPT TO:<{options.To}>", "DATA");
            if (r[2].Code == 354 && (r[0].Code != 250 || r[1].Code is not (250 or 251)))
            {
                // A server that let DATA through after a refused MAIL or RCPT gets an empty message, which it must refuse.
                await c.WriteAsync(".\r\n"u8.ToArray(), "empty data");
                await c.ReadReplyAsync("empty data");
            }
            if (r[0].Code != 250) return await RejectedAsync(c, "MAIL", r[0]);
            if (r[1].Code is not (250 or 251)) return await RejectedAsync(c, "RCPT", r[1]);
            if (r[2].Code != 354) return await RejectedAsync(c, "DATA", r[2]);
        }
        else
        {
            reply = await c.CommandAsync($"MAIL FROM:<{options.From}>");
            if (reply.Code != 250) return await RejectedAsync(c, "MAIL", reply);
            reply = await c.CommandAsync($"RCPT TO:<{options.To}>");
            if (reply.Code is not (250 or 251)) return await RejectedAsync(c, "RCPT", reply);
            reply = await c.CommandAsync("DATA");
            if (reply.Code != 354) return await RejectedAsync(c, "DATA", reply);
        }

        await c.WriteAsync(data[..^2], "message"); // the body's final CRLF goes with the terminator
        var t0 = Stopwatch.GetTimestamp();
        await c.WriteAsync(terminator, "end of data");
        reply = await c.ReadReplyAsync("end of data");
        var elapsed = Stopwatch.GetTimestamp() - t0;
        if (reply.Code == 250)
        {
            Interlocked.Increment(ref accepted);
            mine.Add(elapsed);
            return true;
        }
        Fail("end of data: " + reply.Text);
        return reply.Code != 421;
    }

    async Task<bool> RejectedAsync(SmtpConnection c, string stage, SmtpReply reply)
    {
        Fail(stage + ": " + reply.Text);
        if (reply.Code == 421) return false;
        var reset = await c.CommandAsync("RSET");
        return reset.Code == 250;
    }
}
