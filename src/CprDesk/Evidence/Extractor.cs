// Finds evidence in everything a report carries: text, HTML, attachments, archives (zip, tar, tar.gz) and
// nested messages. Pure: bytes in, findings out. Archives are hostile input (zip bombs), so entry count,
// expanded bytes and nesting depth are bounded, and what is skipped is said as an "unreadable" finding.
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using CprDesk.Mail.Mime;

namespace CprDesk.Evidence;

public sealed partial class Extractor
{
    private readonly ExtractionLimits _limits;
    private readonly List<Finding> _findings = [];
    private readonly HashSet<(string Kind, string Value, string Location)> _seen = [];
    private long _expanded;
    private int _entries;
    private bool _truncated;

    private Extractor(ExtractionLimits limits) => _limits = limits;

    /// <summary>Evidence in one email message (all parts, including encapsulated messages).</summary>
    public static IReadOnlyList<Finding> FromEmail(byte[] raw, string location, ExtractionLimits? limits = null)
    {
        var x = new Extractor(limits ?? new ExtractionLimits());
        x.Email(raw, location, 0);
        return x._findings;
    }

    /// <summary>Evidence in pasted text (a form's description or certificate field).</summary>
    public static IReadOnlyList<Finding> FromText(string text, string location, ExtractionLimits? limits = null)
    {
        var x = new Extractor(limits ?? new ExtractionLimits());
        x.Text(text, location);
        return x._findings;
    }

    /// <summary>Evidence in one file (an attachment): PEM or DER, an archive, a message, HTML or text.</summary>
    public static IReadOnlyList<Finding> FromFile(byte[] content, string fileName, string? contentType, string location, ExtractionLimits? limits = null)
    {
        var x = new Extractor(limits ?? new ExtractionLimits());
        x.File(content, fileName, contentType, location, 0);
        return x._findings;
    }

    private void Add(Finding f)
    {
        if (_findings.Count >= _limits.MaxFindings)
        {
            if (!_truncated)
            {
                _truncated = true;
                _findings.Add(new Finding(FindingKinds.Unreadable, "limit", f.Location) { Reason = $"More than {_limits.MaxFindings} findings; the rest were not extracted." });
            }
            return;
        }
        if (_seen.Add((f.Kind, f.Value, f.Location))) _findings.Add(f);
    }

    private void Skip(string location, string reason) => Add(new Finding(FindingKinds.Unreadable, "skipped", location) { Reason = reason });

    private void Email(byte[] raw, string location, int depth)
    {
        using var mime = MimeParser.Parse(raw);
        var i = 0;
        foreach (var part in mime.Leaves)
        {
            i++;
            var name = part.FileName is { Length: > 0 } fn ? $"part {i} '{fn}'" : part == mime.TextBodyPart ? "body" : $"part {i} ({part.ContentType.MimeType})";
            var where = $"{location} › {name}";
            if (part.DecodedLength > _limits.MaxEntryBytes)
            {
                Skip(where, $"{part.DecodedLength} bytes is more than the {_limits.MaxEntryBytes}-byte limit per part");
                continue;
            }
            using var stream = part.OpenDecoded();
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            var bytes = ms.ToArray();
            var type = part.ContentType.MimeType;
            if (type == "text/plain" && part.FileName is null) Text(part.GetText(), where);
            else if (type == "text/html" && part.FileName is null) Html(part.GetText(), where);
            else File(bytes, part.FileName ?? "", type, where, depth);
        }
    }

