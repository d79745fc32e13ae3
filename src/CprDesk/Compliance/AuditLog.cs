// The append-only audit log. Each event's hash covers its own fields and the previous event's hash, so an
// edited, deleted or reordered event breaks the chain at a point `cprdesk audit verify` can name.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Compliance;

public sealed class AuditAppender
{
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";
    private readonly CprDeskDb _db;
    private long _seq;
    private string _head;

    private AuditAppender(CprDeskDb db, long seq, string head) { _db = db; _seq = seq; _head = head; }

    public static async Task<AuditAppender> StartAsync(CprDeskDb db)
    {
        var last = await db.AuditEvents.OrderByDescending(e => e.Seq).Select(e => new { e.Seq, e.Hash }).FirstOrDefaultAsync();
        return new AuditAppender(db, last?.Seq ?? 0, last?.Hash ?? GenesisHash);
    }

    public AuditEvent Append(DateTime now, string actor, string type, string? ticket, object detail)
    {
        var e = NextEvent(_seq, _head, now, actor, type, ticket, detail as string ?? JsonSerializer.Serialize(detail, AuditJson.Options));
        _db.AuditEvents.Add(e);
        _seq = e.Seq;
        _head = e.Hash;
        return e;
    }

    /// <summary>The event that follows <paramref name="seq"/>/<paramref name="head"/>, hashed.</summary>
    public static AuditEvent NextEvent(long seq, string head, DateTime now, string actor, string type, string? ticket, string detail)
    {
        var e = new AuditEvent
        {
            Seq = seq + 1,
            // Microsecond precision survives every provider (PostgreSQL keeps no ticks), so hashes stay verifiable.
            At = new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc),
            Actor = actor,
            Ticket = ticket,
            Type = type,
            Detail = detail,
            PrevHash = head,
        };
        e.Hash = AuditLog.ComputeHash(e);
        return e;
    }
}

public static class AuditJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}

public sealed record AuditVerification(bool Ok, long Events, string Head, long? BrokenAtSeq, string? Problem);

public static class AuditLog
{
    public static string ComputeHash(AuditEvent e)
    {
        var canonical = string.Join('\n',
            e.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
            e.At.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            e.Actor, e.Ticket ?? "", e.Type, e.Detail, e.PrevHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>Walks the chain from the first event and reports the first event that does not fit.</summary>
    public static async Task<AuditVerification> VerifyAsync(CprDeskDb db, CancellationToken ct = default)
    {
        long expectedSeq = 1;
        var expectedPrev = AuditAppender.GenesisHash;
        long count = 0;
        await foreach (var e in db.AuditEvents.AsNoTracking().OrderBy(e => e.Seq).AsAsyncEnumerable().WithCancellation(ct))
        {
            if (e.Seq != expectedSeq)
                return new(false, count, expectedPrev, e.Seq,
                    e.Seq > expectedSeq
                        ? $"event #{e.Seq} follows #{expectedSeq - 1}: event(s) #{expectedSeq}..#{e.Seq - 1} are missing"
                        : $"event #{e.Seq} is out of sequence");
            if (e.PrevHash != expectedPrev)
                return new(false, count, expectedPrev, e.Seq,
                    $"event #{e.Seq} does not chain to the event before it (deleted, inserted or reordered events)");
            if (ComputeHash(e) != e.Hash)
                return new(false, count, expectedPrev, e.Seq, $"event #{e.Seq} ({e.Type}) was altered: its hash does not match its content");
            expectedPrev = e.Hash;
            expectedSeq++;
            count++;
        }
        return new(true, count, expectedPrev, null, null);
    }
}
