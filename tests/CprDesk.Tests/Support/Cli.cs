using System.Diagnostics;

namespace CprDesk.Tests.Support;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the built `cprdesk` executable as a separate process, as an operator would.</summary>
public static class Cli
{
    public static string AppDll { get; } = FindAppDll();

    private static string FindAppDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        // tests/CprDesk.Tests/bin/<Configuration>/net10.0/ → src/CprDesk/bin/<Configuration>/net10.0/cprdesk.dll
        var configuration = here.Parent!.Name;
        for (var d = here; d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "src", "CprDesk", "bin", configuration, "net10.0", "cprdesk.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("cprdesk.dll not found; build src/CprDesk first.");
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    public static async Task<CliResult> RunWithInputAsync(byte[]? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(AppDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        if (stdin is not null)
        {
            await p.StandardInput.BaseStream.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }
}
