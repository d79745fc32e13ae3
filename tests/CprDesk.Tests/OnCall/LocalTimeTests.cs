// The DST resolution rules on their own: an existing time, a time in a spring-forward gap, a time in a fall-back overlap.
using System.Globalization;
using CprDesk.OnCall;
using static CprDesk.Tests.OnCall.OnCallKit;

namespace CprDesk.Tests.OnCall;

public sealed class LocalTimeTests
{
    [Theory]
    [InlineData(Warsaw, "2026-03-29", "01:59:59", "2026-03-29T00:59:59Z")] // last second of CET
    [InlineData(Warsaw, "2026-03-29", "02:00:00", "2026-03-29T01:00:00Z")] // gap: first instant after it (03:00 CEST)
    [InlineData(Warsaw, "2026-03-29", "02:30:00", "2026-03-29T01:00:00Z")]
    [InlineData(Warsaw, "2026-03-29", "02:59:59", "2026-03-29T01:00:00Z")]
    [InlineData(Warsaw, "2026-03-29", "03:00:00", "2026-03-29T01:00:00Z")]
    [InlineData(Warsaw, "2026-10-25", "02:00:00", "2026-10-25T00:00:00Z")] // overlap: first occurrence (CEST)
    [InlineData(Warsaw, "2026-10-25", "02:30:00", "2026-10-25T00:30:00Z")]
    [InlineData(Warsaw, "2026-10-25", "03:00:00", "2026-10-25T02:00:00Z")] // CET, once
    [InlineData(NewYork, "2026-03-08", "02:30:00", "2026-03-08T07:00:00Z")] // gap: 03:00 EDT
    [InlineData(NewYork, "2026-11-01", "01:00:00", "2026-11-01T05:00:00Z")] // overlap: EDT
    [InlineData(NewYork, "2026-11-01", "01:30:00", "2026-11-01T05:30:00Z")]
    [InlineData(NewYork, "2026-11-01", "01:59:59", "2026-11-01T05:59:59Z")]
    [InlineData(NewYork, "2026-11-01", "02:00:00", "2026-11-01T07:00:00Z")] // EST, once
    [InlineData(Kolkata, "2026-03-29", "02:30:00", "2026-03-28T21:00:00Z")]
    public void Resolves_a_local_time_to_one_instant(string zone, string date, string time, string expected)
    {
        var utc = LocalTime.ToUtc(DateOnly.Parse(date, CultureInfo.InvariantCulture), TimeOnly.Parse(time, CultureInfo.InvariantCulture),
            TimeZoneInfo.FindSystemTimeZoneById(zone));
        Assert.Equal(Utc(expected), utc);
        Assert.Equal(DateTimeKind.Utc, utc.Kind);
    }
}
