// Large decoded parts go to temp files, are streamed rather than copied, and the files go away on Dispose.
using System.Security.Cryptography;
using System.Text;
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class SpoolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cprdesk-mime-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes a message with a base64 attachment of <paramref name="size"/> random bytes to a file; returns the file and the bytes' SHA-256.</summary>
    private string WriteMessage(int size, out string sha256)
    {
        var data = new byte[size];
        new Random(20).NextBytes(data);
        sha256 = Convert.ToHexStringLower(SHA256.HashData(data));
        var path = Path.Combine(_dir, "input.eml");
        using var f = File.Create(path);
        f.Write(Encoding.ASCII.GetBytes(TestMessages.Crlf("Subject: big\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attachment\n--b\nContent-Type: application/zip; name=evidence.zip\nContent-Transfer-Encoding: base64\n\n")));
        var b64 = Convert.ToBase64String(data, Base64FormattingOptions.InsertLineBreaks);
        f.Write(Encoding.ASCII.GetBytes(b64));
        f.Write("\r\n--b--\r\n"u8);
        return path;
    }

    private string SpoolDir
    {
        get
        {
            var d = Path.Combine(_dir, "spool");
            Directory.CreateDirectory(d);
            return d;
        }
    }

    [Fact]
    public void Twenty_megabyte_attachment_is_spooled_hashed_and_deleted_on_dispose()
    {
        var input = WriteMessage(20 * 1024 * 1024, out var sha);
        var spool = SpoolDir;
        MimeMessage m;
        long allocated;
        using (var stream = File.OpenRead(input))
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            m = MimeParser.Parse(stream, new MimeParserOptions { SpoolDirectory = spool });
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        var leaf = m.Attachments.Single();
        Assert.True(leaf.IsSpooled);
        Assert.Equal(20 * 1024 * 1024, leaf.DecodedLength);
        Assert.Equal(sha, leaf.Sha256);
        var file = Assert.Single(Directory.GetFiles(spool));
        Assert.Equal(file, leaf.SpoolPath);
        Assert.Equal(20 * 1024 * 1024, new FileInfo(file).Length);

        // Streamed, not copied: far less than one 20 MB copy was allocated while parsing.
        Assert.True(allocated < 8 * 1024 * 1024, $"parsing allocated {allocated} bytes");

        using (var read = leaf.OpenDecoded())
        {
            Assert.IsType<FileStream>(read);
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(read)));
        }
        using (var again = leaf.OpenDecoded()) Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(again)));
        Assert.False(m.Leaves[0].IsSpooled);
        Assert.Equal("see attachment", m.TextBody);

        m.Dispose();
        Assert.Empty(Directory.GetFiles(spool));
        Assert.Throws<ObjectDisposedException>(() => leaf.OpenDecoded());
        m.Dispose(); // twice is harmless
    }

    [Fact]
    public void Parts_at_or_below_the_threshold_stay_in_memory()
    {
        var spool = SpoolDir;
        using var m = TestMessages.Parse("Content-Type: application/octet-stream\n\n" + new string('a', 1000), new MimeParserOptions { SpoolThresholdBytes = 1000, SpoolDirectory = spool });
        Assert.False(m.Leaves[0].IsSpooled);
        Assert.IsType<MemoryStream>(m.Leaves[0].OpenDecoded());
        Assert.Empty(Directory.GetFiles(spool));
    }

    [Fact]
    public void Threshold_zero_spools_every_non_empty_part_including_those_of_encapsulated_messages()
    {
        var spool = SpoolDir;
        var m = TestMessages.Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\nContent-Type: message/rfc822\n\nSubject: in\n\ninner\n--b--\n", new MimeParserOptions { SpoolThresholdBytes = 0, SpoolDirectory = spool });
        Assert.All(m.Leaves, l => Assert.True(l.IsSpooled));
        Assert.Equal(2, Directory.GetFiles(spool).Length);
        Assert.Equal("one", m.TextBody);
        Assert.Equal("inner", m.Leaves[1].GetText());
        m.Dispose();
        Assert.Empty(Directory.GetFiles(spool));
    }

    private sealed class FailingStream(byte[] data, int failAt) : Stream
    {
        private int _pos;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_pos >= failAt) throw new IOException("disk gone");
            var n = Math.Min(count, Math.Min(failAt, data.Length) - _pos);
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void An_io_error_of_the_input_propagates_and_leaves_no_temp_files()
    {
        var input = File.ReadAllBytes(WriteMessage(3 * 1024 * 1024, out _));
        var spool = SpoolDir;
        using var failing = new FailingStream(input, input.Length / 2);
        Assert.Throws<IOException>(() => MimeParser.Parse(failing, new MimeParserOptions { SpoolDirectory = spool }));
        Assert.Empty(Directory.GetFiles(spool));
    }
}