    private void File(byte[] content, string fileName, string? contentType, string location, int depth)
    {
        if (content.Length == 0) return;
        var lower = fileName.ToLowerInvariant();
        if (IsZip(content)) { Zip(content, location, depth); return; }
        if (IsGzip(content)) { Gzip(content, location, depth); return; }
        if (IsTar(content)) { Tar(content, location, depth); return; }
        if (lower.EndsWith(".eml", StringComparison.Ordinal) || contentType is "message/rfc822" or "message/global")
        {
            if (depth >= _limits.MaxDepth) { Skip(location, $"a message nested deeper than {_limits.MaxDepth} levels"); return; }
            Email(content, location, depth + 1);
            return;
        }
        if (content[0] == 0x30)
        {
            var der = CryptoObjects.FromDer(content, location);
            if (der.Count > 0)
            {
                foreach (var f in der) Add(f);
                return;
            }
        }
        if (LooksBinary(content))
        {
            var ext = Path.GetExtension(lower);
            if (ext is ".der" or ".cer" or ".crt" or ".key" or ".csr" or ".req" or ".crl" or ".p7b" or ".p7c" or ".pub")
                Skip(location, $"a {ext} file that is not a certificate, key, CSR, CRL or PKCS#7 bundle CprDesk can read (truncated or damaged?)");
            return;
        }
        var text = DecodeText(content);
        if (contentType == "text/html" || lower.EndsWith(".html", StringComparison.Ordinal) || lower.EndsWith(".htm", StringComparison.Ordinal)) Html(text, location);
        else Text(text, location);
    }

    private void Html(string html, string location)
    {
        // Links live in attributes that the text rendering drops: scan the markup for URLs, the text for the rest.
        foreach (Match m in UrlRegex().Matches(html)) Url(System.Net.WebUtility.HtmlDecode(m.Value), location);
        Text(HtmlText.ToText(html), location);
    }

    /// <summary>PEM blocks, then loose identifiers in what is left.</summary>
    private void Text(string text, string location)
    {
        var blocks = 0;
        var rest = text.Contains("-----BEGIN", StringComparison.Ordinal)
            ? PemRegex().Replace(text, m =>
            {
                blocks++;
                Pem(m.Groups[1].Value, m.Groups[2].Value, blocks, location);
                return "\n";
            })
            : text;
        if (rest.Length > _limits.MaxTextScanChars) return;
        foreach (Match m in UrlRegex().Matches(rest)) Url(m.Value, location);
        var withoutUrls = UrlRegex().Replace(rest, " ");
        foreach (Match m in ColonHexRegex().Matches(withoutUrls))
        {
            var hex = Hex.Normalize(m.Value);
            Hexish(hex, location, colons: true);
        }
        var noColon = ColonHexRegex().Replace(withoutUrls, " ");
        foreach (Match m in SerialLabelRegex().Matches(noColon))
            Add(new Finding(FindingKinds.Serial, Hex.NormalizeSerial(m.Groups[1].Value), location) { Serial = Hex.NormalizeSerial(m.Groups[1].Value) });
        foreach (Match m in PlainHexRegex().Matches(noColon)) Hexish(m.Value.ToLowerInvariant(), location, colons: false);
        var domains = 0;
        foreach (Match m in DomainRegex().Matches(noColon))
        {
            if (m.Index > 0 && noColon[m.Index - 1] == '@') continue; // an email address, not a certificate name
            var d = m.Value.ToLowerInvariant().TrimEnd('.');
            var tld = d[(d.LastIndexOf('.') + 1)..];
            if (NotTlds.Contains(tld)) continue;
            if (++domains > 1000) break;
            Add(new Finding(FindingKinds.Domain, d, location));
        }
    }

    private void Hexish(string hex, string location, bool colons)
    {
        switch (hex.Length)
        {
            case 64:
                Add(new Finding(FindingKinds.Sha256, hex, location) { Sha256 = hex });
                break;
            case 40:
                // 20 bytes is both a SHA-1 fingerprint and the longest serial the BRs allow: kept as sha1, matched as both.
                Add(new Finding(FindingKinds.Sha1, hex, location) { Serial = Hex.NormalizeSerial(hex) });
                break;
            default:
                if (hex.Length >= (colons ? 8 : 16) && hex.Length <= 42)
                    Add(new Finding(FindingKinds.Serial, Hex.NormalizeSerial(hex), location) { Serial = Hex.NormalizeSerial(hex) });
                break;
        }
    }

