// Reads our messages back with Python's email package (policy.default), an independent RFC 5322/MIME parser.
using System.Text.Json;

namespace CprDesk.Mail.Tests.Outgoing;

internal sealed record ParsedAddress(string Name, string Address);

internal sealed record ParsedAttachment(string FileName, string ContentType, byte[] Content);

internal sealed record ParsedMessage(
    string Subject,
    IReadOnlyList<ParsedAddress> From,
    IReadOnlyList<ParsedAddress> To,
    IReadOnlyList<ParsedAddress>? Cc,
    IReadOnlyList<ParsedAddress>? ReplyTo,
    string MessageId,
    string? InReplyTo,
    IReadOnlyList<string> References,
    DateTimeOffset Date,
    string? Body,
    string BodyTransferEncoding,
    IReadOnlyList<ParsedAttachment> Attachments,
    IReadOnlyDictionary<string, string> Extra,
    IReadOnlyList<string> Defects);

internal static class PythonEmailReader
{
    private const string Script = """
        # Reads messages (one base64 JSON line each on stdin) with Python's email package; one JSON line out each.
        import base64, email, email.policy, email.utils, json, sys
        from email.header import decode_header

        STANDARD = {'date', 'from', 'to', 'cc', 'reply-to', 'subject', 'message-id', 'in-reply-to', 'references',
                    'mime-version', 'content-type', 'content-transfer-encoding'}

        def unfold(value):
            # RFC 5322 2.2.3: unfolding removes each CRLF that is followed by whitespace.
            return value.replace('\r', '').replace('\n', '')

        def display_name(raw_name, modern_name):
            # Python 3.11's policy.default keeps the whitespace between adjacent encoded-words in a display name
            # (CPython gh-128110, against RFC 2047 6.2) and squeezes whitespace inside one. email.header's decoder
            # follows 6.2, so encoded names are read with it; every other name is policy.default's reading.
            if '=?' not in raw_name:
                return modern_name
            return ''.join(part.decode(charset or 'ascii') if isinstance(part, bytes) else part
                           for part, charset in decode_header(raw_name))

        def addresses(headers, raw_headers, name):
            header = headers.get(name)
            if header is None:
                return None
            parsed = [a for group in header.groups for a in group.addresses]
            raw = email.utils.getaddresses([unfold(raw_headers[name])])
            if len(raw) != len(parsed):
                raise ValueError(f'{name}: policy.default found {len(parsed)} addresses, email.utils {len(raw)}')
            return [{'Name': display_name(r[0], p.display_name), 'Address': p.addr_spec} for r, p in zip(raw, parsed)]

        def ids(value):
            return [] if value is None else [t.strip('<>') for t in str(value).split()]

        HEADERS_ONLY = {'date', 'from', 'to', 'cc', 'reply-to', 'subject', 'message-id'}

        def headers_of(part, where, defects, only=None):
            # Each access to part[name] parses the field again, so every field is parsed once, here.
            headers = {}
            for name in part.keys():
                if only is not None and name.lower() not in only:
                    continue
                value = part[name]
                headers[name.lower()] = value
                headers.setdefault('_items', []).append((name, value))
                defects += [f'{where} {name}: {type(d).__name__}: {d}' for d in getattr(value, 'defects', ())]
            defects += [f'{where}: {type(d).__name__}: {d}' for d in part.defects]
            return headers

        for line in sys.stdin:
            request = json.loads(line)
            raw = base64.b64decode(request['b64'])
            m = email.message_from_bytes(raw, policy=email.policy.default)
            raw_headers = {k.lower(): v for k, v in email.message_from_bytes(raw, policy=email.policy.compat32).items()}
            defects = []
            headers = headers_of(m, 'message', defects, HEADERS_ONLY if request['headersOnly'] else None)
            attachments = []
            body, cte = None, None
            for part in [] if request['headersOnly'] else m.walk() if m.is_multipart() else [m]:
                if part is not m:
                    headers_of(part, 'part', defects)
                if part.is_multipart():
                    continue
                if part.get_content_disposition() == 'attachment':
                    attachments.append({'FileName': part.get_filename(), 'ContentType': part.get_content_type(),
                                        'Content': base64.b64encode(part.get_payload(decode=True)).decode()})
                elif body is None and part.get_content_type() == 'text/plain':
                    body, cte = part.get_content(), part['content-transfer-encoding']
            print(json.dumps({
                'Subject': str(headers['subject']),
                'From': addresses(headers, raw_headers, 'from'),
                'To': addresses(headers, raw_headers, 'to'),
                'Cc': addresses(headers, raw_headers, 'cc'),
                'ReplyTo': addresses(headers, raw_headers, 'reply-to'),
                'MessageId': str(headers['message-id']).strip().strip('<>'),
                'InReplyTo': None if 'in-reply-to' not in headers else str(headers['in-reply-to']).strip().strip('<>'),
                'References': ids(headers.get('references')),
                'Date': headers['date'].datetime.isoformat(),
                'Body': body,
                'BodyTransferEncoding': str(cte),
                'Attachments': attachments,
                'Extra': {k: str(v) for k, v in headers['_items'] if k.lower() not in STANDARD},
                'Defects': defects,
            }, ensure_ascii=True))
        """;

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = false };

    /// <param name="headersOnly">Skip the body and attachments (Body comes back null), for bulk header tests.</param>
    /// <param name="processes">Python processes to share the work: its header parser, not ours, is the slow part.</param>
    public static async Task<List<ParsedMessage>> ReadAsync(
        IReadOnlyList<byte[]> messages, bool headersOnly = false, int processes = 1, TimeSpan? timeout = null)
    {
        var input = messages.Select(m => JsonSerializer.Serialize(new { b64 = Convert.ToBase64String(m), headersOnly })).ToList();
        var share = (input.Count + processes - 1) / processes;
        var runs = input.Chunk(Math.Max(1, share))
            .Select(chunk => PythonTool.RunLinesAsync("read_messages.py", Script, chunk, timeout ?? TimeSpan.FromSeconds(60)));
        var output = (await Task.WhenAll(runs)).SelectMany(lines => lines).ToList();
        Assert.Equal(messages.Count, output.Count);
        return output.Select(line => JsonSerializer.Deserialize<ParsedMessage>(line, Json)!).ToList();
    }

    public static async Task<ParsedMessage> ReadAsync(byte[] message) => (await ReadAsync([message]))[0];
}
