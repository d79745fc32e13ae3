namespace CprDesk.Web;

public static class Countdown
{
    /// <summary>"in 3h 20m" or "overdue by 1d 2h", for people reading the queue.</summary>
    public static string Format(DateTime due, DateTime now)
    {
        var left = due - now;
        var span = left.Duration();
        var text = span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours}h" : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes}m" : $"{Math.Max(0, span.Minutes)}m";
        return left >= TimeSpan.Zero ? $"in {text}" : $"overdue by {text}";
    }
}
