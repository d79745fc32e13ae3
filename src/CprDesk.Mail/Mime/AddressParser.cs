// RFC 5322 §3.4 address-list parsing (mailboxes, groups, obsolete routes), tolerant of what real mail contains.
using System.Text;

namespace CprDesk.Mail.Mime;

/// <summary>Parses address headers (From, To, Cc, Reply-To, Sender...). Never throws; questionable input yields defects.</summary>
public static class AddressParser
{
    /// <summary>
    /// Parses an address-list into mailboxes. Groups contribute their members ("undisclosed-recipients:;" contributes none);
    /// comments are dropped (RFC 5322 §3.2.2), obsolete routes (RFC 5322 §4.4 obs-route) are removed, display names are
    /// unquoted and RFC 2047-decoded. A ';' outside a group is taken as a list separator, as some clients write lists that way.
    /// </summary>
    public static IReadOnlyList<MailboxAddress> ParseList(string value, List<MimeDefect>? defects = null)
    {
        var result = new List<MailboxAddress>();
        if (string.IsNullOrWhiteSpace(value)) return result;
        var toks = Rfc822Lexer.Lex(value, defects, "address list");
        var n = toks.Count;
        var pos = 0;
        var inGroup = false;
        while (pos < n)
        {
            if (toks[pos].Is(','))
            {
                pos++; // obs-addr-list allows empty elements
                continue;
            }
            if (toks[pos].Is(';'))
            {
                inGroup = false;
                pos++;
                continue;
            }
            // A group starts with a display-name followed by ':' (RFC 5322 §3.4 group); a ':' inside <> is an obs-route instead.
            var j = pos;
            while (j < n && !(toks[j].Is(':') || toks[j].Is('<') || toks[j].Is(',') || toks[j].Is(';') || toks[j].Is('@'))) j++;
            if (j < n && toks[j].Is(':'))
            {
                if (inGroup) defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, "nested group in address list"));
                inGroup = true;
                pos = j + 1;
                continue;
            }
            var start = pos;
            var inAngle = false;
            while (pos < n)
            {
                var t = toks[pos];
                if (t.Is('<')) inAngle = true;
                else if (t.Is('>')) inAngle = false;
                else if (!inAngle && (t.Is(',') || t.Is(';'))) break;
                pos++;
            }
            var mailbox = ParseMailbox(toks, start, pos, defects);
            if (mailbox is not null) result.Add(mailbox);
        }
        return result;
    }

    private static MailboxAddress? ParseMailbox(List<Token> toks, int start, int end, List<MimeDefect>? defects)
    {
        var lt = -1;
        for (var k = start; k < end; k++)
        {
            if (toks[k].Is('<'))
            {
                lt = k;
                break;
            }
        }
        string address;
        string? display = null;
        if (lt >= 0)
        {
            var gt = end;
            for (var k = lt + 1; k < end; k++)
            {
                if (toks[k].Is('>'))
                {
                    gt = k;
                    break;
                }
            }
            if (gt == end) defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, "angle-addr without closing '>'"));
            else if (gt + 1 < end) defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, "text after angle-addr ignored"));
            var inner = lt + 1;
            // RFC 5322 §4.4 obs-route: "<@relay1,@relay2:user@host>" — the route is dropped.
            if (inner < gt && toks[inner].Is('@'))
            {
                for (var k = gt - 1; k > inner; k--)
                {
                    if (toks[k].Is(':'))
                    {
                        inner = k + 1;
                        break;
                    }
                }
            }
            address = JoinAddress(toks, inner, gt);
            display = Phrase(toks, start, lt, defects);
            if (address.Length == 0)
            {
                defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, "empty angle-addr"));
                return null;
            }
        }
        else
        {
            address = JoinAddress(toks, start, end);
            if (address.Length == 0) return null;
        }
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1 || address.Contains(' '))
        {
            defects?.Add(new MimeDefect(DefectCodes.InvalidAddress, $"not an addr-spec: '{Charsets.Truncate(address)}'"));
        }
        return new MailboxAddress(display, address);
    }

    /// <summary>The addr-spec as written, without comments and folding whitespace (obs-local-part allows CFWS around dots).</summary>
    private static string JoinAddress(List<Token> toks, int start, int end)
    {
        var sb = new StringBuilder();
        for (var k = start; k < end; k++)
        {
            var t = toks[k];
            if (t.Is('>') || t.Is('<')) continue;
            // Two words with only whitespace between them cannot be one addr-spec; keep the space so the defect is visible.
            if (k > start && t.SpaceBefore && t.IsWord && toks[k - 1].IsWord) sb.Append(' ');
            sb.Append(t.Raw);
        }
        return sb.ToString();
    }

    /// <summary>A display-name: words joined by single spaces where whitespace was, quoted-strings unquoted, then RFC 2047-decoded.</summary>
    private static string? Phrase(List<Token> toks, int start, int end, List<MimeDefect>? defects)
    {
        if (start >= end) return null;
        var sb = new StringBuilder();
        for (var k = start; k < end; k++)
        {
            var t = toks[k];
            if (sb.Length > 0 && t.SpaceBefore) sb.Append(' ');
            sb.Append(t.Kind == TokenKind.Quoted ? t.Text : t.Raw);
        }
        // RFC 2047 §5(3) forbids encoded-words inside quoted-strings, but clients write them; decoding them is what a reader expects.
        var text = EncodedWords.Decode(sb.ToString(), defects).Trim();
        return text.Length == 0 ? null : text;
    }
}
