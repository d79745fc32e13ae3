// A parsed message: its headers read into typed values, its entity tree, its leaves, chosen body text and defects.
namespace CprDesk.Mail.Mime;

/// <summary>
/// A parsed RFC 5322 message. Typed header values are parsed once at construction; parse problems are in
/// <see cref="Defects"/>. Dispose deletes the temp files of spooled leaves (also those of encapsulated messages).
/// </summary>
public sealed class MimeMessage : IDisposable
{
    internal MimeMessage(HeaderList headers, MimeEntity body, List<MimeDefect> ownDefects, long size)
    {
        Headers = headers;
        Body = body;
        Size = size;
        var d = ownDefects;

        if (headers.First("Subject") is { } subject) Subject = EncodedWords.Decode(subject.RawValue, d);
        From = Addresses(headers, "From", d);
        To = Addresses(headers, "To", d);
        Cc = Addresses(headers, "Cc", d);
        ReplyTo = Addresses(headers, "Reply-To", d);
        Sender = headers.First("Sender") is { } sender ? AddressParser.ParseList(sender.RawValue, d).FirstOrDefault() : null;
        if (headers.First("Date") is { } date) Date = DateParser.Parse(date.RawValue, d);
        if (headers.First("Message-ID") is { } id) MessageId = MessageIds.ParseOne(id.RawValue, d);
        InReplyTo = headers.First("In-Reply-To") is { } irt ? MessageIds.ParseList(irt.RawValue, d) : [];
        References = headers.First("References") is { } refs ? MessageIds.ParseList(refs.RawValue, d) : [];

        var leaves = new List<MimePart>();
        CollectLeaves(body, leaves);
        Leaves = leaves;
        TextBodyPart = BodyFinder.Find(body);
        if (TextBodyPart is { } part)
        {
            var text = part.GetText();
            TextBody = NormalizeNewlines(part.ContentType.MediaSubtype == "html" ? HtmlText.ToText(text) : text);
        }
        // "Attachments": every leaf other than the chosen body that is marked as one, or is not text, or carries a filename.
        Attachments = leaves.Where(l => !ReferenceEquals(l, TextBodyPart)
                                        && (l.ContentDisposition == "attachment" || l.ContentType.MediaType != "text" || l.FileName is not null)).ToList();
        var all = new List<MimeDefect>(ownDefects);
        CollectDefects(body, all);
        Defects = all;
    }

    public HeaderList Headers { get; }

    public MimeEntity Body { get; }

    /// <summary>Subject, RFC 2047-decoded; null when absent.</summary>
    public string? Subject { get; }

    public IReadOnlyList<MailboxAddress> From { get; }

    public IReadOnlyList<MailboxAddress> To { get; }

    public IReadOnlyList<MailboxAddress> Cc { get; }

    public IReadOnlyList<MailboxAddress> ReplyTo { get; }

    public MailboxAddress? Sender { get; }

    /// <summary>The Date header; null when absent or unreadable (then with an "invalid-date" defect).</summary>
    public DateTimeOffset? Date { get; }

    /// <summary>Message-ID without angle brackets.</summary>
    public string? MessageId { get; }

    public IReadOnlyList<string> InReplyTo { get; }

    public IReadOnlyList<string> References { get; }

    /// <summary>All leaves, depth first, including those inside encapsulated messages.</summary>
    public IReadOnlyList<MimePart> Leaves { get; }

    /// <summary>Leaves other than the chosen body text that are attachments, non-text, or carry a filename.</summary>
    public IReadOnlyList<MimePart> Attachments { get; }

    /// <summary>The leaf <see cref="TextBody"/> comes from (text/plain preferred, else text/html), or null.</summary>
    public MimePart? TextBodyPart { get; }

    /// <summary>The body as plain text with "\n" line endings: the chosen text/plain, or the chosen text/html converted to text.</summary>
    public string? TextBody { get; }

    /// <summary>Defects of this message, all its parts and all encapsulated messages.</summary>
    public IReadOnlyList<MimeDefect> Defects { get; }

    /// <summary>Raw bytes this message took in the input.</summary>
    public long Size { get; }

    public void Dispose()
    {
        foreach (var leaf in Leaves) leaf.Dispose();
    }

