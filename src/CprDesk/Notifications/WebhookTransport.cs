// Webhook delivery: POST the stored JSON body. 2xx is accepted; 4xx other than 408/429 is permanent; the rest retries.
using System.Net;

namespace CprDesk.Notifications;

public sealed class WebhookTransport(HttpClient http)
{
    public async Task<DeliveryResult> DeliverAsync(string url, byte[] json, CancellationToken ct)
    {
        try
        {
            using var content = new ByteArrayContent(json);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(url, content, ct);
            var code = (int)response.StatusCode;
            var reply = $"{code} {response.ReasonPhrase}";
            if (response.IsSuccessStatusCode) return new DeliveryResult(true, false, reply);
            var permanent = code is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            return new DeliveryResult(false, permanent, reply);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new DeliveryResult(false, false, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    public static bool IsValidUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp);
}
