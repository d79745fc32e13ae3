// Runs swaks and python3 as real SMTP peers; a missing tool fails the test naming its Debian package.
using System.Diagnostics;

namespace CprDesk.Mail.Tests.Smtp.Server.Support;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public string Transcript => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

public static class ExternalTool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The full path of <paramref name="command"/> on PATH; fails (never skips) when it is missing.</summary>
    public static string Require(string command, string debianPackage)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        Assert.Fail($"'{command}' is not on PATH: these tests need the Debian package '{debianPackage}' (apt-get install {debianPackage}).");
        return "";
    }

    public static async Task<ToolResult> RunAsync(string path, params string[] arguments)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {path}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(path)} did not finish within {Timeout.TotalSeconds} s");
        }
        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// A helper script committed beside these tests, found by walking up from the test binaries
    /// (bin/Config/tfm → project folder), which works however the build maps source paths.
    /// </summary>
    public static string FindScript(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Smtp", "Server", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        Assert.Fail($"{name} not found above {AppContext.BaseDirectory}");
        return "";
    }
}
