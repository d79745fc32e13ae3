// The heap trim: a full compacting collection when the committed managed heap passes the ceiling, at most once per
// interval; off at 0; bad settings refused at start-up.
using CprDesk.Web;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CprDesk.Tests.Web;

public sealed class HeapTrimTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Trims_above_the_ceiling_at_most_once_per_interval()
    {
        var time = new FakeTimeProvider(Start);
        var trim = new HeapTrimService(new MemorySettings { HeapTrimMiB = 1, MinSecondsBetweenTrims = 5 }, time, NullLogger<HeapTrimService>.Instance);
        // Make sure the heap holds more than 1 MiB committed whatever ran before in this test process.
        var ballast = new byte[4][];
        for (var i = 0; i < ballast.Length; i++) ballast[i] = new byte[1 << 20];
        GC.Collect();

        var before = GC.CollectionCount(GC.MaxGeneration);
        Assert.True(trim.CheckOnce());
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > before); // it really collected
        Assert.False(trim.CheckOnce()); // too soon
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(trim.CheckOnce());
        Assert.Equal(1, trim.Trims);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(trim.CheckOnce());
        Assert.Equal(2, trim.Trims);
        GC.KeepAlive(ballast);
    }

    [Fact]
    public void Zero_turns_the_trim_off()
    {
        var trim = new HeapTrimService(new MemorySettings { HeapTrimMiB = 0 }, new FakeTimeProvider(Start), NullLogger<HeapTrimService>.Instance);
        Assert.False(trim.CheckOnce());
        Assert.Equal(0, trim.Trims);
    }

    [Fact]
    public void A_ceiling_above_the_heap_never_trims()
    {
        var trim = new HeapTrimService(new MemorySettings { HeapTrimMiB = 1 << 20 }, new FakeTimeProvider(Start), NullLogger<HeapTrimService>.Instance);
        Assert.False(trim.CheckOnce());
        Assert.Equal(0, trim.Trims);
    }

    [Theory]
    [InlineData(-1, 1, 1, "HeapTrimMiB")]
    [InlineData(64, 0, 1, "CheckSeconds")]
    [InlineData(64, 1, -1, "MinSecondsBetweenTrims")]
    public void Bad_settings_are_refused(int mib, double check, double between, string named)
    {
        var settings = new MemorySettings { HeapTrimMiB = mib, CheckSeconds = check, MinSecondsBetweenTrims = between };
        var error = Assert.Throws<InvalidOperationException>(settings.Validate);
        Assert.Contains(named, error.Message);
    }
}
