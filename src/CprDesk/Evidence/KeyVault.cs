// Private keys sent as evidence are encrypted at rest with AES-256-GCM. The key comes from configuration
// (CprDesk:Evidence:KeyEncryptionKey, base64 of 32 bytes); without it a development key is generated once into
// the data directory (evidence.kek, owner-only), like the cookie keys in keys/.
using System.Security.Cryptography;

namespace CprDesk.Evidence;

public sealed class KeyVault
{
    public const string ConfigKey = "CprDesk:Evidence:KeyEncryptionKey";
    public const string FileName = "evidence.kek";
    private readonly byte[] _key;

    public KeyVault(byte[] key)
    {
        if (key.Length != 32) throw new ArgumentException("The key-encryption key must be 32 bytes (AES-256).", nameof(key));
        _key = key;
    }

    /// <summary>From configuration when set (a bad value is a start-up error), else the data directory's generated key.</summary>
    public static KeyVault Load(string? configured, string dataDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            byte[] key;
            try { key = Convert.FromBase64String(configured.Trim()); }
            catch (FormatException) { throw new InvalidOperationException($"{ConfigKey} is not base64."); }
            if (key.Length != 32) throw new InvalidOperationException($"{ConfigKey} must be base64 of exactly 32 bytes; it has {key.Length}.");
            return new KeyVault(key);
        }
        var path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        if (File.Exists(path)) return new KeyVault(Convert.FromBase64String(File.ReadAllText(path).Trim()));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var fresh = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var w = new StreamWriter(path, options);
            w.Write(Convert.ToBase64String(fresh));
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process made it first: use theirs.
            return new KeyVault(Convert.FromBase64String(File.ReadAllText(path).Trim()));
        }
        return new KeyVault(fresh);
    }

    /// <summary>The report's challenge text: unpredictable before the report exists (an HMAC under this key), yet
    /// the same every time, so the status page can show it from the first second.</summary>
    public string ChallengeFor(string ticket)
    {
        var mac = HMACSHA256.HashData(_key, System.Text.Encoding.UTF8.GetBytes("cprdesk-challenge:" + ticket));
        return $"CprDesk key-compromise proof for {ticket}: {Convert.ToHexStringLower(mac.AsSpan(0, 16))}";
    }

    public byte[] Encrypt(byte[] plaintext, string associated)
    {
        var output = new byte[12 + 16 + plaintext.Length];
        var nonce = output.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key, 16);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(28), output.AsSpan(12, 16), System.Text.Encoding.UTF8.GetBytes(associated));
        return output;
    }

    public byte[] Decrypt(byte[] sealedBytes, string associated)
    {
        var plain = new byte[sealedBytes.Length - 28];
        using var gcm = new AesGcm(_key, 16);
        gcm.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), plain, System.Text.Encoding.UTF8.GetBytes(associated));
        return plain;
    }
}
