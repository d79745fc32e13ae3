namespace CprDesk.Tests.Support;

public class TempDir : IDisposable
{
    public string Path { get; }

    public TempDir() : this(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cprdesk-test-" + Guid.NewGuid().ToString("N"))) { }

    protected TempDir(string path)
    {
        Path = path;
        Directory.CreateDirectory(Path);
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>An existing directory handed to a host; removed with its parent.</summary>
public sealed class TempDirAt(string path) : TempDir(path);
