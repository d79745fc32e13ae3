// Turns an OutgoingMessage into RFC 5322 + MIME bytes: ASCII headers, CRLF lines, nothing longer than 998 octets.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CprDesk.Mail.Outgoing;

public static class MessageWriter
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Fields the writer produces itself; an extra header with one of these names would duplicate or
    /// contradict them (Bcc and Return-Path have no place in a message handed to a relay).</summary>
    private static readonly HashSet<string> ReservedNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References",
        "Subject", "MIME-Version", "Return-Path",
    };

    /// <summary>Writes the message. Throws <see cref="ArgumentException"/> naming the offending field for anything
    /// that cannot be written faithfully: CR or LF in a header value (header injection), control characters,
    /// malformed addresses or message ids, reserved extra header names, unpaired surrogates.</summary>
    public static byte[] Write(OutgoingMessage m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var h = new HeaderBuilder();

        h.Field("Date", FormatDate(m.Date));
        WriteAddresses(h, "From", nameof(m.From), [m.From ?? throw new ArgumentException("From is required.", nameof(m.From))]);
        if (m.ReplyTo is not null) WriteAddresses(h, "Reply-To", nameof(m.ReplyTo), [m.ReplyTo]);
        if (m.To is null || m.To.Count == 0) throw new ArgumentException("To needs at least one address.", nameof(m.To));
        WriteAddresses(h, "To", nameof(m.To), m.To, indexed: true);
        if (m.Cc is { Count: > 0 }) WriteAddresses(h, "Cc", nameof(m.Cc), m.Cc, indexed: true);

        MailSyntax.RequireMessageId(m.MessageId, nameof(m.MessageId));
        h.Field("Message-ID", $"<{m.MessageId}>");
        if (m.InReplyTo is not null)
        {
            MailSyntax.RequireForeignMessageId(m.InReplyTo, nameof(m.InReplyTo));
            h.Field("In-Reply-To", $"<{m.InReplyTo}>");
        }
        if (m.References is { Count: > 0 })
        {
            h.StartField("References");
            for (var i = 0; i < m.References.Count; i++)
            {
                MailSyntax.RequireForeignMessageId(m.References[i], $"References[{i}]");
                h.Token(" ", $"<{m.References[i]}>");
            }
            h.EndField();
        }

        MailSyntax.RequireHeaderText(m.Subject, nameof(m.Subject));
        h.StartField("Subject");
        h.Unstructured(m.Subject);
        h.EndField();

        for (var i = 0; i < (m.ExtraHeaders?.Count ?? 0); i++)
        {
            var (name, value) = m.ExtraHeaders![i];
            var field = $"ExtraHeaders[{i}]";
            MailSyntax.RequireHeaderName(name, field);
            if (ReservedNames.Contains(name) || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"{field}: {name} is written by MessageWriter itself.", field);
            MailSyntax.RequireHeaderText(value, $"{field} ({name})");
            h.StartField(name);
            h.Unstructured(value);
            h.EndField();
        }

        h.Field("MIME-Version", "1.0");

        ArgumentNullException.ThrowIfNull(m.TextBody, nameof(m.TextBody));
        MailSyntax.RequireWellFormed(m.TextBody, nameof(m.TextBody));
        var (encoding, text) = EncodeText(m.TextBody);
        var attachments = m.Attachments ?? [];

        if (attachments.Count == 0)
        {
            h.Field("Content-Type", "text/plain; charset=utf-8");
            h.Field("Content-Transfer-Encoding", encoding);
            return Concat(Encoding.ASCII.GetBytes(h.ToString()), "\r\n"u8.ToArray(), text);
        }

        var parts = attachments.Select((a, i) => AttachmentPart(a, $"Attachments[{i}]")).ToList();
        var boundary = ChooseBoundary(m.MessageId, text, encoding);
        h.StartField("Content-Type");
        h.Token(" ", "multipart/mixed;");
        h.Token(" ", $"boundary=\"{boundary}\"");
        h.EndField();

        using var body = new MemoryStream();
        void Ascii(string s) => body.Write(Encoding.ASCII.GetBytes(s));
        Ascii(h.ToString());
        // RFC 2046 §5.1.1: the CRLF before each "--boundary" belongs to the delimiter, not to the part before it.
        Ascii($"\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n");
        body.Write(text);
        foreach (var (headers, content) in parts)
        {
            Ascii($"\r\n--{boundary}\r\n");
            Ascii(headers);
            Ascii("\r\n");
            Ascii(content);
        }
        Ascii($"\r\n--{boundary}--\r\n");
        return body.ToArray();
    }

    private static void WriteAddresses(HeaderBuilder h, string name, string property, IReadOnlyList<OutgoingAddress> list, bool indexed = false)
    {
        h.StartField(name);
        for (var i = 0; i < list.Count; i++)
        {
            var field = indexed ? $"{property}[{i}]" : property;
            var a = list[i] ?? throw new ArgumentException($"{field} is null.", field);
            MailSyntax.RequireMailbox(a.Address, $"{field}.Address");
            var comma = i < list.Count - 1 ? "," : "";
            if (string.IsNullOrEmpty(a.DisplayName))
            {
                h.Token(" ", a.Address + comma);
                continue;
            }
            MailSyntax.RequireHeaderText(a.DisplayName, $"{field}.DisplayName");
            h.Phrase(a.DisplayName);
            h.Token(" ", $"<{a.Address}>{comma}");
        }
        h.EndField();
    }

    /// <summary>RFC 5322 §3.3 date-time with the value's own offset, e.g. "Tue, 03 Feb 2026 09:05:00 +0100".</summary>
    internal static string FormatDate(DateTimeOffset date)
    {
        if (date.Year < 1900) throw new ArgumentException("Date must be in or after 1900 (RFC 5322 §3.3).", nameof(OutgoingMessage.Date));
        var offset = date.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        return date.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture)
               + $"{sign}{abs.Hours:D2}{abs.Minutes:D2}";
    }

    /// <summary>Normalizes line ends to CRLF and ends the text with one. Plain ASCII with lines of at most 998
    /// octets (RFC 5322 §2.1.1) goes as 7bit; anything else as quoted-printable, so the message is 7-bit clean
    /// and needs no 8BITMIME from relays.</summary>
    private static (string Encoding, byte[] Bytes) EncodeText(string body)
    {
        var sb = new StringBuilder(body.Length + 16);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c == '\r')
            {
                if (i + 1 < body.Length && body[i + 1] == '\n') i++;
                sb.Append("\r\n");
            }
            else if (c == '\n') sb.Append("\r\n");
            else sb.Append(c);
        }
        if (sb.Length > 0 && !(sb.Length >= 2 && sb[^2] == '\r' && sb[^1] == '\n')) sb.Append("\r\n");
        var bytes = Utf8.GetBytes(sb.ToString());

        var sevenBit = true;
        var lineLength = 0;
        foreach (var b in bytes)
        {
            if (b == '\n') { lineLength = 0; continue; }
            if (b != '\r') lineLength++;
            if (b is 0 or >= 0x80 || lineLength > 998) { sevenBit = false; break; }
        }
        return sevenBit ? ("7bit", bytes) : ("quoted-printable", QuotedPrintable.Encode(bytes));
    }

    /// <summary>A boundary derived from the content, so the same message always gives the same bytes. "=_" cannot
    /// occur in base64 or quoted-printable output (RFC 2045 §6.7 writes "=" only before hex digits or CRLF); only
    /// a 7bit text part could contain it, and that is checked.</summary>
    private static string ChooseBoundary(string messageId, byte[] text, string encoding)
    {
        for (var attempt = 0; ; attempt++)
        {
            var seed = Utf8.GetBytes($"{attempt}:{messageId}:").Concat(text).ToArray();
            var boundary = "=_cprdesk_" + Convert.ToHexStringLower(SHA256.HashData(seed))[..32];
            if (encoding != "7bit" || text.AsSpan().IndexOf(Encoding.ASCII.GetBytes(boundary)) < 0) return boundary;
        }
    }

    private static (string Headers, string Content) AttachmentPart(OutgoingAttachment a, string field)
    {
        if (a is null) throw new ArgumentException($"{field} is null.", field);
        ArgumentNullException.ThrowIfNull(a.Content, $"{field}.Content");
        var (mediaType, parameters) = ParseContentType(a.ContentType, $"{field}.ContentType");
        MailSyntax.RequireHeaderText(a.FileName, $"{field}.FileName");
        if (a.FileName.Length == 0) throw new ArgumentException($"{field}.FileName is empty.", $"{field}.FileName");

        var h = new HeaderBuilder();
        var simpleName = IsSimpleFileName(a.FileName);
        h.StartField("Content-Type");
        var typeTokens = new List<string> { mediaType };
        typeTokens.AddRange(parameters);
        // Many readers still look for the name here (RFC 2045 §5.1 name parameter is deprecated, RFC 2183 §2.3).
        if (simpleName && !parameters.Any(p => p.StartsWith("name=", StringComparison.OrdinalIgnoreCase)))
            typeTokens.Add($"name={HeaderBuilder.Quote(a.FileName)}");
        for (var i = 0; i < typeTokens.Count; i++) h.Token(" ", typeTokens[i] + (i < typeTokens.Count - 1 ? ";" : ""));
        h.EndField();

        h.StartField("Content-Disposition");
        h.Token(" ", "attachment;");
        if (simpleName)
        {
            h.Token(" ", $"filename={HeaderBuilder.Quote(a.FileName)}");
        }
        else
        {
            var segments = Rfc2231Segments(a.FileName);
            for (var i = 0; i < segments.Count; i++)
                h.Token(" ", $"filename*{i}*={segments[i]}" + (i < segments.Count - 1 ? ";" : ""));
        }
        h.EndField();
        h.Field("Content-Transfer-Encoding", "base64");
        return (h.ToString(), Base64Lines(a.Content));
    }

    /// <summary>Short printable ASCII goes in a plain quoted-string; anything else, or anything a lenient reader
    /// might take for an encoded-word, goes RFC 2231-encoded.</summary>
    private static bool IsSimpleFileName(string name) =>
        name.Length <= 60 && name.All(c => c is >= ' ' and <= '~' and not ('"' or '\\'))
        && !name.Contains("=?", StringComparison.Ordinal);

    /// <summary>RFC 2231 §3/§4: charset'language'value, percent-encoded, split into continuations short enough to
    /// fold; splits fall between code points so each piece is also valid UTF-8 on its own.</summary>
    private static List<string> Rfc2231Segments(string value)
    {
        const int maxSegment = 50;
        var segments = new List<string>();
        var current = new StringBuilder("utf-8''");
        var piecesInCurrent = 0;
        var buffer = new byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            var n = rune.EncodeToUtf8(buffer);
            var piece = new StringBuilder();
            for (var k = 0; k < n; k++)
            {
                var b = buffer[k];
                // RFC 5987 attr-char, the characters RFC 2231 values may carry unencoded.
                if (b < 0x80 && (char.IsAsciiLetterOrDigit((char)b) || "!#$&+-.^_`|~".Contains((char)b))) piece.Append((char)b);
                else piece.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            if (piecesInCurrent > 0 && current.Length + piece.Length > maxSegment)
            {
                segments.Add(current.ToString());
                current.Clear();
                piecesInCurrent = 0;
            }
            current.Append(piece);
            piecesInCurrent++;
        }
        segments.Add(current.ToString());
        return segments;
    }

    private static string Base64Lines(byte[] content)
    {
        // RFC 2045 §6.8: encoded lines of at most 76 characters.
        var b64 = Convert.ToBase64String(content);
        var sb = new StringBuilder(b64.Length + b64.Length / 76 * 2 + 2);
        for (var i = 0; i < b64.Length; i += 76)
        {
            if (i > 0) sb.Append("\r\n");
            sb.Append(b64, i, Math.Min(76, b64.Length - i));
        }
        return sb.ToString();
    }

    /// <summary>type/subtype with optional parameters (RFC 2045 §5.1), returned re-serialized as tokens.
    /// Composite types are refused: RFC 2045 §6.4 and RFC 2046 §5.2.1 forbid base64 for multipart and message.</summary>
    private static (string MediaType, List<string> Parameters) ParseContentType(string? value, string field)
    {
        MailSyntax.RequireNoLineBreak(value, field);
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{field} is empty.", field);
        var s = value.AsSpan();
        var semicolon = s.IndexOf(';');
        var media = (semicolon < 0 ? s : s[..semicolon]).Trim();
        var slash = media.IndexOf('/');
        if (slash < 0 || !MailSyntax.IsMimeToken(media[..slash]) || !MailSyntax.IsMimeToken(media[(slash + 1)..]))
            throw new ArgumentException($"{field} '{value}' is not type/subtype (RFC 2045 §5.1).", field);
        var mediaType = media.ToString().ToLowerInvariant();
        if (mediaType.StartsWith("multipart/", StringComparison.Ordinal) || mediaType.StartsWith("message/", StringComparison.Ordinal))
            throw new ArgumentException($"{field}: {mediaType} cannot be sent base64-encoded (RFC 2045 §6.4, RFC 2046 §5.2.1); use application/octet-stream.", field);

        var parameters = new List<string>();
        var i = semicolon < 0 ? s.Length : semicolon;
        while (i < s.Length)
        {
            // s[i] == ';'
            i++;
            while (i < s.Length && s[i] is ' ' or '\t') i++;
            if (i == s.Length) break;
            var nameStart = i;
            while (i < s.Length && s[i] != '=') i++;
            var name = s[nameStart..i].Trim();
            if (i == s.Length || !MailSyntax.IsMimeToken(name))
                throw new ArgumentException($"{field} has a malformed parameter in '{value}'.", field);
            i++;
            string paramValue;
            if (i < s.Length && s[i] == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i]);
                    i++;
                }
                if (i == s.Length) throw new ArgumentException($"{field} has an unterminated quoted parameter value.", field);
                i++;
                paramValue = sb.ToString();
            }
            else
            {
                var valueStart = i;
                while (i < s.Length && s[i] != ';') i++;
                paramValue = s[valueStart..i].Trim().ToString();
            }
            while (i < s.Length && s[i] is ' ' or '\t') i++;
            if (i < s.Length && s[i] != ';') throw new ArgumentException($"{field} has a malformed parameter in '{value}'.", field);
            if (paramValue.Any(c => c is < ' ' or > '~'))
                throw new ArgumentException($"{field} parameter values must be printable ASCII.", field);
            parameters.Add($"{name.ToString().ToLowerInvariant()}={(MailSyntax.IsMimeToken(paramValue) ? paramValue : HeaderBuilder.Quote(paramValue))}");
        }
        return (mediaType, parameters);
    }

    private static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, offset);
            offset += p.Length;
        }
        return result;
    }
}