    private void Url(string url, string location)
    {
        url = url.TrimEnd('.', ',', ';', ')', ']', '>', '"', '\'');
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return;
        if (uri.Host.Equals("crt.sh", StringComparison.OrdinalIgnoreCase))
        {
            var q = System.Web.HttpUtility.ParseQueryString(uri.Query);
            foreach (var key in new[] { "id", "sha256", "serial", "spkisha256", "q" })
            {
                var v = q[key];
                if (string.IsNullOrWhiteSpace(v)) continue;
                var value = key == "id" ? v.Trim() : key == "serial" ? Hex.NormalizeSerial(v) : Hex.Normalize(v);
                if (key != "id" && !Hex.IsHex(value)) continue;
                var k = key == "q" ? (value.Length == 64 ? "sha256" : "serial") : key;
                Add(new Finding(FindingKinds.CrtSh, $"{k}={value}", location)
                {
                    Sha256 = k == "sha256" ? value : null, Serial = k == "serial" ? value : null, SpkiSha256 = k == "spkisha256" ? value : null,
                    Reason = url,
                });
                return;
            }
            return;
        }
        if (uri.AbsolutePath.EndsWith(".crl", StringComparison.OrdinalIgnoreCase) && uri.Scheme is "http" or "https")
            Add(new Finding(FindingKinds.CrlUrl, uri.AbsoluteUri, location));
    }

