// One header field as found in the message: its name, its unfolded raw value, and that value RFC 2047-decoded.
namespace CprDesk.Mail.Mime;

/// <summary>
/// A header field. <see cref="RawValue"/> is the value unfolded (RFC 5322 §2.2.3: CRLF before WSP removed), with the
/// whitespace after the colon and at the end trimmed; 8-bit bytes were read as UTF-8 when valid, else Latin-1.
/// <see cref="Value"/> is RawValue with RFC 2047 encoded-words decoded.
/// </summary>
public sealed record Header(string Name, string RawValue)
{
    public string Value { get; } = EncodedWords.Decode(RawValue);
}
