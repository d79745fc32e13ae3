// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable ASCII stands for itself ("&" is "&-"), anything
// else is "&" + modified BASE64 (',' for '/') of UTF-16BE + "-".
using System.Text;

namespace CprDesk.Mail.Imap;

public static class ImapUtf7
{
    public static string Encode(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        var pending = new StringBuilder();
        foreach (var c in name)
        {
            if (c is >= '\x20' and <= '\x7e')
            {
                Flush();
                sb.Append(c == '&' ? "&-" : c.ToString());
            }
            else pending.Append(c);
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (pending.Length == 0) return;
            var b64 = Convert.ToBase64String(Encoding.BigEndianUnicode.GetBytes(pending.ToString())).TrimEnd('=').Replace('/', ',');
            sb.Append('&').Append(b64).Append('-');
            pending.Clear();
        }
    }

    /// <summary>Decodes a name; a malformed shift sequence is kept as it was (tolerant on input).</summary>
    public static string Decode(string wire)
    {
        if (!wire.Contains('&')) return wire;
        var sb = new StringBuilder(wire.Length);
        var i = 0;
        while (i < wire.Length)
        {
            var c = wire[i];
            if (c != '&') { sb.Append(c); i++; continue; }
            var end = wire.IndexOf('-', i + 1);
            if (end < 0) { sb.Append(wire, i, wire.Length - i); break; }
            if (end == i + 1) { sb.Append('&'); i = end + 1; continue; }
            var b64 = wire[(i + 1)..end].Replace(',', '/');
            b64 += new string('=', (4 - b64.Length % 4) % 4);
            try
            {
                var bytes = Convert.FromBase64String(b64);
                if (bytes.Length % 2 != 0) throw new FormatException();
                sb.Append(Encoding.BigEndianUnicode.GetString(bytes));
            }
            catch (FormatException)
            {
                sb.Append(wire, i, end - i + 1);
            }
            i = end + 1;
        }
        return sb.ToString();
    }
}
