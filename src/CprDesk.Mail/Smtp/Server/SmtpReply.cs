// An SMTP reply (RFC 5321 §4.2) with its RFC 3463 enhanced status code; the store answers with one.
using System.Text;
using System.Text.RegularExpressions;

namespace CprDesk.Mail.Smtp;

/// <summary>
/// A single-line SMTP reply: a three-digit code, an RFC 3463 enhanced status code ("" for none) and text.
/// The server sanitises the text when it writes it (CR, LF and other control or non-ASCII characters
/// cannot reach the wire), so a store may pass through text it did not build itself.
/// </summary>
public sealed partial record SmtpReply(int Code, string EnhancedCode, string Text)
{
    /// <summary>RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the code and CRLF.</summary>
    internal const int MaxLineOctets = 512;

    /// <summary>250 2.0.0: accepted (for the end of DATA: only after a durable commit).</summary>
    public static SmtpReply Ok(string text = "OK") => new(250, "2.0.0", text);

    /// <summary>550 5.1.1: the recipient does not exist here.</summary>
    public static SmtpReply NoSuchUser(string text = "no such user") => new(550, "5.1.1", text);

    /// <summary>451 4.3.0: a temporary local failure; the client keeps the message and retries.</summary>
    public static SmtpReply LocalError(string text = "local error in processing, try again later") => new(451, "4.3.0", text);

    /// <summary>True for 2xx codes.</summary>
    public bool IsPositive => Code is >= 200 and <= 299;

    /// <summary>
    /// True when the code is a valid final reply (2xx, 4xx, 5xx) and the enhanced code, if any,
    /// is of the same class (RFC 3463 §2: the class digit must agree with the reply code).
    /// </summary>
    internal bool IsWellFormedFinalReply =>
        Code is (>= 200 and <= 299) or (>= 400 and <= 599)
        && Text is not null
        && (string.IsNullOrEmpty(EnhancedCode)
            || (EnhancedCodePattern().IsMatch(EnhancedCode) && EnhancedCode[0] - '0' == Code / 100));

    /// <summary>Formats the reply as one wire line including CRLF, truncating overlong text.</summary>
    internal string ToWireLine() => FormatLine(Code, EnhancedCode, Text, last: true);

    internal static string FormatLine(int code, string? enhancedCode, string? text, bool last)
    {
        var sb = new StringBuilder(64);
        sb.Append(code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(last ? ' ' : '-');
        var hasEnhanced = !string.IsNullOrEmpty(enhancedCode);
        if (hasEnhanced)
        {
            sb.Append(enhancedCode);
        }
        var clean = Sanitize(text);
        if (clean.Length > 0)
        {
            if (hasEnhanced)
            {
                sb.Append(' ');
            }
            var room = MaxLineOctets - 2 - sb.Length;
            sb.Append(clean.Length > room ? clean[..room] : clean);
        }
        else if (!hasEnhanced)
        {
            // "250 " would end in a space; RFC 5321 §4.2 allows the code alone.
            sb.Length--;
        }
        sb.Append("\r\n");
        return sb.ToString();
    }

    /// <summary>Replies are ASCII text lines: anything else would corrupt or split the reply.</summary>
    private static string Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] is < ' ' or > '~')
            {
                chars[i] = chars[i] is '\r' or '\n' or '\t' ? ' ' : '?';
            }
        }
        return new string(chars).Trim();
    }

    [GeneratedRegex(@"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnhancedCodePattern();
}
