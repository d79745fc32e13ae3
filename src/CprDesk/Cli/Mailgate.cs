// `cprdesk mailgate`: for an MTA's pipe or alias. Reads one message on stdin and submits it to the server.
// Exit codes follow sysexits(3), which MTAs understand: 0 stored, 75 try again later, 77 not allowed,
// 65 the message was refused for good, 2 usage.
using System.Net;
using System.Net.Http.Headers;

namespace CprDesk.Cli;

public static class Mailgate
{
    public const int Stored = 0;
    public const int DataError = 65;     // EX_DATAERR: refused (too large, not a message)
    public const int TempFail = 75;      // EX_TEMPFAIL: the MTA keeps the message and retries
    public const int NoPermission = 77;  // EX_NOPERM: the token was refused

    public static async Task<int> RunAsync(string url, string? token, string? tokenFile, string? sender, string[] recipients, Stream input, TextWriter error, CancellationToken ct)
    {
        try
        {
            if (token is null && tokenFile is not null) token = (await File.ReadAllTextAsync(tokenFile, ct)).Trim();
            token ??= Environment.GetEnvironmentVariable("CPRDESK_MAILGATE_TOKEN");
        }
        catch (IOException ex)
        {
            // The MTA keeps the message: a missing token file is fixable without losing mail.
            await error.WriteLineAsync($"cprdesk mailgate: cannot read the token file: {ex.Message}");
            return TempFail;
        }
        if (string.IsNullOrWhiteSpace(token))
        {
            await error.WriteLineAsync("cprdesk mailgate: no token (use --token-file, or CPRDESK_MAILGATE_TOKEN); the MTA will retry");
            return TempFail;
        }
        byte[] message;
        using (var ms = new MemoryStream())
        {
            await input.CopyToAsync(ms, ct);
            message = ms.ToArray();
        }
        var query = new List<string>();
        if (sender is not null) query.Add("from=" + Uri.EscapeDataString(sender));
        if (recipients.Length > 0) query.Add("to=" + Uri.EscapeDataString(string.Join(',', recipients)));
        var target = url.TrimEnd('/') + "/api/v1/inbound/rfc822" + (query.Count > 0 ? "?" + string.Join('&', query) : "");
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
            using var content = new ByteArrayContent(message);
            content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
            using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = content };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            switch (response.StatusCode)
            {
                case HttpStatusCode.Accepted:
                    Console.WriteLine(body);
                    return Stored;
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                    await error.WriteLineAsync($"cprdesk mailgate: the server refused the token ({(int)response.StatusCode})");
                    return NoPermission;
                case HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest:
                    await error.WriteLineAsync($"cprdesk mailgate: the server refused the message ({(int)response.StatusCode}): {body}");
                    return DataError;
                default:
                    await error.WriteLineAsync($"cprdesk mailgate: the server answered {(int)response.StatusCode}; the MTA will retry");
                    return TempFail;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            await error.WriteLineAsync($"cprdesk mailgate: {target} is unreachable ({ex.Message}); the MTA will retry");
            return TempFail;
        }
    }
}
