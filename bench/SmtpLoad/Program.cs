using System.Globalization;
using System.Runtime.InteropServices;
using SmtpLoad;

Options? options;
try
{
    options = Options.Parse(args);
}
catch (OptionsException e)
{
    Console.Error.WriteLine($"smtpload: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
if (options is null)
{
    Console.WriteLine(Options.Usage);
    return 0;
}

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupt.Cancel();
};

var runId = Guid.NewGuid().ToString("N");
var cells = options.Concurrency.Count * options.Sizes.Count;
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"smtpload: {options.Label} -> {options.ServerText}: {cells} cell(s) of {options.Messages} messages, duration limit {options.DurationLimitSeconds} s per cell, timeout {options.TimeoutSeconds} s"));

var results = new List<CellResult>();
var index = 0;
foreach (var concurrency in options.Concurrency)
{
    foreach (var size in options.Sizes)
    {
        if (interrupt.IsCancellationRequested) break;
        index++;
        Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"  cell {index}/{cells}: concurrency {concurrency}, size {size} ... "));
        if (options.Warmup > 0)
        {
            var warm = await Cell.RunAsync(options with { Messages = options.Warmup, Label = options.Label + "-warmup" },
                concurrency, size, $"{runId}.{index:D2}w", interrupt.Token);
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"(warm-up {warm.Accepted}/{warm.Sent}) "));
        }
        var result = await Cell.RunAsync(options, concurrency, size, $"{runId}.{index:D2}", interrupt.Token);
        results.Add(result);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Accepted} accepted, {result.Failed} failed in {result.WallSeconds:0.00} s ({result.Throughput:0.0} msgs/s)"));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"SmtpLoad `{options.Label}` against {options.ServerText}, {options.Messages} messages per cell{(options.Warmup > 0 ? $" after {options.Warmup} warm-up messages" : "")}{(options.Attachment ? ", base64 attachment padding" : "")}{(options.Pipelining ? ", MAIL/RCPT/DATA pipelined when the server offers it" : ", no pipelining")}; {Environment.ProcessorCount} CPUs, {RuntimeInformation.FrameworkDescription}, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC"));
Console.WriteLine();
Report.WriteMarkdown(Console.Out, results);
if (options.CsvPath is not null) Report.WriteCsv(options.CsvPath, results);

if (interrupt.IsCancellationRequested)
{
    Console.Error.WriteLine("smtpload: interrupted");
    return 1;
}
var empty = results.Where(r => r.Accepted == 0).ToList();
if (empty.Count > 0)
{
    Console.Error.WriteLine($"smtpload: {empty.Count} cell(s) accepted no message");
    return 1;
}
return 0;
