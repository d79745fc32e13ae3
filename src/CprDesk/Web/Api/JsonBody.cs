// Reads a small JSON request body with a size limit; bad JSON is a 400 naming the field at fault.
using System.Text.Json;
using CprDesk.Reports;

namespace CprDesk.Web.Api;

public static class JsonBody
{
    /// <summary>The body deserialised, or null when it is empty.</summary>
    public static async Task<T?> ReadAsync<T>(HttpContext ctx, int maxBytes, JsonSerializerOptions options) where T : class
    {
        var tooLarge = $"The body may be at most {maxBytes / 1024} KB.";
        if (ctx.Request.ContentLength > maxBytes) throw DeskException.Invalid("body", tooLarge);
        using var ms = new MemoryStream();
        var chunk = new byte[16384];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (ms.Length + n > maxBytes) throw DeskException.Invalid("body", tooLarge);
            ms.Write(chunk, 0, n);
        }
        if (ms.Length == 0) return null;
        try
        {
            return JsonSerializer.Deserialize<T>(ms.ToArray(), options);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            throw DeskException.Invalid(field, $"Invalid JSON at '{field}': {ex.Message.Split('\n')[0]}");
        }
    }
}
