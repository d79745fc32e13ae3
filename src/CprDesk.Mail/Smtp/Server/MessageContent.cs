// The bytes of a received message, in memory or in an owner-only spool file, and the sink that fills them.
using System.Security.Cryptography;

namespace CprDesk.Mail.Smtp.Server;

/// <summary>Finished message bytes; readable any number of times until disposed.</summary>
internal abstract class MessageContent : IAsyncDisposable
{
    public abstract Stream OpenRead();

    public abstract ValueTask DisposeAsync();
}

internal sealed class MemoryContent(byte[] buffer, int length) : MessageContent
{
    private volatile bool _disposed;

    public override Stream OpenRead()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new MemoryStream(buffer, 0, length, writable: false);
    }

    public override ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A spool file. The writing handle stays open until disposal and was opened DeleteOnClose, so the
/// file disappears with it; readers open the path again so each gets its own position.
/// </summary>
internal sealed class FileContent(FileStream writer) : MessageContent
{
    private int _disposed;

    public override Stream OpenRead()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new FileStream(writer.Name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, FileOptions.SequentialScan);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Receives the unstuffed DATA bytes: counts them, hashes them (SHA-256, incrementally) and keeps them
/// in memory up to a threshold, then in a spool file. Past the size limit, or after a spool failure,
/// it keeps counting but stores nothing, so the session can read to the end of DATA in bounded memory.
/// </summary>
internal sealed class MessageSpool : IAsyncDisposable
{
    private readonly long _maxBytes;
    private readonly long _memoryThreshold;
    private readonly string _spoolDirectory;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private MemoryStream? _memory = new();
    private FileStream? _file;
    private bool _handedOver;

    public MessageSpool(long maxBytes, long memoryThreshold, string spoolDirectory)
    {
        _maxBytes = maxBytes;
        _memoryThreshold = memoryThreshold;
        _spoolDirectory = spoolDirectory;
    }

    /// <summary>Bytes seen so far, including those discarded past the limit.</summary>
    public long Length { get; private set; }

    public bool Oversized => Length > _maxBytes;

    /// <summary>Set when the spool file could not be written; the message must then not be acknowledged.</summary>
    public Exception? Failure { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.IsEmpty)
        {
            return;
        }
        Length += data.Length;
        if (Oversized || Failure is not null)
        {
            await ReleaseStorageAsync().ConfigureAwait(false);
            return;
        }
        _hash.AppendData(data.Span);
        try
        {
            if (_file is null && _memory!.Length + data.Length <= _memoryThreshold)
            {
                _memory.Write(data.Span);
                return;
            }
            if (_file is null)
            {
                _file = CreateSpoolFile();
                await _file.WriteAsync(_memory!.GetBuffer().AsMemory(0, (int)_memory.Length), ct).ConfigureAwait(false);
                _memory = null;
            }
            await _file.WriteAsync(data, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failure = e;
            await ReleaseStorageAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Finishes the bytes (neither oversized nor failed) and hands over their ownership.</summary>
    public async ValueTask<(MessageContent Content, string Sha256)> CompleteAsync(CancellationToken ct)
    {
        if (Oversized || Failure is not null || _handedOver)
        {
            throw new InvalidOperationException("The spool has no complete message to hand over.");
        }
        var sha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
        MessageContent content;
        if (_file is not null)
        {
            await _file.FlushAsync(ct).ConfigureAwait(false);
            content = new FileContent(_file);
        }
        else
        {
            content = new MemoryContent(_memory!.GetBuffer(), (int)_memory.Length);
        }
        _handedOver = true;
        return (content, sha256);
    }

    public async ValueTask DisposeAsync()
    {
        _hash.Dispose();
        if (!_handedOver)
        {
            await ReleaseStorageAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask ReleaseStorageAsync()
    {
        _memory = null;
        if (_file is not null)
        {
            var file = _file;
            _file = null;
            try
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Disposing flushes; a disk that failed before may fail again. The bytes are being dropped anyway.
            }
        }
    }

    private FileStream CreateSpoolFile()
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read | FileShare.Delete,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
            BufferSize = 64 * 1024,
        };
        if (!OperatingSystem.IsWindows())
        {
            // Mail may hold private keys (a CPR can prove key compromise by including one): owner-only.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        var path = Path.Combine(_spoolDirectory, $"cprdesk-smtp-{Guid.NewGuid():N}.spool");
        return new FileStream(path, options);
    }
}
