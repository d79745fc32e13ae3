// Helpers to build small test messages from C# strings.
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

internal static class TestMessages
{
    /// <summary>Parses text written with "\n" as a CRLF message, encoded as UTF-8.</summary>
    public static MimeMessage Parse(string text, MimeParserOptions? options = null)
        => MimeParser.Parse(Encoding.UTF8.GetBytes(Crlf(text)), options);

    public static string Crlf(string text) => text.Replace("\r\n", "\n").Replace("\n", "\r\n");

    public static byte[] Bytes(MimePart part)
    {
        using var s = part.OpenDecoded();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    public static string Ascii(MimePart part) => Encoding.Latin1.GetString(Bytes(part));

    public static bool Has(this MimeMessage m, string code) => m.Defects.Any(d => d.Code == code);
}
