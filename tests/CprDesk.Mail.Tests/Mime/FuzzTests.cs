// Randomized robustness test: 10,000 seeded mutations of corpus and synthetic messages must all parse without exceptions.
using System.Diagnostics;
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class FuzzTests
{
    private const int Iterations = 10_000;
    private const int Seed = 0x5EED;

    private static readonly string[] BogusEncodings = ["base64", "quoted-printable", "x-uuencode", "BASE64", "7bit", "8bit", "binary", "", "b\0ase64", "quoted-printable; x=1", "=?utf-8?q?base64?="];
    private static readonly string[] BogusCharsets = ["utf-8", "x-nope", "utf-7", "iso-2022-jp", "utf-16", "gb18030", "", "\"", "ks_c_5601-1987*ko", "\u00ff\u00fe", "big5-hkscs", "shift_jis'en'", "utf-32"];
    private const string Garbage = "!*=-_.~\t \r\n=#%";

    private static readonly string[] Snippets =
    [
        "=?utf-8?b?", "=?x-bogus?q?a=ZZ?=", "?=", "=?", "--", "--b--", "\r\n\r\n", "\r", "\n", "\0", ":", ";", "\"", "(", ")", "<", ">", "@",
        "boundary=", "charset=", "filename*0*=utf-8''%E2", "filename*1*=%AC", "name*=''", "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        "Content-Type: message/rfc822\r\n\r\n", "Content-Transfer-Encoding: base64\r\n", "=\r\n", "=3", "=0D=0A", "<!--", "<script>", "&#xFFFFFFFF;", "&#0;",
    ];

    [Fact]
    public void Ten_thousand_mutated_messages_never_throw()
    {
        var seeds = Corpus.Files.Select(File.ReadAllBytes).Where(b => b.Length < 64 * 1024).ToList();
        seeds.Add(Encoding.ASCII.GetBytes(TestMessages.Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nsoft\n--b\nContent-Type: application/octet-stream; name*0*=utf-8''a%20; name*1=b\nContent-Transfer-Encoding: base64\n\nQUJD\nREVG\n--b\nContent-Type: message/rfc822\n\nSubject: =?utf-8?b?w6k=?=\nFrom: \"x\" <a@b>, Team: c@d;\nDate: 1 Jan 99 00:00 EST\n\ninner\n--b--\n")));
        Assert.True(seeds.Count > 50);

        var rng = new Random(Seed);
        var sw = Stopwatch.StartNew();
        var defects = 0L;
        for (var i = 0; i < Iterations; i++)
        {
            var seed = seeds[rng.Next(seeds.Count)];
            var (input, description) = Mutate(seed, rng);
            var options = rng.Next(4) == 0
                ? new MimeParserOptions { MaxDepth = rng.Next(0, 300), MaxParts = rng.Next(1, 50), MaxHeaderBytes = rng.Next(10, 5000), MaxHeaderCount = rng.Next(0, 30), SpoolThresholdBytes = 1 << 20 }
                : null;
            try
            {
                using var m = MimeParser.Parse(input, options);
                Assert.NotNull(m);
                Assert.NotNull(m.Body);
                defects += Touch(m);
                var text = Encoding.Latin1.GetString(input, 0, Math.Min(input.Length, 2000));
                AddressParser.ParseList(text);
                DateParser.Parse(text);
                EncodedWords.Decode(text);
                ContentType.Parse(text);
                HtmlText.ToText(text);
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i} ({description}) threw {e}");
            }
        }
        Assert.True(defects > 0, "mutations should produce defects");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {sw.Elapsed}");
    }

    /// <summary>Reads everything a caller might read, so lazy paths run too; returns the defect count.</summary>
    private static int Touch(MimeMessage m)
    {
        _ = (m.Subject, m.From, m.To, m.Cc, m.ReplyTo, m.Sender, m.Date, m.MessageId, m.InReplyTo, m.References, m.TextBody, m.Attachments, m.Size);
        foreach (var h in m.Headers) _ = h.Value;
        foreach (var leaf in m.Leaves)
        {
            _ = (leaf.GetText(), leaf.FileName, leaf.ContentDisposition, leaf.IsAttachment, leaf.Sha256, leaf.ContentType.Charset);
            using var s = leaf.OpenDecoded();
            Assert.Equal(leaf.DecodedLength, s.Length);
        }
        return m.Defects.Count;
    }

    private static (byte[] Input, string Description) Mutate(byte[] seed, Random rng)
    {
        var data = new List<byte>(seed);
        var rounds = 1 + rng.Next(4);
        var applied = new List<string>();
        for (var r = 0; r < rounds; r++)
        {
            var kind = rng.Next(12);
            applied.Add(kind.ToString(System.Globalization.CultureInfo.InvariantCulture));
            switch (kind)
            {
                case 0: // byte flips
                    for (var k = rng.Next(1, 20); k > 0 && data.Count > 0; k--) data[rng.Next(data.Count)] = (byte)rng.Next(256);
                    break;
                case 1: // truncation
                    if (data.Count > 1)
                    {
                        var cut = rng.Next(data.Count);
                        data.RemoveRange(cut, data.Count - cut);
                    }
                    break;
                case 2: // duplicate a line (boundary lines are likely)
                case 3: // remove a line
                    {
                        var lines = Lines(data);
                        if (lines.Count == 0) break;
                        var boundaryLines = lines.Where(l => l.Length >= 2 && l[0] == '-' && l[1] == '-').ToList();
                        var pick = boundaryLines.Count > 0 && rng.Next(2) == 0 ? boundaryLines[rng.Next(boundaryLines.Count)] : lines[rng.Next(lines.Count)];
                        var at = lines.IndexOf(pick);
                        if (kind == 2) lines.Insert(at, pick);
                        else lines.RemoveAt(at);
                        data = lines.SelectMany(l => l).ToList();
                        break;
                    }
                case 4: // huge header line
                    {
                        var line = Encoding.ASCII.GetBytes("X-Huge: " + new string('h', rng.Next(1000, 140_000)) + "\r\n");
                        data.InsertRange(0, line);
                        break;
                    }
                case 5: // deep nesting
                    {
                        var depth = rng.Next(1, 400);
                        var head = new StringBuilder();
                        for (var k = 0; k < depth; k++) head.Append($"Content-Type: multipart/mixed; boundary=\"d{k}\"\r\n\r\n--d{k}\r\n");
                        data.InsertRange(0, Encoding.ASCII.GetBytes(head.ToString()));
                        if (rng.Next(2) == 0) data.AddRange(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, depth).Reverse().Select(k => $"\r\n--d{k}--"))));
                        break;
                    }
                case 6: // random NULs
                    for (var k = rng.Next(1, 10); k > 0; k--) data.Insert(rng.Next(data.Count + 1), 0);
                    break;
                case 7: // bogus transfer encodings and charsets
                    {
                        var text = Encoding.Latin1.GetString(data.ToArray());
                        text = text.Replace("base64", BogusEncodings[rng.Next(BogusEncodings.Length)], StringComparison.OrdinalIgnoreCase)
                                   .Replace("quoted-printable", BogusEncodings[rng.Next(BogusEncodings.Length)], StringComparison.OrdinalIgnoreCase)
                                   .Replace("charset=", "charset=" + BogusCharsets[rng.Next(BogusCharsets.Length)] + "x", StringComparison.OrdinalIgnoreCase);
                        data = Encoding.Latin1.GetBytes(text).ToList();
                        break;
                    }
                case 8: // base64 garbage inside a body
                    for (var k = rng.Next(1, 30); k > 0; k--) data.Insert(rng.Next(data.Count + 1), (byte)Garbage[rng.Next(Garbage.Length)]);
                    break;
                case 9: // syntax snippets
                    for (var k = rng.Next(1, 6); k > 0; k--) data.InsertRange(rng.Next(data.Count + 1), Encoding.Latin1.GetBytes(Snippets[rng.Next(Snippets.Length)]));
                    break;
                case 10: // line ending chaos
                    for (var i = 0; i < data.Count; i++)
                    {
                        if (data[i] == '\n' && rng.Next(3) == 0) data[i] = (byte)'\r';
                        else if (data[i] == '\r' && rng.Next(3) == 0) data.RemoveAt(i);
                    }
                    break;
                default: // splice random bytes
                    {
                        var junk = new byte[rng.Next(1, 300)];
                        rng.NextBytes(junk);
                        data.InsertRange(rng.Next(data.Count + 1), junk);
                        break;
                    }
            }
        }
        return (data.ToArray(), "mutations " + string.Join(",", applied));
    }

    private static List<byte[]> Lines(List<byte> data)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < data.Count; i++)
        {
            if (data[i] != '\n') continue;
            lines.Add(data.GetRange(start, i + 1 - start).ToArray());
            start = i + 1;
        }
        if (start < data.Count) lines.Add(data.GetRange(start, data.Count - start).ToArray());
        return lines;
    }
}
