// Runs the real app (`cprdesk serve`) as a child process on a free loopback port with a fresh data directory,
// and reads its base URL and the first admin's one-time password from what it prints.
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace CprDesk.BrowserTests;

public sealed partial class CprDeskServer : IAsyncDisposable
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly string _dataDir;
    private readonly StringBuilder _output;

    public string BaseUrl { get; }
    public string AdminUsername { get; }
    public string AdminOneTimePassword { get; }

    private CprDeskServer(Process process, string dataDir, string baseUrl, string adminUsername, string adminPassword, StringBuilder output)
    {
        _process = process;
        _dataDir = dataDir;
        BaseUrl = baseUrl;
        AdminUsername = adminUsername;
        AdminOneTimePassword = adminPassword;
        _output = output;
    }

    /// <summary>Everything the app printed so far (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static async Task<CprDeskServer> StartAsync()
    {
        var dll = FindAppDll();
        var appDir = Path.GetDirectoryName(dll)!;
        var dataDir = Directory.CreateTempSubdirectory("cprdesk-browser-").FullName;

        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = appDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { dll, "serve", "--data", dataDir, "--urls", "http://127.0.0.1:0", "--smtp", "127.0.0.1:0" }) psi.ArgumentList.Add(a);
        // The test runner's own settings must not leak into the app (e.g. a CprDesk__Urls in the environment).
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("CprDesk__", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        var output = new StringBuilder();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var password = new TaskCompletionSource<(string User, string Password)>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? pendingUser = null;
        var sawAdminHeader = false;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } m) url.TrySetResult(m.Groups[1].Value.TrimEnd('/'));
            else if (e.Data.StartsWith("First admin account created", StringComparison.Ordinal)) sawAdminHeader = true;
            else if (sawAdminHeader && UsernameLine().Match(e.Data) is { Success: true } u) pendingUser = u.Groups[1].Value;
            else if (sawAdminHeader && pendingUser is not null && PasswordLine().Match(e.Data) is { Success: true } p)
                password.TrySetResult((pendingUser, p.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine("[stderr] " + e.Data);
        };
        process.Exited += (_, _) =>
        {
            var ex = new InvalidOperationException($"cprdesk serve exited early (code {SafeExitCode(process)}).");
            url.TrySetException(ex);
            password.TrySetException(ex);
        };

        if (!process.Start()) throw new InvalidOperationException("Could not start 'dotnet'.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var both = Task.WhenAll(url.Task, password.Task);
            await both.WaitAsync(StartupTimeout);
            var (user, pw) = await password.Task;
            return new CprDeskServer(process, dataDir, await url.Task, user, pw, output);
        }
        catch (Exception ex)
        {
            await StopAsync(process);
            TryDelete(dataDir);
            string printed;
            lock (output) printed = output.ToString();
            throw new InvalidOperationException(
                $"cprdesk serve did not print its URL and the first admin's password within {StartupTimeout.TotalSeconds:0} s " +
                $"({ex.GetType().Name}: {ex.Message}). App: {dll}. It printed:\n{printed}", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_process);
        _process.Dispose();
        TryDelete(_dataDir);
    }

    private static async Task StopAsync(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(cts.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
        catch (OperationCanceledException)
        {
            // It did not die in time; nothing more we can do from here.
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string SafeExitCode(Process p)
    {
        try { return p.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture); }
        catch (InvalidOperationException) { return "?"; }
    }

    /// <summary>Set to a cprdesk.dll to test that build (e.g. a published one) instead of the referenced project's.</summary>
    public const string AppDllVariable = "CPRDESK_BROWSERTESTS_APP_DLL";

    /// <summary>$CPRDESK_BROWSERTESTS_APP_DLL if set; else cprdesk.dll next to the test assembly if it was copied there;
    /// else the referenced project's build output.</summary>
    private static string FindAppDll()
    {
        if (Environment.GetEnvironmentVariable(AppDllVariable) is { Length: > 0 } explicitDll)
            return File.Exists(explicitDll) ? Path.GetFullPath(explicitDll)
                : throw new FileNotFoundException($"{AppDllVariable} names {explicitDll}, which does not exist.");
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "cprdesk.dll") };
        var fromBuild = typeof(CprDeskServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "CprDeskAppDir")?.Value;
        if (fromBuild is not null) candidates.Add(Path.Combine(Path.GetFullPath(fromBuild), "cprdesk.dll"));
        var found = candidates.FirstOrDefault(File.Exists);
        return found ?? throw new FileNotFoundException(
            "cprdesk.dll not found; build src/CprDesk first (dotnet build builds it through the ProjectReference). Looked in: " +
            string.Join(", ", candidates));
    }

    [GeneratedRegex(@"^\s+Listening on:\s+(https?://\S+)\s*$")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^\s+username:\s+(\S+)\s*$")]
    private static partial Regex UsernameLine();

    [GeneratedRegex(@"^\s+password:\s+(\S+)\s*$")]
    private static partial Regex PasswordLine();
}
