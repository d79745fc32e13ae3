// The parsed Content-Type of an entity (RFC 2045 §5), with RFC 2231-decoded parameters.
namespace CprDesk.Mail.Mime;

/// <summary>A media type. Type and subtype are lower-cased; parameter names are case-insensitive; values are RFC 2231-decoded.</summary>
public sealed record ContentType(string MediaType, string MediaSubtype, IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>RFC 2045 §5.2: the type assumed when Content-Type is missing or invalid.</summary>
    public static ContentType TextPlain { get; } = new("text", "plain", new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>RFC 2046 §5.1.5: the default type of the parts of a multipart/digest.</summary>
    internal static ContentType MessageRfc822 { get; } = new("message", "rfc822", new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));

    public string MimeType => $"{MediaType}/{MediaSubtype}";

    public string? Charset => Parameters.TryGetValue("charset", out var v) && v.Trim().Length > 0 ? v.Trim() : null;

    public string? Boundary => Parameters.TryGetValue("boundary", out var v) && v.Length > 0 ? v : null;

    public string? Name => Parameters.TryGetValue("name", out var v) && v.Length > 0 ? v : null;

    public bool Is(string type, string subtype) => MediaType == type && MediaSubtype == subtype;

    /// <summary>Parses a Content-Type value. Invalid syntax gives text/plain (RFC 2045 §5.2) with an "invalid-content-type" defect, keeping any parameters.</summary>
    public static ContentType Parse(string value, List<MimeDefect>? defects = null)
    {
        var (main, parameters) = HeaderParameters.Parse(value, defects);
        var slash = main.IndexOf('/');
        if (slash > 0 && slash < main.Length - 1)
        {
            var type = main[..slash].Trim().ToLowerInvariant();
            var subtype = main[(slash + 1)..].Trim().ToLowerInvariant();
            if (HeaderParameters.IsToken(type) && HeaderParameters.IsToken(subtype)) return new ContentType(type, subtype, parameters);
        }
        defects?.Add(new MimeDefect(DefectCodes.InvalidContentType, $"invalid Content-Type '{Charsets.Truncate(main)}', taken as text/plain"));
        return new ContentType("text", "plain", parameters);
    }

    public override string ToString() => MimeType;
}
