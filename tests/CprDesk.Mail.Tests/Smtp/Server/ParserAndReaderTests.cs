// Command parsing and the connection reader on their own: paths, parameters, line limits, STARTTLS buffer discard.
using System.Text;
using CprDesk.Mail.Smtp.Server;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class ParserAndReaderTests
{
    [Theory]
    [InlineData("FROM:<a@example.org>", "a@example.org", "")]
    [InlineData("from: <a@example.org>  SIZE=12 BODY=8BITMIME", "a@example.org", "SIZE=12,BODY=8BITMIME")]
    [InlineData("FROM:<>", "", "")]
    [InlineData("FROM:a@example.org", "a@example.org", "")]
    [InlineData("FROM:<@r1.example,@r2.example:a@example.org>", "a@example.org", "")]
    [InlineData("FROM:<\"john > doe\"@example.org>", "\"john > doe\"@example.org", "")]
    [InlineData("FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]", "")]
    [InlineData("FROM:<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]", "")]
    [InlineData("FROM:<x.y+tag@sub.example.org> ret=hdrs", "x.y+tag@sub.example.org", "RET=hdrs")]
    public void Valid_paths(string argument, string address, string parameters)
    {
        var parsed = SmtpCommandParser.ParsePathArgument(argument, "FROM:", allowNullPath: true, out var error);
        Assert.True(parsed is not null, error);
        Assert.Equal(address, parsed.Address);
        Assert.Equal(parameters, string.Join(",", parsed.Parameters.Select(p => p.Value is null ? p.Keyword : $"{p.Keyword}={p.Value}")));
    }

    [Theory]
    [InlineData("TO:<a@example.org>")]
    [InlineData("FROM:<a@example.org")]
    [InlineData("FROM:<a example.org>")]
    [InlineData("FROM:<a@>")]
    [InlineData("FROM:<@example.org>")]
    [InlineData("FROM:<a@exa mple.org>")]
    [InlineData("FROM:<a@example..org>")]
    [InlineData("FROM:<a@example.org>SIZE=1")]
    [InlineData("FROM:<a@example.org> SIZE=")]
    [InlineData("FROM:<a@example.org> SIZE=1 SIZE=2")]
    [InlineData("FROM:<a\u00e9@example.org>")]
    [InlineData("FROM:")]
    public void Invalid_paths(string argument)
    {
        Assert.Null(SmtpCommandParser.ParsePathArgument(argument, "FROM:", allowNullPath: true, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Null_path_only_where_allowed_and_bare_postmaster_for_rcpt()
    {
        Assert.Null(SmtpCommandParser.ParsePathArgument("TO:<>", "TO:", allowNullPath: false, out _));
        Assert.Equal("Postmaster", SmtpCommandParser.ParsePathArgument("TO:<Postmaster>", "TO:", false, out _)!.Address);
    }

    [Fact]
    public void Verb_is_split_and_upper_cased()
    {
        Assert.Equal(("MAIL", "FROM:<a@b>"), SmtpCommandParser.SplitVerb("mail FROM:<a@b>  "));
        Assert.Equal(("QUIT", ""), SmtpCommandParser.SplitVerb("quit"));
    }

    [Fact]
    public async Task Reader_splits_pipelined_lines_and_discards_what_follows_starttls()
    {
        var chunks = new Queue<byte[]>([Encoding.ASCII.GetBytes("EHLO a\r\nSTARTTLS\r\nMAIL FROM:<injected@x>\r\n")]);
        using var reader = new SmtpConnectionReader(m => ValueTask.FromResult(Take(chunks, m)));

        Assert.Equal("EHLO a", (await reader.ReadLineAsync(512)).Text);
        Assert.Equal("STARTTLS", (await reader.ReadLineAsync(512)).Text);
        Assert.Equal("MAIL FROM:<injected@x>\r\n".Length, reader.BufferedCount);
        reader.DiscardBuffered();
        Assert.Equal(0, reader.BufferedCount);
        Assert.Equal(LineStatus.EndOfStream, (await reader.ReadLineAsync(512)).Status);
    }

    [Fact]
    public async Task Reader_reports_overlong_lines_in_bounded_memory_and_tolerates_bare_lf()
    {
        var chunks = new Queue<byte[]>();
        for (var i = 0; i < 100; i++)
        {
            chunks.Enqueue(new byte[10_000].Select(_ => (byte)'x').ToArray());
        }
        chunks.Enqueue(Encoding.ASCII.GetBytes("\r\nNOOP\nRSET\r\n"));
        using var reader = new SmtpConnectionReader(m => ValueTask.FromResult(Take(chunks, m)));

        Assert.Equal(LineStatus.TooLong, (await reader.ReadLineAsync(512)).Status);
        Assert.Equal("NOOP", (await reader.ReadLineAsync(512)).Text);
        Assert.Equal("RSET", (await reader.ReadLineAsync(512)).Text);
    }

    /// <summary>A fake network read: hands out the queued chunks one per read, then end of stream.</summary>
    private static int Take(Queue<byte[]> chunks, Memory<byte> buffer)
    {
        if (chunks.Count == 0)
        {
            return 0;
        }
        var chunk = chunks.Dequeue();
        if (chunk.Length > buffer.Length)
        {
            throw new InvalidOperationException("test chunks must fit the reader's buffer");
        }
        chunk.CopyTo(buffer.Span);
        return chunk.Length;
    }
}
