using System.Text;
using CprDesk.Mail.Imap;

namespace CprDesk.Mail.Tests.Imap;

public sealed class ImapReaderTests
{
    /// <summary>Recorded from Dovecot 2.3.19 (Debian): greeting, LOGIN, LIST with SPECIAL-USE, EXAMINE, UID SEARCH, UID FETCH, LOGOUT.</summary>
    private const string Transcript =
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n" +
        "* CAPABILITY IMAP4rev1 SASL-IR IDLE LITERAL+ SPECIAL-USE LIST-EXTENDED\r\n" +
        "a2 OK Logged in\r\n" +
        "* LIST () \"/\" Archive\r\n" +
        "* LIST () \"/\" Archive/Quarant&AOQ-ne\r\n" +
        "* LIST (\\Junk) \"/\" Junk\r\n" +
        "* LIST () \"/\" INBOX\r\n" +
        "a3 OK List completed (0.003 + 0.000 + 0.002 secs).\r\n" +
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n" +
        "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n" +
        "* 1 EXISTS\r\n" +
        "* 1 RECENT\r\n" +
        "* OK [UIDVALIDITY 1795424970] UIDs valid\r\n" +
        "* OK [UIDNEXT 2] Predicted next UID\r\n" +
        "a4 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).\r\n" +
        "* SEARCH 1\r\n" +
        "a5 OK Search completed (0.001 + 0.000 secs).\r\n" +
        "* 1 FETCH (UID 1 FLAGS (\\Recent) INTERNALDATE \"04-Mar-2026 10:00:00 +0000\" RFC822.SIZE 98 BODY[] {98}\r\n" +
        "From: a@b.example\r\nTo: cpr@ca.example\r\nSubject: hi\r\nMessage-ID: <1@b.example>\r\n\r\nkey compromised\r\n" +
        ")\r\n" +
        "a6 OK Fetch completed (0.001 + 0.000 secs).\r\n" +
        "* BYE Logging out\r\n" +
        "a7 OK Logout completed (0.001 + 0.000 secs).\r\n";

