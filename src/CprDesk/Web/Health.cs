// /healthz for load balancers and watchdogs; /metrics in Prometheus text format.
using System.Globalization;
using System.Text;
using CprDesk.Reports;
using CprDesk.Storage;

namespace CprDesk.Web;

public static class Health
{
    public static readonly TimeSpan StaleEscalation = TimeSpan.FromMinutes(2);

    public static void MapHealth(this WebApplication app)
    {
        app.MapGet("/healthz", async (Database db, Escalation.EscalationEngine engine, TimeProvider time, Intake.Health.IntakeHealth intake, Channels.ChannelViews channels, Intake.Imap.MailboxStatus mailboxes, CancellationToken ct) =>
        {
            var ok = await db.CanConnectAsync(ct);
            // The escalation engine cycles every 30 s; two minutes without a cycle means nobody would be paged.
            var last = engine.LastCycleAt;
            var engineOk = time.GetUtcNow().UtcDateTime - engine.Heartbeat < StaleEscalation;
            var boxes = ok ? await mailboxes.HealthAsync(ct) : [];
            var status = !ok ? "failing" : engineOk && Intake.Imap.MailboxStatus.Healthy(boxes) ? "ok" : "degraded";
            return Results.Json(new { status, database = ok ? "ok" : "unreachable", escalation = engineOk ? "ok" : "stale", escalationLastCycle = last,
                intake = ok ? await intake.SnapshotAsync(ct) : null, channels = ok ? await channels.HealthAsync() : null, mailboxes = boxes },
                statusCode: status == "ok" ? 200 : 503);
        }).AllowAnonymous().ExcludeFromDescription();

        app.MapGet("/metrics", async (ReportQueries queries, TimeProvider time, Intake.Health.IntakeHealth intake, Channels.ChannelViews channels, Intake.Imap.MailboxStatus mailboxes) =>
        {
            var (byState, nearest, missed) = await queries.MetricsAsync();
            var sb = new StringBuilder();
            sb.Append("# HELP cprdesk_reports Reports by state.\n# TYPE cprdesk_reports gauge\n");
            foreach (var (state, count) in byState) sb.Append(CultureInfo.InvariantCulture, $"cprdesk_reports{{state=\"{state}\"}} {count}\n");
            sb.Append("# HELP cprdesk_next_deadline_seconds Seconds until the nearest open deadline (negative when overdue; absent when none is open).\n# TYPE cprdesk_next_deadline_seconds gauge\n");
            if (nearest is { } due)
                sb.Append(CultureInfo.InvariantCulture, $"cprdesk_next_deadline_seconds {Math.Round((due - time.GetUtcNow().UtcDateTime).TotalSeconds)}\n");
            sb.Append("# HELP cprdesk_deadlines_missed_total Deadlines missed (met late, waived late, or overdue).\n# TYPE cprdesk_deadlines_missed_total counter\n");
            sb.Append(CultureInfo.InvariantCulture, $"cprdesk_deadlines_missed_total {missed}\n");
            await intake.AppendMetricsAsync(sb);
            await channels.AppendMetricsAsync(sb);
            sb.Append(await mailboxes.MetricsAsync());
            AppendProcessMetrics(sb);
            return Results.Text(sb.ToString(), "text/plain; version=0.0.4; charset=utf-8");
        }).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>The process's own memory, so an operator (and bench/) can see what a burst costs: resident set from
    /// /proc (absent where there is none), and the managed heap as the GC last saw it.</summary>
    internal static void AppendProcessMetrics(StringBuilder sb)
    {
        void One(string name, string type, string help, long value)
        {
            PrometheusText.Family(sb, name, type, help);
            PrometheusText.Sample(sb, name, value);
        }
        if (ResidentBytes() is { } rss) One("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss);
        var gc = GC.GetGCMemoryInfo();
        One("dotnet_gc_heap_committed_bytes", "gauge", "Memory the managed heap has committed (after the last collection).", gc.TotalCommittedBytes);
        One("dotnet_gc_heap_size_bytes", "gauge", "Managed heap size, including fragmentation (after the last collection).", gc.HeapSizeBytes);
        One("dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since start.", GC.GetTotalAllocatedBytes());
        PrometheusText.Family(sb, "dotnet_gc_collections_total", "counter", "Garbage collections by generation since start.");
        for (var g = 0; g <= GC.MaxGeneration; g++)
            PrometheusText.Sample(sb, "dotnet_gc_collections_total", GC.CollectionCount(g), $"generation=\"{g}\"");
    }

    private static long? ResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    public static void MapStaffDownloads(this WebApplication app)
    {
        app.MapGet("/staff/reports/{ticket}/messages/{id:long}/raw", async (string ticket, long id, Database database) =>
        {
            await using var db = database.Open();
            var m = db.Messages.FirstOrDefault(x => x.Id == id && db.Reports.Any(r => r.Id == x.ReportId && r.Ticket == ticket));
            if (m is null) return Results.NotFound();
            var blob = await BlobStore.GetAsync(db, m.RawSha256);
            var ext = m.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true ? "json" : m.Channel == "email" ? "eml" : "raw";
            return Results.File(blob!.Content, "application/octet-stream", $"{ticket}-message-{id}.{ext}");
        }).RequireAuthorization(Access.Policies.Read);

        app.MapGet("/staff/messages/{id:long}/raw", async (long id, Database database) =>
        {
            await using var db = database.Open();
            var m = db.Messages.FirstOrDefault(x => x.Id == id);
            if (m is null) return Results.NotFound();
            var blob = await BlobStore.GetAsync(db, m.RawSha256);
            return Results.File(blob!.Content, "application/octet-stream", $"message-{id}.raw");
        }).RequireAuthorization(Access.Policies.Read);

        app.MapGet("/staff/reports/{ticket}/attachments/{id:long}", async (string ticket, long id, Database database) =>
        {
            await using var db = database.Open();
            var a = db.Attachments.FirstOrDefault(x => x.Id == id && db.Reports.Any(r => r.Id == x.ReportId && r.Ticket == ticket));
            if (a is null) return Results.NotFound();
            var blob = await BlobStore.GetAsync(db, a.Sha256);
            // Always a download, never rendered inline: attachments are untrusted.
            return Results.File(blob!.Content, "application/octet-stream", a.FileName);
        }).RequireAuthorization(Access.Policies.Read);
    }
}
