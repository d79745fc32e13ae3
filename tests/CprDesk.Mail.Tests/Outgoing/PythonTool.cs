// Runs Python 3 scripts for the tests: Python's email package and a small SMTP sink are the independent peers.
using System.Diagnostics;
using System.Text;

namespace CprDesk.Mail.Tests.Outgoing;

internal static class PythonTool
{
    private static readonly Lazy<string?> Found = new(() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, "python3"))
        .FirstOrDefault(File.Exists));

    /// <summary>python3 on PATH, or a failed test that names the Debian package to install.</summary>
    public static string Executable =>
        Found.Value ?? throw new Xunit.Sdk.XunitException(
            "python3 was not found on PATH. These tests check our mail against Python's standard library " +
            "(email, asyncio, ssl): install Debian's package python3 (apt-get install python3).");

    /// <summary>One directory per test run, removed when the run ends.</summary>
    private static readonly Lazy<string> Root = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("cprdesk-mail-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Left for the system's temp cleaning.
            }
        };
        return root;
    });

    /// <summary>A fresh directory inside the run's temp directory.</summary>
    public static string TempDirectory() => Directory.CreateDirectory(Path.Combine(Root.Value, Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>Writes the script to a fresh file under the run's temp directory.</summary>
    public static string WriteScript(string name, string source)
    {
        var path = Path.Combine(TempDirectory(), name);
        File.WriteAllText(path, source, new UTF8Encoding(false));
        return path;
    }

    public static Process Start(string scriptPath, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add(scriptPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PYTHONIOENCODING"] = "utf-8";
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        return Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
    }

    /// <summary>Runs a script that answers each stdin line with one stdout line, feeding and reading at the same
    /// time so neither pipe can fill up and stall the other.</summary>
    public static async Task<List<string>> RunLinesAsync(string scriptName, string source, IReadOnlyList<string> input, TimeSpan timeout)
    {
        var script = WriteScript(scriptName, source);
        using var process = Start(script, []);
        using var cts = new CancellationTokenSource(timeout);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        var feed = Task.Run(async () =>
        {
            foreach (var line in input) await process.StandardInput.WriteLineAsync(line.AsMemory(), cts.Token);
            process.StandardInput.Close();
        }, cts.Token);
        var output = new List<string>(input.Count);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line) output.Add(line);
            await process.WaitForExitAsync(cts.Token);
            if (process.ExitCode != 0) throw new Xunit.Sdk.XunitException($"{scriptName} exited with {process.ExitCode}:\n{await stderr}");
            await feed;
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{scriptName} did not finish within {timeout}; it had answered {output.Count} of {input.Count} lines.");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(script)!, recursive: true);
        }
        return output;
    }
}
