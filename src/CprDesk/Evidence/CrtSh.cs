// crt.sh's JSON API (?sha256= | ?serial= | ?spkisha256= | ?id= with output=json), cached in the database.
// Used only from the background evidence service, so a slow or absent crt.sh never delays intake.
using System.Text.Json;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Evidence;

public sealed record CrtShEntry(long Id, string? IssuerName, string? CommonName, string? NameValue, string? SerialNumber, DateTime? NotBefore, DateTime? NotAfter);

public sealed class CrtShClient(HttpClient http, EvidenceSettings settings, Database database, TimeProvider time, ILogger<CrtShClient> log)
{
    public bool Enabled => !string.IsNullOrWhiteSpace(settings.CrtSh.BaseUrl);

    /// <param name="query">"sha256=…", "serial=…", "spkisha256=…" or "id=…" (as stored in a crtsh finding).</param>
    /// <returns>The entries, or null when crt.sh could not be asked (the caller carries on without).</returns>
    public async Task<IReadOnlyList<CrtShEntry>?> LookupAsync(string query, CancellationToken ct)
    {
        if (!Enabled) return null;
        var now = time.GetUtcNow().UtcDateTime;
        string? body;
        await using (var db = database.Open())
        {
            var cached = await db.CrtShCache.AsNoTracking().FirstOrDefaultAsync(c => c.Query == query, ct);
            body = cached is not null && cached.FetchedAt > now.AddHours(-settings.CrtSh.CacheHours) && cached.Status == 200 ? cached.Body : null;
        }
        if (body is null)
        {
            var url = $"{settings.CrtSh.BaseUrl!.TrimEnd('/')}/?{query}&output=json";
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(settings.CrtSh.TimeoutSeconds));
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                if (!response.IsSuccessStatusCode)
                {
                    log.LogWarning("crt.sh answered {Status} for {Query}", (int)response.StatusCode, query);
                    return null;
                }
                var bytes = await Fetch.ReadBoundedAsync(response, 8 * 1024 * 1024, cts.Token);
                body = bytes is null ? null : System.Text.Encoding.UTF8.GetString(bytes);
                if (body is null) return null;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                log.LogWarning("crt.sh lookup {Query} failed: {Error}", query, ex.Message);
                return null;
            }
            await database.WriteAsync(time, async s =>
            {
                var row = await s.Db.CrtShCache.FirstOrDefaultAsync(c => c.Query == query);
                if (row is null) s.Db.CrtShCache.Add(row = new CrtShCacheRow { Query = query });
                row.Status = 200;
                row.Body = body;
                row.FetchedAt = s.Now;
                return true;
            }, ct);
        }
        return Parse(body);
    }

    public static IReadOnlyList<CrtShEntry> Parse(string json)
    {
        var list = new List<CrtShEntry>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            var items = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList()
                : doc.RootElement.ValueKind == JsonValueKind.Object ? [doc.RootElement] : [];
            foreach (var e in items.Take(1000))
            {
                list.Add(new CrtShEntry(
                    e.TryGetProperty("id", out var id) && id.TryGetInt64(out var i) ? i : 0,
                    Str(e, "issuer_name"), Str(e, "common_name"), Str(e, "name_value"), Str(e, "serial_number"),
                    Time(e, "not_before"), Time(e, "not_after")));
            }
        }
        catch (JsonException) { }
        return list;
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTime? Time(JsonElement e, string name) =>
        Str(e, name) is { } s && DateTime.TryParse(s, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}

public static class Fetch
{
    /// <summary>The body, or null if it is larger than <paramref name="max"/> bytes.</summary>
    public static async Task<byte[]?> ReadBoundedAsync(HttpResponseMessage response, long max, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength > max) return null;
        await using var s = await response.Content.ReadAsStreamAsync(ct);
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = await s.ReadAsync(buffer, ct)) > 0)
        {
            if (ms.Length + n > max) return null;
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }
}
