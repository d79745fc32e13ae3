// Private keys sent as evidence are shown to admins only: message views show a placeholder, and raw downloads of
// a message or attachment carrying a key are redacted (PEM blocks replaced) or, when the key sits in an encoded
// part that text replacement cannot reach, refused with an explanation.
using System.Security.Claims;
using System.Text;
using System.Text.RegularExpressions;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Evidence;

public static partial class KeyRedaction
{
    public const string Placeholder = "[private key redacted: shown to admins only]";

    public static bool MaySeeKeys(ClaimsPrincipal user) => user.IsInRole(nameof(StaffRole.Admin));

    public static string? ForViewer(string? text, ClaimsPrincipal user) => text is null || MaySeeKeys(user) ? text : Redact(text, out _);

    public static string Redact(string text, out int blocks)
    {
        var n = 0;
        var result = PrivateKeyPem().Replace(text, _ => { n++; return Placeholder; });
        blocks = n;
        return result;
    }

    /// <summary>Redacted bytes, or null when the key material could not all be removed (then only admins may download).</summary>
    public static byte[]? RedactBytes(byte[] content, int keysExpected)
    {
        var text = Encoding.Latin1.GetString(content);
        var redacted = Redact(text, out var blocks);
        return blocks >= keysExpected ? Encoding.Latin1.GetBytes(redacted) : null;
    }

    [GeneratedRegex(@"-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----[\s\S]*?-----END \1-----")]
    private static partial Regex PrivateKeyPem();
}

/// <summary>Stands in front of the staff raw and attachment downloads for everyone but admins.</summary>
public sealed partial class KeyRedactionMiddleware(RequestDelegate next, Database database, ILogger<KeyRedactionMiddleware> log)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        if (!HttpMethods.IsGet(ctx.Request.Method) || ctx.User.Identity?.IsAuthenticated != true || KeyRedaction.MaySeeKeys(ctx.User)
            || !path.StartsWith("/staff/", StringComparison.OrdinalIgnoreCase))
        {
            await next(ctx);
            return;
        }
        var raw = RawPath().Match(path);
        var att = AttachmentPath().Match(path);
        if (!raw.Success && !att.Success)
        {
            await next(ctx);
            return;
        }
        await using var db = database.Open();
        byte[]? content = null;
        string fileName;
        int keys;
        if (raw.Success)
        {
            var id = long.Parse(raw.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
            keys = await db.EvidenceFindings.Where(f => f.MessageId == id && (f.Kind == FindingKinds.PrivateKey || f.Kind == FindingKinds.EncryptedPrivateKey))
                .Select(f => f.Location).Distinct().CountAsync();
            if (keys == 0) { await next(ctx); return; }
            var m = await db.Messages.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id);
            if (m is null) { await next(ctx); return; }
            content = (await BlobStore.GetAsync(db, m.RawSha256))?.Content;
            fileName = $"message-{id}-redacted.{(m.Channel == "email" ? "eml" : "raw")}";
        }
        else
        {
            var id = long.Parse(att.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var a = await db.Attachments.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id);
            if (a is null) { await next(ctx); return; }
            var name = a.FileName;
            keys = await db.EvidenceFindings.Where(f => f.MessageId == a.MessageId && (f.Kind == FindingKinds.PrivateKey || f.Kind == FindingKinds.EncryptedPrivateKey)
                    && f.Location.Contains("'" + name + "'"))
                .Select(f => f.Location).Distinct().CountAsync();
            if (keys == 0) { await next(ctx); return; }
            content = (await BlobStore.GetAsync(db, a.Sha256))?.Content;
            fileName = "redacted-" + name;
        }
        if (content is null) { await next(ctx); return; }
        var redacted = KeyRedaction.RedactBytes(content, keys);
        log.LogInformation("Download {Path} by {User}: private-key material {Outcome}", path, ctx.User.Identity?.Name, redacted is null ? "refused" : "redacted");
        if (redacted is null)
        {
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            await ctx.Response.WriteAsJsonAsync(new
            {
                type = "about:blank", title = "Private key material", status = 403,
                detail = "This carries private-key material in an encoded part that cannot be redacted; only an admin can download it. The evidence (SPKI, proofs) is on the report page.",
            }, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
            return;
        }
        ctx.Response.Headers.Append("X-CprDesk-Redacted", "private-key");
        await Results.File(redacted, "application/octet-stream", fileName).ExecuteAsync(ctx);
    }

    [GeneratedRegex(@"^/staff/(?:reports/[^/]+/)?messages/(?<id>\d+)/raw$", RegexOptions.IgnoreCase)]
    private static partial Regex RawPath();

    [GeneratedRegex(@"^/staff/reports/[^/]+/attachments/(?<id>\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex AttachmentPath();
}
