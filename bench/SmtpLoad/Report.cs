using System.Globalization;
using System.Text;

namespace SmtpLoad;

static class Report
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string F(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, Inv);

    public static void WriteMarkdown(TextWriter w, IReadOnlyList<CellResult> results)
    {
        w.WriteLine("| label | concurrency | size (B) | sent | accepted | failed | wall (s) | msgs/s | p50 (ms) | p99 (ms) | max (ms) |");
        w.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            w.WriteLine(string.Create(Inv,
                $"| {r.Label} | {r.Concurrency} | {r.MessageSize} | {r.Sent} | {r.Accepted} | {r.Failed} | {F(r.WallSeconds, "0.00")} | {F(r.Throughput, "0.0")} | {F(r.P50Ms, "0.00")} | {F(r.P99Ms, "0.00")} | {F(r.MaxMs, "0.00")} |"));
        }
        var notes = results.Where(r => r.HitDurationLimit || r.FirstFailures.Count > 0 || r.MessageSize != r.RequestedSize).ToList();
        if (notes.Count == 0) return;
        w.WriteLine();
        foreach (var r in notes)
        {
            var cell = string.Create(Inv, $"{r.Label} c={r.Concurrency} size={r.RequestedSize}");
            if (r.MessageSize != r.RequestedSize) w.WriteLine($"- {cell}: messages are {r.MessageSize} bytes (the headers alone exceed the requested size)");
            if (r.HitDurationLimit) w.WriteLine($"- {cell}: stopped at the duration limit after {r.Sent} of {r.Target} messages");
            foreach (var f in r.FirstFailures) w.WriteLine($"- {cell}: {f}");
        }
    }

    public static void WriteCsv(string path, IReadOnlyList<CellResult> results)
    {
        var sb = new StringBuilder();
        sb.Append("label,concurrency,requested_size,message_bytes,target,sent,accepted,failed,wall_s,msgs_per_s,p50_ms,p99_ms,max_ms,duration_limit_hit,first_failures\n");
        foreach (var r in results)
        {
            sb.Append(string.Create(Inv,
                $"{r.Label},{r.Concurrency},{r.RequestedSize},{r.MessageSize},{r.Target},{r.Sent},{r.Accepted},{r.Failed},{r.WallSeconds:0.000},{r.Throughput:0.00},{F(r.P50Ms, "0.000")},{F(r.P99Ms, "0.000")},{F(r.MaxMs, "0.000")},{(r.HitDurationLimit ? "yes" : "no")},"));
            sb.Append('"').Append(string.Join(" | ", r.FirstFailures).Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\"\n");
        }
        File.WriteAllText(path, sb.ToString());
    }
}