    /// <summary>Hands out one byte per read, as a slow network might.</summary>
    private sealed class OneByteStream(byte[] data) : Stream
    {
        private int _at;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_at >= data.Length || count == 0) return 0;
            buffer[offset] = data[_at++];
            return 1;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<List<ImapResponse>> ReadAllAsync(Stream s, ImapReaderOptions? options = null)
    {
        var reader = new ImapResponseReader(s, options ?? new ImapReaderOptions { Timeout = TimeSpan.FromSeconds(5) });
        var list = new List<ImapResponse>();
        while (true)
        {
            try { list.Add(await reader.ReadAsync(CancellationToken.None)); }
            catch (ImapConnectionException ex) when (ex.Message.Contains("closed the connection")) { return list; }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_recorded_Dovecot_transcript_parses_the_same_fed_byte_by_byte_or_at_once(bool oneByteAtATime)
    {
        var bytes = Encoding.ASCII.GetBytes(Transcript);
        var responses = await ReadAllAsync(oneByteAtATime ? new OneByteStream(bytes) : new MemoryStream(bytes));

        Assert.Equal(21, responses.Count);
        Assert.Equal("OK", responses[0].Status);
        Assert.StartsWith("CAPABILITY IMAP4rev1", responses[0].Code);
        Assert.Equal("CAPABILITY", responses[1].DataName);
        Assert.Equal(("a2", "OK"), (responses[2].Tag, responses[2].Status));
        var junk = responses[5];
        Assert.Equal("LIST", junk.DataName);
        Assert.Equal(@"\Junk", Assert.IsType<ImapList>(junk.Values[1]).Items.Single().AsString());
        Assert.Equal("Archive/Quarantäne", ImapUtf7.Decode(responses[4].Values[3].AsString()!));
        Assert.Equal("PERMANENTFLAGS ()", responses[9].Code);
        Assert.Equal((1u, "EXISTS"), (responses[10].Number!.Value, responses[10].DataName));
        Assert.Equal("UIDVALIDITY 1795424970", responses[12].Code);
        Assert.Equal("READ-ONLY", responses[14].Code);
        Assert.Equal("SEARCH", responses[15].DataName);
        var fetch = responses[17];
        Assert.Equal("FETCH", fetch.DataName);
        var items = Assert.IsType<ImapList>(fetch.Values[2]).Items;
        Assert.Equal("BODY[]", items[8].AsString());
        var body = Assert.IsType<ImapLiteralValue>(items[9]).Literal;
        Assert.Equal(98, body.Length);
        Assert.EndsWith("key compromised\r\n", Encoding.ASCII.GetString(body.ToArray()));
        Assert.Equal("04-Mar-2026 10:00:00 +0000", items[5].AsString());
        Assert.Equal(("BYE", "Logging out"), (responses[19].Status, responses[19].Text));
        Assert.Equal("a7", responses[20].Tag);
    }

    [Fact]
    public async Task A_large_literal_goes_to_a_temp_file_that_is_deleted_on_dispose()
    {
        var dir = Directory.CreateTempSubdirectory("imap-literal-test").FullName;
        try
        {
            var body = new string('k', 5000);
            var bytes = Encoding.ASCII.GetBytes($"* 3 FETCH (UID 9 BODY[] {{{body.Length}+}}\r\n{body})\r\n");
            var reader = new ImapResponseReader(new OneByteStream(bytes), new ImapReaderOptions { LiteralMemoryThreshold = 1000, TempDirectory = dir, Timeout = TimeSpan.FromSeconds(5) });
            var r = await reader.ReadAsync(CancellationToken.None);
            var literal = Assert.IsType<ImapLiteralValue>(Assert.IsType<ImapList>(r.Values[2]).Items[3]).Literal;
            Assert.False(literal.InMemory);
            Assert.Single(Directory.GetFiles(dir));
            Assert.Equal(body, Encoding.ASCII.GetString(literal.ToArray()));
            r.Dispose();
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("* OK fine\r\n* 1 FETCH (BODY[] {999999999}\r\nxx", "exceeds the limit")]
    [InlineData("* 1 FETCH (FLAGS (\\Seen)\r\n", "not closed")]
    [InlineData("* LIST () \"/\" \"unterminated\r\n", "not closed")]
    [InlineData("\u0001\u0002garbage\r\n", "Not an IMAP response")]
    [InlineData("A1 FETCH 1\r\n", "must be OK, NO or BAD")]
    [InlineData("* 1 FETCH ((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))\r\n", "nested deeper")]
    public async Task Hostile_input_is_a_protocol_error_never_a_hang(string input, string expected)
    {
        var reader = new ImapResponseReader(new MemoryStream(Encoding.Latin1.GetBytes(input)), new ImapReaderOptions { MaxLiteralBytes = 1_000_000, Timeout = TimeSpan.FromSeconds(5) });
        var ex = await Assert.ThrowsAsync<ImapProtocolException>(async () => { while (true) (await reader.ReadAsync(CancellationToken.None)).Dispose(); });
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public async Task An_endless_line_is_cut_off_at_the_limit()
    {
        var endless = new MemoryStream(Encoding.ASCII.GetBytes("* OK " + new string('a', 300_000)));
        var reader = new ImapResponseReader(endless, new ImapReaderOptions { MaxLineLength = 1000 });
        var ex = await Assert.ThrowsAsync<ImapProtocolException>(() => reader.ReadAsync(CancellationToken.None));
        Assert.Contains("longer than 1000", ex.Message);
    }

    [Fact]
    public async Task A_connection_closed_mid_literal_is_a_connection_error()
    {
        var reader = new ImapResponseReader(new OneByteStream(Encoding.ASCII.GetBytes("* 1 FETCH (BODY[] {100}\r\nonly part")), new ImapReaderOptions());
        var ex = await Assert.ThrowsAsync<ImapConnectionException>(() => reader.ReadAsync(CancellationToken.None));
        Assert.Contains("literal of 100 bytes", ex.Message);
    }

    [Theory]
    [InlineData("INBOX", "INBOX")]
    [InlineData("Archive/Quarantäne", "Archive/Quarant&AOQ-ne")]
    [InlineData("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")] // RFC 3501 §5.1.3
    [InlineData("Tom & Jerry", "Tom &- Jerry")]
    public void Modified_UTF7_round_trips(string name, string wire)
    {
        Assert.Equal(wire, ImapUtf7.Encode(name));
        Assert.Equal(name, ImapUtf7.Decode(wire));
    }

    [Fact]
    public void A_malformed_UTF7_name_is_kept_as_it_was() => Assert.Equal("a&!!!-b", ImapUtf7.Decode("a&!!!-b"));

    [Theory]
    [InlineData("04-Mar-2026 10:00:00 +0000", "2026-03-04T10:00:00+00:00")]
    [InlineData(" 4-Mar-2026 23:59:59 -0130", "2026-03-04T23:59:59-01:30")]
    public void INTERNALDATE_parses_with_its_zone(string s, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ImapClient.ParseInternalDate(s));

    [Theory]
    [InlineData("yesterday")]
    [InlineData("04-Mar-2026 10:00:00 +9999")]
    public void A_bad_INTERNALDATE_is_null(string s) => Assert.Null(ImapClient.ParseInternalDate(s));
}
