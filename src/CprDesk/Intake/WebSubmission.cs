// Reads a web-form or JSON-API submission from the raw bytes that were stored, so that processing (and
// reprocessing after a crash) always starts from the stored original.
using System.Text;
using System.Text.Json;
using CprDesk.Reports;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace CprDesk.Intake;

public sealed class WebSubmission
{
    public string? ReporterEmail { get; set; }
    public string? ReporterName { get; set; }
    public string? ProblemType { get; set; }
    public List<string> Certificates { get; set; } = [];
    public string? Description { get; set; }
    public List<NewAttachment> Attachments { get; set; } = [];
}

public static class ProblemTypes
{
    /// <summary>What a reporter may say the problem is. Informational only: it never relaxes a clock.</summary>
    public static readonly IReadOnlyList<(string Code, string Label)> All =
    [
        ("unknown", "I don't know"),
        ("key-compromise", "Private key compromise"),
        ("misissuance", "Certificate issued in error / not compliant"),
        ("misuse", "Certificate misuse, phishing or fraud"),
        ("domain-control", "Domain control or CAA problem"),
        ("revocation-request", "Request to revoke my own certificate"),
        ("other", "Something else"),
    ];

    public static bool IsKnown(string code) => All.Any(p => p.Code == code);
}

public static class WebSubmissionParser
{
    public const int MaxCertificates = 1000;
    public const int MaxDescriptionChars = 200_000;

