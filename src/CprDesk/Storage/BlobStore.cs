using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Storage;

/// <summary>Content-addressed, immutable bytes (raw messages, attachments).</summary>
public static class BlobStore
{
    public static async Task<string> PutAsync(CprDeskDb db, byte[] content)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        if (db.Blobs.Local.Any(b => b.Sha256 == sha) || await db.Blobs.AnyAsync(b => b.Sha256 == sha)) return sha;
        db.Blobs.Add(new Blob { Sha256 = sha, Size = content.LongLength, Content = content });
        return sha;
    }

    public static Task<Blob?> GetAsync(CprDeskDb db, string sha256) => db.Blobs.AsNoTracking().FirstOrDefaultAsync(b => b.Sha256 == sha256);
}