    private static IReadOnlyList<MailboxAddress> Addresses(HeaderList headers, string name, List<MimeDefect> defects)
    {
        var result = new List<MailboxAddress>();
        foreach (var h in headers.All(name)) result.AddRange(AddressParser.ParseList(h.RawValue, defects));
        return result;
    }

    private static void CollectLeaves(MimeEntity entity, List<MimePart> leaves)
    {
        switch (entity)
        {
            case MimePart p:
                leaves.Add(p);
                break;
            case Multipart m:
                foreach (var c in m.Children) CollectLeaves(c, leaves);
                break;
            case MessagePart mp:
                leaves.AddRange(mp.Message.Leaves);
                break;
        }
    }

    private static void CollectDefects(MimeEntity entity, List<MimeDefect> defects)
    {
        defects.AddRange(entity.DefectList);
        switch (entity)
        {
            case Multipart m:
                foreach (var c in m.Children) CollectDefects(c, defects);
                break;
            case MessagePart mp:
                defects.AddRange(mp.Message.Defects);
                break;
        }
    }

    private static string NormalizeNewlines(string s) => s.Contains('\r') ? s.Replace("\r\n", "\n").Replace('\r', '\n') : s;
}

/// <summary>Chooses the body text the way a reader would: text/plain first, else text/html, never an attachment.</summary>
internal static class BodyFinder
{
    public static MimePart? Find(MimeEntity root)
    {
        MimePart? html = null;
        var plain = Walk(root, ref html);
        return plain ?? html;
    }

    // Returns the first text/plain reached; remembers the first text/html. Encapsulated messages are not entered: a
    // forwarded message is content of its own, not this message's body. In multipart/related only the root part
    // (the "start" parameter, else the first part; RFC 2387 §3.2) can be the body.
    private static MimePart? Walk(MimeEntity e, ref MimePart? html)
    {
        if (e.ContentDisposition == "attachment") return null;
        switch (e)
        {
            case MimePart p when p.ContentType.MediaType == "text":
                if (p.ContentType.MediaSubtype == "plain") return p;
                if (p.ContentType.MediaSubtype == "html") html ??= p;
                return null;
            case Multipart m when m.ContentType.MediaSubtype == "related":
                if (m.Children.Count == 0) return null;
                var start = m.ContentType.Parameters.TryGetValue("start", out var s) ? s.Trim() : null;
                var root = start is null ? null : m.Children.FirstOrDefault(c => string.Equals(c.Headers["Content-ID"]?.Trim(), start, StringComparison.Ordinal));
                return Walk(root ?? m.Children[0], ref html);
            case Multipart m:
                foreach (var c in m.Children)
                {
                    if (Walk(c, ref html) is { } found) return found;
                }
                return null;
            default:
                return null;
        }
    }
}

/// <summary>msg-id values (RFC 5322 §3.6.4) without their angle brackets.</summary>
internal static class MessageIds
{
    public static string? ParseOne(string raw, List<MimeDefect> defects)
    {
        var ids = ParseList(raw, defects);
        return ids.Count > 0 ? ids[0] : null;
    }

    public static IReadOnlyList<string> ParseList(string raw, List<MimeDefect> defects)
    {
        var s = Rfc822Lexer.StripComments(raw);
        var result = new List<string>();
        var i = 0;
        while (i < s.Length)
        {
            var lt = s.IndexOf('<', i);
            if (lt < 0) break;
            var gt = s.IndexOf('>', lt + 1);
            if (gt < 0) break;
            // obs-id-left and obs-id-right allow CFWS inside; it carries no meaning.
            var id = string.Concat(s[(lt + 1)..gt].Where(c => !char.IsWhiteSpace(c)));
            if (id.Length > 0) result.Add(id);
            i = gt + 1;
        }
        if (result.Count == 0)
        {
            // No angle brackets at all: take bare words that look like ids, as some software writes them.
            foreach (var word in s.Split([' ', '\t', ',', '<', '>'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (word.Contains('@')) result.Add(word);
            }
            if (s.Trim().Length > 0) defects.Add(new MimeDefect(DefectCodes.InvalidMessageId, $"msg-id without angle brackets: '{Charsets.Truncate(s.Trim())}'"));
        }
        return result;
    }
}