    /// <summary>Parses and validates. Throws <see cref="DeskException"/> naming the field at fault.</summary>
    public static async Task<WebSubmission> ParseAsync(string? contentType, byte[] body, long maxAttachmentBytes)
    {
        WebSubmission s;
        var mediaType = MediaTypeHeaderValue.TryParse(contentType, out var mt) ? mt.MediaType.ToString().ToLowerInvariant() : "";
        if (mediaType is "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal))
            s = ParseJson(body, maxAttachmentBytes);
        else if (mediaType == "multipart/form-data")
            s = await ParseMultipartAsync(mt!, body, maxAttachmentBytes);
        else if (mediaType == "application/x-www-form-urlencoded")
            s = ParseUrlEncoded(body);
        else
            throw DeskException.Invalid("body", $"Unsupported content type '{contentType}'. Send application/json or a form.");
        Validate(s, maxAttachmentBytes);
        return s;
    }

    private static WebSubmission ParseJson(byte[] body, long maxAttachmentBytes)
    {
        ApiBody? api;
        try
        {
            api = JsonSerializer.Deserialize<ApiBody>(body, JsonOpts);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            throw DeskException.Invalid(field, $"Invalid JSON at '{field}': {FirstLine(ex.Message)}");
        }
        if (api is null) throw DeskException.Invalid("body", "The body must be a JSON object.");
        var s = new WebSubmission
        {
            ReporterEmail = api.ReporterEmail, ReporterName = api.ReporterName, ProblemType = api.ProblemType,
            Description = api.Description,
        };
        if (api.Certificates is not null)
            for (var i = 0; i < api.Certificates.Count; i++)
            {
                if (api.Certificates[i] is not { } c) throw DeskException.Invalid($"certificates[{i}]", "Certificate identifiers must be strings.");
                s.Certificates.Add(c);
            }
        long total = 0;
        if (api.Attachments is not null)
            for (var i = 0; i < api.Attachments.Count; i++)
            {
                var a = api.Attachments[i] ?? throw DeskException.Invalid($"attachments[{i}]", "An attachment must be an object.");
                if (a.ContentBase64 is null) throw DeskException.Invalid($"attachments[{i}].contentBase64", "contentBase64 is required.");
                byte[] bytes;
                try { bytes = Convert.FromBase64String(a.ContentBase64); }
                catch (FormatException) { throw DeskException.Invalid($"attachments[{i}].contentBase64", "contentBase64 is not valid base64."); }
                total += bytes.LongLength;
                if (total > maxAttachmentBytes) throw TooLarge(maxAttachmentBytes);
                s.Attachments.Add(new NewAttachment(SafeFileName(a.FileName, i), "application/octet-stream", bytes));
            }
        return s;
    }

    private static async Task<WebSubmission> ParseMultipartAsync(MediaTypeHeaderValue mt, byte[] body, long maxAttachmentBytes)
    {
        var boundary = HeaderUtilities.RemoveQuotes(mt.Boundary).ToString();
        if (string.IsNullOrEmpty(boundary)) throw DeskException.Invalid("body", "The form has no multipart boundary.");
        var s = new WebSubmission();
        var reader = new MultipartReader(boundary, new MemoryStream(body, writable: false)) { BodyLengthLimit = null, HeadersLengthLimit = 64 * 1024 };
        long total = 0;
        MultipartSection? section;
        try
        {
            while ((section = await reader.ReadNextSectionAsync()) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var cd)) continue;
                var name = HeaderUtilities.RemoveQuotes(cd.Name).ToString();
                if (cd.IsFileDisposition())
                {
                    using var ms = new MemoryStream();
                    await section.Body.CopyToAsync(ms);
                    var fileName = HeaderUtilities.RemoveQuotes(cd.FileNameStar.HasValue ? cd.FileNameStar : cd.FileName).ToString();
                    if (ms.Length == 0 && string.IsNullOrEmpty(fileName)) continue; // an empty file input
                    total += ms.Length;
                    if (total > maxAttachmentBytes) throw TooLarge(maxAttachmentBytes);
                    s.Attachments.Add(new NewAttachment(SafeFileName(fileName, s.Attachments.Count),
                        string.IsNullOrWhiteSpace(section.ContentType) ? "application/octet-stream" : section.ContentType!, ms.ToArray()));
                }
                else
                {
                    using var sr = new StreamReader(section.Body, Encoding.UTF8);
                    Assign(s, name, await sr.ReadToEndAsync());
                }
            }
        }
        catch (IOException ex)
        {
            throw DeskException.Invalid("body", $"The form data is malformed: {FirstLine(ex.Message)}");
        }
        return s;
    }

    private static WebSubmission ParseUrlEncoded(byte[] body)
    {
        var s = new WebSubmission();
        foreach (var (key, values) in QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)))
            foreach (var v in values) Assign(s, key, v ?? "");
        return s;
    }

    private static void Assign(WebSubmission s, string field, string value)
    {
        switch (field)
        {
            case "reporterEmail": s.ReporterEmail = value; break;
            case "reporterName": s.ReporterName = value; break;
            case "problemType": s.ProblemType = value; break;
            case "description": s.Description = value; break;
            case "certificates": s.Certificates.AddRange(CertificateIdentifiers.SplitFreeText(value)); break;
        }
    }

    private static void Validate(WebSubmission s, long maxAttachmentBytes)
    {
        s.ReporterEmail = ReportDesk.RequireEmail("reporterEmail", s.ReporterEmail);
        s.ReporterName = Clean(s.ReporterName);
        if (s.ReporterName is { Length: > 200 }) throw DeskException.Invalid("reporterName", "reporterName is longer than 200 characters.");
        s.ProblemType = Clean(s.ProblemType);
        if (s.ProblemType is not null && !ProblemTypes.IsKnown(s.ProblemType))
            throw DeskException.Invalid("problemType", $"problemType must be one of: {string.Join(", ", ProblemTypes.All.Select(p => p.Code))}.");
        s.Certificates = s.Certificates.Select(c => c.Trim()).Where(c => c.Length > 0).ToList();
        if (s.Certificates.Count > MaxCertificates)
            throw DeskException.Invalid("certificates", $"At most {MaxCertificates} certificate identifiers per report; attach a file for more.");
        for (var i = 0; i < s.Certificates.Count; i++)
            if (s.Certificates[i].Length > CertificateIdentifiers.MaxValueLength)
                throw DeskException.Invalid($"certificates[{i}]", "A certificate identifier is too long; attach it as a file instead.");
        s.Description = s.Description?.Trim();
        if (string.IsNullOrEmpty(s.Description)) s.Description = null;
        if (s.Description is { Length: > MaxDescriptionChars })
            throw DeskException.Invalid("description", $"description is longer than {MaxDescriptionChars} characters; attach it as a file instead.");
        if (s.Description is null && s.Certificates.Count == 0)
            throw DeskException.Invalid("description", "Describe the problem, or give at least one certificate identifier.");
        if (s.Attachments.Sum(a => a.Content.LongLength) > maxAttachmentBytes) throw TooLarge(maxAttachmentBytes);
    }

    public static DeskException TooLarge(long max) =>
        new(DeskErrorKind.TooLarge, $"Attachments may total at most {Size(max)}. Send larger evidence as a link, or split it over several reports.", "attachments");

    public static string Size(long bytes) =>
        bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MB"
        : bytes >= 1024 ? $"{bytes / 1024} KB" : $"{bytes} bytes";

    private static string SafeFileName(string? name, int index)
    {
        var n = Path.GetFileName((name ?? "").Replace('\\', '/'));
        n = new string(n.Where(c => !char.IsControl(c)).ToArray()).Trim();
        if (n.Length == 0) n = $"attachment-{index + 1}";
        return n.Length > 200 ? n[..200] : n;
    }

    private static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private static readonly JsonSerializerOptions JsonOpts = new(JsonSerializerDefaults.Web) { AllowTrailingCommas = true };

    private sealed class ApiBody
    {
        public string? ReporterEmail { get; set; }
        public string? ReporterName { get; set; }
        public string? ProblemType { get; set; }
        public List<string?>? Certificates { get; set; }
        public string? Description { get; set; }
        public List<ApiAttachment?>? Attachments { get; set; }
    }

    private sealed class ApiAttachment
    {
        public string? FileName { get; set; }
        public string? ContentBase64 { get; set; }
    }
}
