namespace CprDesk.Tests.Support;

public static class Repo
{
    /// <summary>The checkout's root (where CprDesk.slnx is), for scripts under tests/tools.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "CprDesk.slnx"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
