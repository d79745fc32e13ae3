// Locates the committed .eml corpus and runs the Python reference parser over it.
using System.ComponentModel;
using System.Diagnostics;

namespace CprDesk.Mail.Tests.Mime;

internal static class Corpus
{
    /// <summary>The corpus directory in the source tree (tests run from bin/, so walk up to the project folder).</summary>
    public static string Directory { get; } = Locate();

    public static IReadOnlyList<string> Files => System.IO.Directory.GetFiles(Directory, "*.eml").OrderBy(f => f, StringComparer.Ordinal).ToList();

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Mime", "corpus");
            if (File.Exists(Path.Combine(dir.FullName, "CprDesk.Mail.Tests.csproj")) && System.IO.Directory.Exists(candidate)) return candidate;
            var fromRoot = Path.Combine(dir.FullName, "tests", "CprDesk.Mail.Tests", "Mime", "corpus");
            if (System.IO.Directory.Exists(fromRoot)) return fromRoot;
        }
        throw new InvalidOperationException($"corpus directory not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs corpus/pyparse.py once over the whole corpus and returns its JSON. Fails (never skips) without python3.</summary>
    public static string RunPythonReference()
    {
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(Directory, "pyparse.py"));
        psi.ArgumentList.Add(Directory);
        psi.Environment["PYTHONHASHSEED"] = "0";
        psi.Environment["PYTHONIOENCODING"] = "utf-8";
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"The differential test needs python3 on PATH (Debian: apt-get install python3); starting it failed: {e.Message}");
            throw;
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("pyparse.py did not finish within 2 minutes");
            }
            Assert.True(process.ExitCode == 0, $"pyparse.py failed with exit code {process.ExitCode}: {stderr.Result}");
            return stdout;
        }
    }
}
