// The DATA state machine on its own, with every way of splitting the input into chunks.
using System.Text;
using CprDesk.Mail.Smtp.Server;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class DotUnstufferTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // wire, message bytes, bytes left after the terminator
        { ".\r\n", "", "" },
        { "abc\r\n.\r\n", "abc\r\n", "" },
        { "\r\n.\r\n", "\r\n", "" },
        { "..abc\r\n.\r\n", ".abc\r\n", "" },
        { "a\r\n..\r\n.\r\n", "a\r\n.\r\n", "" },
        { "a\r\n...\r\n.\r\n", "a\r\n..\r\n", "" },
        { ".x\r\n.\r\n", "x\r\n", "" },
        { ".\r\r\n.\r\n", "\r\r\n", "" },
        { ".\rx\r\n.\r\n", "\rx\r\n", "" },
        { "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", "" },
        { "a\r.\rb\r\n.\r\n", "a\r.\rb\r\n", "" },
        { "a\r\r\n.\r\n", "a\r\r\n", "" },
        { "a.\r\n.\r\n", "a.\r\n", "" },
        { "a\r\n.\r\nMAIL FROM:<x@y>\r\n", "a\r\n", "MAIL FROM:<x@y>\r\n" },
        { "\u00e9t\u00e9\r\n.\r\n", "\u00e9t\u00e9\r\n", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Same_result_whatever_the_chunking(string wire, string expected, string left)
    {
        var input = Encoding.Latin1.GetBytes(wire);
        for (var split = 0; split <= input.Length; split++)
        {
            AssertChunks(input, [split, input.Length - split], expected, left);
        }
        AssertChunks(input, [.. Enumerable.Repeat(1, input.Length)], expected, left);
    }

    [Fact]
    public void Unterminated_data_is_not_complete()
    {
        var unstuffer = new DotUnstuffer();
        var input = "abc\r\n.\r"u8.ToArray();
        var output = new byte[input.Length + 1];
        Assert.Equal(input.Length, unstuffer.Process(input, output, out var written));
        Assert.False(unstuffer.Completed);
        Assert.Equal("abc\r\n", Encoding.ASCII.GetString(output, 0, written));
    }

    private static void AssertChunks(byte[] input, int[] sizes, string expected, string left)
    {
        var unstuffer = new DotUnstuffer();
        var result = new List<byte>();
        var offset = 0;
        foreach (var size in sizes)
        {
            var chunk = input.AsSpan(offset, size);
            var output = new byte[size + 1];
            var consumed = unstuffer.Process(chunk, output, out var written);
            result.AddRange(output.AsSpan(0, written));
            offset += consumed;
            if (unstuffer.Completed)
            {
                break;
            }
            Assert.Equal(size, consumed);
        }
        Assert.True(unstuffer.Completed);
        Assert.Equal(expected, Encoding.Latin1.GetString([.. result]));
        Assert.Equal(left, Encoding.Latin1.GetString(input, offset, input.Length - offset));
    }
}
