// Collects a decoded leaf: in memory up to the spool threshold, then in a temp file; hashes and counts as it goes.
using System.Security.Cryptography;

namespace CprDesk.Mail.Mime;

/// <summary>Write-once store for decoded bytes. Holds at most the threshold in memory; beyond it everything goes to a temp file.</summary>
internal sealed class Spool : IDisposable
{
    private readonly long _threshold;
    private readonly string _directory;
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private MemoryStream? _memory = new();
    private FileStream? _file;
    private string? _path;
    private bool _completed;

    public Spool(MimeParserOptions options)
    {
        _threshold = Math.Max(0, options.SpoolThresholdBytes);
        _directory = options.SpoolDirectory ?? Path.GetTempPath();
    }

    public long Length { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        _sha.AppendData(data);
        Length += data.Length;
        if (_memory is not null && Length > _threshold)
        {
            _path = Path.Combine(_directory, $"cprdesk-mime-{Guid.NewGuid():N}.part");
            _file = new FileStream(_path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.SequentialScan);
            _file.Write(_memory.GetBuffer(), 0, (int)_memory.Length);
            _memory = null;
        }
        if (_memory is not null) _memory.Write(data);
        else _file!.Write(data);
    }

    /// <summary>Finishes writing and hands the bytes over; the spool no longer owns a temp file afterwards.</summary>
    public PartContent Complete()
    {
        _completed = true;
        var hash = Convert.ToHexStringLower(_sha.GetHashAndReset());
        if (_file is not null)
        {
            _file.Dispose();
            _file = null;
            return new PartContent(null, _path, Length, hash);
        }
        var bytes = _memory!.ToArray();
        _memory = null;
        return new PartContent(bytes, null, Length, hash);
    }

    /// <summary>Reads back what was written so far, for text that is kept (preambles) rather than turned into a leaf.</summary>
    public byte[] Head(int max)
    {
        if (_memory is not null) return _memory.GetBuffer().AsSpan(0, (int)Math.Min(max, _memory.Length)).ToArray();
        _file!.Flush();
        using var read = new FileStream(_path!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[(int)Math.Min(max, Length)];
        read.ReadExactly(buffer);
        return buffer;
    }

    public void Dispose()
    {
        _sha.Dispose();
        _memory = null;
        _file?.Dispose();
        _file = null;
        if (!_completed && _path is not null) PartContent.TryDelete(_path);
    }
}

/// <summary>The decoded bytes of a leaf: a byte array, or a temp file that is deleted on Dispose.</summary>
internal sealed class PartContent(byte[]? bytes, string? path, long length, string sha256) : IDisposable
{
    private bool _disposed;

    public long Length { get; } = length;

    public string Sha256 { get; } = sha256;

    public string? FilePath => path;

    public Stream Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bytes is not null) return new MemoryStream(bytes, writable: false);
        return new FileStream(path!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, FileOptions.SequentialScan);
    }

    public byte[] ReadAll()
    {
        if (bytes is not null) return bytes;
        using var s = Open();
        var all = new byte[Length];
        s.ReadExactly(all);
        return all;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (path is not null) TryDelete(path);
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A reader still holding the file on a platform that forbids deleting open files; nothing more can be done.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