    private void Pem(string label, string body, int index, string location)
    {
        var where = $"{location} › PEM block {index} ({label})";
        var headers = new StringBuilder();
        var b64 = new StringBuilder(body.Length);
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Contains(':')) headers.Append(line).Append('\n');
            else b64.Append(line);
        }
        byte[] der;
        try
        {
            der = Convert.FromBase64String(b64.ToString());
        }
        catch (FormatException)
        {
            Add(new Finding(FindingKinds.Unreadable, label, where) { Reason = $"The {label} PEM block is not valid base64." });
            return;
        }
        if (label == "CPRDESK CHALLENGE SIGNATURE")
        {
            Add(new Finding(FindingKinds.ChallengeSignature, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(der)), where) { Der = der });
            return;
        }
        foreach (var f in CryptoObjects.FromPem(label, der, headers.ToString(), where)) Add(f);
    }

    private bool Budget(string location, long bytes)
    {
        _entries++;
        _expanded += bytes;
        if (_entries > _limits.MaxArchiveEntries) { Skip(location, $"more than {_limits.MaxArchiveEntries} archive entries in this report; the rest were not opened"); return false; }
        if (_expanded > _limits.MaxExpandedBytes) { Skip(location, $"more than {_limits.MaxExpandedBytes} bytes expanded from archives; the rest were not opened"); return false; }
        return true;
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; null if there was more (the size in a header is not trusted).</summary>
    private static byte[]? ReadBounded(Stream s, long max)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (ms.Length + n > max) return null;
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }

    private long Remaining => Math.Min(_limits.MaxEntryBytes, Math.Max(0, _limits.MaxExpandedBytes - _expanded));

    private void Zip(byte[] content, string location, int depth)
    {
        if (depth >= _limits.MaxDepth) { Skip(location, $"an archive nested deeper than {_limits.MaxDepth} levels"); return; }
        try
        {
            using var zip = new ZipArchive(new MemoryStream(content), ZipArchiveMode.Read);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue;
                var where = $"{location} › {entry.FullName}";
                if (_entries >= _limits.MaxArchiveEntries || _expanded >= _limits.MaxExpandedBytes) { Budget(where, 0); return; }
                using var s = entry.Open();
                var bytes = ReadBounded(s, Remaining);
                if (bytes is null) { Skip(where, $"expands beyond the size limit ({Remaining} bytes left of {_limits.MaxExpandedBytes}); not opened"); _expanded = _limits.MaxExpandedBytes; continue; }
                if (!Budget(where, bytes.Length)) return;
                File(bytes, entry.Name, null, where, depth + 1);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            Skip(location, $"a zip archive that could not be read: {ex.Message}");
        }
    }

    private void Gzip(byte[] content, string location, int depth)
    {
        if (depth >= _limits.MaxDepth) { Skip(location, $"an archive nested deeper than {_limits.MaxDepth} levels"); return; }
        try
        {
            using var gz = new GZipStream(new MemoryStream(content), CompressionMode.Decompress);
            var bytes = ReadBounded(gz, Remaining);
            if (bytes is null) { Skip(location, $"gzip data that expands beyond the size limit ({_limits.MaxExpandedBytes} bytes); not opened"); return; }
            if (!Budget(location, bytes.Length)) return;
            File(bytes, "", null, $"{location} › gunzip", depth + 1);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            Skip(location, $"gzip data that could not be read: {ex.Message}");
        }
    }

    private void Tar(byte[] content, string location, int depth)
    {
        if (depth >= _limits.MaxDepth) { Skip(location, $"an archive nested deeper than {_limits.MaxDepth} levels"); return; }
        try
        {
            using var tar = new TarReader(new MemoryStream(content));
            while (tar.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                var where = $"{location} › {entry.Name}";
                if (entry.Length > Remaining) { Skip(where, $"{entry.Length} bytes is beyond the size limit; not opened"); continue; }
                var bytes = ReadBounded(entry.DataStream, Remaining);
                if (bytes is null) continue;
                if (!Budget(where, bytes.Length)) return;
                File(bytes, Path.GetFileName(entry.Name), null, where, depth + 1);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException or ArgumentException)
        {
            Skip(location, $"a tar archive that could not be read: {ex.Message}");
        }
    }

    private static bool IsZip(byte[] b) => b.Length >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
    private static bool IsGzip(byte[] b) => b.Length >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8;
    private static bool IsTar(byte[] b) => b.Length >= 512 && b.AsSpan(257, 5).SequenceEqual("ustar"u8);

    private static bool LooksBinary(byte[] b)
    {
        var n = Math.Min(b.Length, 4096);
        for (var i = 0; i < n; i++) if (b[i] == 0) return true;
        return false;
    }

    private static string DecodeText(byte[] b)
    {
        try { return new UTF8Encoding(false, true).GetString(b); }
        catch (DecoderFallbackException) { return Encoding.Latin1.GetString(b); }
    }

    private static readonly HashSet<string> NotTlds = ["pem", "crt", "cer", "der", "csr", "key", "zip", "tar", "gz", "tgz", "txt", "eml", "html", "htm",
        "json", "crl", "p7b", "p7c", "p7s", "pdf", "png", "jpg", "jpeg", "gif", "exe", "cs", "md", "xml", "csv", "log", "sh", "py", "js", "doc", "docx", "pfx", "p12"];

    [GeneratedRegex(@"-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END \1-----")]
    private static partial Regex PemRegex();

    [GeneratedRegex(@"https?://[^\s""'<>]{1,2000}", RegexOptions.IgnoreCase)]
    private static partial Regex UrlRegex();

    [GeneratedRegex(@"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}[:\-]){3,40}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")]
    private static partial Regex ColonHexRegex();

    [GeneratedRegex(@"(?<![0-9A-Za-z])[0-9A-Fa-f]{16,64}(?![0-9A-Za-z])")]
    private static partial Regex PlainHexRegex();

    [GeneratedRegex(@"serial(?:\s*(?:number|no\.?|#))?\s*[:=]?\s*(?:0x)?([0-9A-Fa-f]{2,15})(?![0-9A-Za-z])", RegexOptions.IgnoreCase)]
    private static partial Regex SerialLabelRegex();

    [GeneratedRegex(@"(?<![A-Za-z0-9\-.])(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])")]
    private static partial Regex DomainRegex();
}
