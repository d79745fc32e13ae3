// Rules read off a received message's headers: automatic mail (RFC 3834), threading, trusted receipt time.
using System.Text.RegularExpressions;
using CprDesk.Mail.Mime;

namespace CprDesk.Intake.Email;

public static partial class MailRules
{
    public const string LoopHeader = "X-CprDesk-Loop";

    /// <summary>Why no acknowledgement may go to this message's sender, or null when one may (RFC 3834 §2).</summary>
    public static string? AutoReplySuppression(MimeMessage m, string? envelopeFrom, string loopToken)
    {
        if (envelopeFrom is not null && envelopeFrom.Length == 0) return "null-sender";
        var sender = m.From.FirstOrDefault()?.Address ?? envelopeFrom ?? "";
        var local = sender.Split('@')[0];
        if (local.Equals("mailer-daemon", StringComparison.OrdinalIgnoreCase) || local.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
            return "mailer-daemon";
        if (envelopeFrom is not null && envelopeFrom.Split('@')[0].Equals("mailer-daemon", StringComparison.OrdinalIgnoreCase)) return "mailer-daemon";
        var auto = m.Headers["Auto-Submitted"]?.Trim();
        if (auto is not null && !auto.Split(';')[0].Trim().Equals("no", StringComparison.OrdinalIgnoreCase)) return "auto-submitted";
        var precedence = m.Headers["Precedence"]?.Trim().ToLowerInvariant();
        if (precedence is "bulk" or "junk" or "list") return $"precedence-{precedence}";
        if (m.Headers["List-Id"] is not null) return "list-id";
        if (m.Headers.All(LoopHeader).Any(h => h.Value.Contains(loopToken, StringComparison.Ordinal))) return "our-loop-header";
        return null;
    }

    /// <summary>The ticket in a subject such as "Re: [CPR-2026-000042] …".</summary>
    public static string? TicketInSubject(string? subject)
    {
        if (subject is null) return null;
        var m = TicketTag().Match(subject);
        return m.Success ? m.Groups[1].Value.ToUpperInvariant() : null;
    }

    /// <summary>The earliest time among the topmost Received: headers written ("by") a trusted relay. Headers
    /// below the first untrusted one are ignored: anyone can write those.</summary>
    public static DateTime? EarliestTrustedReceipt(MimeMessage m, IReadOnlyCollection<string> trustedRelays)
    {
        if (trustedRelays.Count == 0) return null;
        DateTime? earliest = null;
        foreach (var h in m.Headers.All("Received"))
        {
            var by = ByHost().Match(h.RawValue);
            if (!by.Success || !trustedRelays.Contains(by.Groups[1].Value, StringComparer.OrdinalIgnoreCase)) break;
            var semi = h.RawValue.LastIndexOf(';');
            if (semi < 0) break;
            if (DateParser.Parse(h.RawValue[(semi + 1)..].Trim()) is not { } at) break;
            var utc = at.UtcDateTime;
            if (earliest is null || utc < earliest) earliest = utc;
        }
        return earliest;
    }

    [GeneratedRegex(@"\[(CPR-\d{4}-\d{6,})\]", RegexOptions.IgnoreCase)]
    private static partial Regex TicketTag();

    [GeneratedRegex(@"\bby\s+([A-Za-z0-9.\-]+)", RegexOptions.IgnoreCase)]
    private static partial Regex ByHost();
}
