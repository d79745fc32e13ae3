// Resource bounds: nesting depth, part count, header bytes and header count all end in defects, never in exceptions.
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class LimitTests
{
    private static string Nest(int levels)
    {
        var sb = new StringBuilder("Content-Type: multipart/mixed; boundary=\"n0\"\n\n");
        for (var k = 0; k < levels; k++) sb.Append($"--n{k}\nContent-Type: multipart/mixed; boundary=\"n{k + 1}\"\n\n");
        sb.Append($"--n{levels}\nContent-Type: text/plain\n\ndeep\n");
        for (var k = levels; k >= 0; k--) sb.Append($"--n{k}--\n");
        return sb.ToString();
    }

    [Fact]
    public void Nesting_beyond_max_depth_is_kept_as_a_leaf()
    {
        using var m = TestMessages.Parse(Nest(10), new MimeParserOptions { MaxDepth = 5 });
        Assert.Single(m.Defects, d => d.Code == DefectCodes.MaxDepth);
        var leaf = Assert.Single(m.Leaves);
        Assert.Equal("multipart/mixed", leaf.ContentType.MimeType);
        Assert.Contains("deep", TestMessages.Ascii(leaf));
    }

    [Fact]
    public void Nesting_within_max_depth_is_parsed()
    {
        using var m = TestMessages.Parse(Nest(10), new MimeParserOptions { MaxDepth = 12 });
        Assert.False(m.Has(DefectCodes.MaxDepth));
        Assert.Equal("deep", m.TextBody);
    }

    [Fact]
    public void Encapsulated_messages_count_towards_depth()
    {
        var sb = new StringBuilder();
        for (var k = 0; k < 30; k++) sb.Append("Content-Type: message/rfc822\n\n");
        sb.Append("Subject: innermost\n\nhello");
        using var m = TestMessages.Parse(sb.ToString());
        Assert.True(m.Has(DefectCodes.MaxDepth));
        Assert.Single(m.Leaves);
    }

    [Fact]
    public void A_huge_max_depth_is_clamped_so_deep_input_cannot_overflow_the_stack()
    {
        using var m = TestMessages.Parse(Nest(5000), new MimeParserOptions { MaxDepth = int.MaxValue });
        Assert.True(m.Has(DefectCodes.MaxDepth));
        Assert.Single(m.Leaves);
    }

    [Fact]
    public void Parts_beyond_max_parts_are_kept_together_as_one_leaf()
    {
        var sb = new StringBuilder("Content-Type: multipart/mixed; boundary=b\n\n");
        for (var k = 0; k < 50; k++) sb.Append($"--b\nContent-Type: text/plain\n\npart {k}\n");
        sb.Append("--b--\nepilogue\n");
        using var m = TestMessages.Parse(sb.ToString(), new MimeParserOptions { MaxParts = 10 });
        Assert.True(m.Has(DefectCodes.MaxParts));
        Assert.Equal(10, m.Leaves.Count);
        var rest = m.Leaves[^1];
        Assert.Equal("application/octet-stream", rest.ContentType.MimeType);
        Assert.StartsWith("Content-Type: text/plain\r\n\r\npart 9\r\n--b\r\n", TestMessages.Ascii(rest));
        Assert.EndsWith("part 49", TestMessages.Ascii(rest));
        Assert.Equal("epilogue\r\n", ((Multipart)m.Body).Epilogue);
    }

    [Fact]
    public void Header_block_beyond_max_header_bytes_is_discarded_and_the_body_still_found()
    {
        var big = new string('x', 5000);
        using var m = TestMessages.Parse($"Subject: kept\nX-Big: {big}\nX-After: dropped\n\nthe body", new MimeParserOptions { MaxHeaderBytes = 1000 });
        Assert.True(m.Has(DefectCodes.HeaderTooLarge));
        Assert.Equal("kept", m.Subject);
        Assert.Null(m.Headers["X-Big"]);
        Assert.Null(m.Headers["X-After"]);
        Assert.Equal("the body", m.TextBody);
    }

    [Fact]
    public void A_single_header_line_longer_than_a_reader_segment_is_bounded()
    {
        var big = new string('y', 300_000);
        using var m = TestMessages.Parse($"Subject: {big}\nTo: a@b\n\nbody");
        Assert.True(m.Has(DefectCodes.HeaderTooLarge));
        Assert.Equal("body", m.TextBody);
    }

    [Fact]
    public void Headers_beyond_max_header_count_are_dropped()
    {
        var sb = new StringBuilder();
        for (var k = 0; k < 50; k++) sb.Append($"X-H{k}: v\n continued\n");
        sb.Append("\nbody");
        using var m = TestMessages.Parse(sb.ToString(), new MimeParserOptions { MaxHeaderCount = 10 });
        Assert.Equal(10, m.Headers.Count);
        Assert.Single(m.Defects, d => d.Code == DefectCodes.TooManyHeaders);
        Assert.Equal("v continued", m.Headers["X-H9"]);
        Assert.Equal("body", m.TextBody);
    }

    [Fact]
    public void Part_header_blocks_are_bounded_too()
    {
        var big = new string('z', 4000);
        using var m = TestMessages.Parse($"Content-Type: multipart/mixed; boundary=b\n\n--b\nX-Big: {big}\nContent-Type: text/html\n\n<p>x</p>\n--b--\n", new MimeParserOptions { MaxHeaderBytes = 1000 });
        Assert.True(m.Has(DefectCodes.HeaderTooLarge));
        Assert.Equal("<p>x</p>", TestMessages.Ascii(m.Leaves.Single()));
    }

    [Fact]
    public void Pathological_header_text_is_handled_in_linear_time()
    {
        var soup = string.Concat(Enumerable.Repeat("=?utf-8?q?", 25_000)); // 250 KB of word starts that never close
        var angles = string.Concat(Enumerable.Repeat("(<\\\"", 20_000));
        var sections = string.Concat(Enumerable.Repeat("a*0*=%;", 20_000));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var m = TestMessages.Parse($"Subject: {soup}\nFrom: {angles}\nDate: {soup}\nContent-Type: text/plain; {sections}\n\n<<<<");
        Assert.Equal(soup, m.Subject);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }
}
