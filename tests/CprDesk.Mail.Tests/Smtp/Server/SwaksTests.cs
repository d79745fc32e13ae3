// The server against swaks, a real SMTP client: plain, pipelined, STARTTLS, several recipients, dots, limits.
using System.Security.Cryptography;
using System.Text;
using CprDesk.Mail.Tests.Smtp.Server.Support;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class SwaksTests
{
    private static string Swaks() => ExternalTool.Require("swaks", "swaks");

    private static Task<ToolResult> RunSwaksAsync(TestServer server, params string[] arguments) =>
        ExternalTool.RunAsync(Swaks(),
            ["--server", "127.0.0.1", "--port", server.Port.ToString(), "--helo", "swaks.test.example",
             "--from", "reporter@example.org", "--timeout", "10", .. arguments]);

    private static StoredMessage Single(TestServer server)
    {
        var message = Assert.Single(server.Store.Saved);
        Assert.Equal(message.Bytes.Length, message.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(message.Bytes)), message.Sha256);
        return message;
    }

    [Fact]
    public async Task Plain_message_is_stored_with_its_envelope()
    {
        await using var server = await TestServer.StartAsync();
        var result = await RunSwaksAsync(server, "--to", "cpr@ca.test.example", "--h-Subject", "plain swaks", "--body", "key compromise report");
        Assert.True(result.ExitCode == 0, result.Transcript);

        var message = Single(server);
        Assert.Equal("reporter@example.org", message.MailFrom);
        Assert.Equal(["cpr@ca.test.example"], message.Recipients);
        Assert.Equal("swaks.test.example", message.Session.HeloName);
        Assert.False(message.Session.Secure);
        var text = Encoding.UTF8.GetString(message.Bytes);
        Assert.Contains("Subject: plain swaks\r\n", text);
        Assert.Contains("\r\n\r\nkey compromise report\r\n", text);
        Assert.StartsWith("Received: from swaks.test.example ([127.0.0.1])\r\n\tby mx.test.example with ESMTP id ", message.ReceivedHeader);
        Assert.Contains("250 2.0.0 queued as 1", result.Stdout);
    }

    // Debian 12's swaks (20201014) spells the option --pipeline.
    [Fact]
    public async Task Pipelined_transaction_is_stored()
    {
        await using var server = await TestServer.StartAsync();
        var result = await RunSwaksAsync(server, "--pipeline", "--to", "cpr@ca.test.example,abuse@ca.test.example", "--body", "pipelined");
        Assert.True(result.ExitCode == 0, result.Transcript);
        // swaks really pipelined: it sent DATA before it read the reply to MAIL.
        Assert.True(result.Stdout.IndexOf(" -> DATA", StringComparison.Ordinal) < result.Stdout.IndexOf("<-  250 2.1.0", StringComparison.Ordinal), result.Stdout);

        var message = Single(server);
        Assert.Equal(["cpr@ca.test.example", "abuse@ca.test.example"], message.Recipients);
        Assert.Contains("\r\n\r\npipelined\r\n", Encoding.UTF8.GetString(message.Bytes));
    }

    [Fact]
    public async Task Starttls_with_the_development_certificate()
    {
        await using var server = await TestServer.StartAsync();
        var result = await RunSwaksAsync(server, "-tls", "--to", "cpr@ca.test.example", "--body", "over tls");
        Assert.True(result.ExitCode == 0, result.Transcript);
        Assert.Contains("TLS started", result.Stdout);

        var message = Single(server);
        Assert.True(message.Session.Secure);
        Assert.NotNull(message.Session.TlsProtocol);
        Assert.Equal("swaks.test.example", message.Session.HeloName); // from the EHLO after TLS
        Assert.Contains(" with ESMTPS (", message.ReceivedHeader);
    }

    [Fact]
    public async Task Several_recipients_are_kept_in_order()
    {
        await using var server = await TestServer.StartAsync();
        var result = await RunSwaksAsync(server, "--to", "a@ca.test.example,b@ca.test.example,c@ca.test.example");
        Assert.True(result.ExitCode == 0, result.Transcript);

        var message = Single(server);
        Assert.Equal(["a@ca.test.example", "b@ca.test.example", "c@ca.test.example"], message.Recipients);
        Assert.DoesNotContain("\tfor <", message.ReceivedHeader); // only named when there is one recipient
    }

    [Fact]
    public async Task Lines_starting_with_dots_are_unstuffed()
    {
        // The exact DATA as it goes on the wire (dot-stuffed by us), sent untouched by swaks --no-data-fixup;
        // swaks adds the CRLF after the final dot.
        const string wire =
            "Subject: dots\r\n\r\n" +
            "..a line that starts with one dot\r\n" +
            "...two dots\r\n" +
            "..\r\n" +
            "a line with a . inside\r\n" +
            ".";
        const string expected =
            "Subject: dots\r\n\r\n" +
            ".a line that starts with one dot\r\n" +
            "..two dots\r\n" +
            ".\r\n" +
            "a line with a . inside\r\n";
        var file = Path.Combine(Path.GetTempPath(), $"swaks-data-{Guid.NewGuid():N}.eml");
        await File.WriteAllTextAsync(file, wire);
        try
        {
            await using var server = await TestServer.StartAsync();
            var result = await RunSwaksAsync(server, "--to", "cpr@ca.test.example", "--data", "@" + file, "--no-data-fixup");
            Assert.True(result.ExitCode == 0, result.Transcript);

            var message = Single(server);
            var expectedBytes = Encoding.ASCII.GetBytes(expected);
            Assert.Equal(expected, Encoding.ASCII.GetString(message.Bytes));
            Assert.Equal(expectedBytes.Length, message.Length);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expectedBytes)), message.Sha256);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Message_over_the_size_limit_gets_552_and_is_not_saved()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxMessageBytes = 2000);
        var result = await RunSwaksAsync(server, "--to", "cpr@ca.test.example", "--body", new string('x', 5000));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("552 5.3.4", result.Stdout);
        Assert.Contains("SIZE 2000", result.Stdout);
        Assert.Equal(0, server.Store.SaveCalls);
        Assert.Empty(server.Store.Saved);
    }

    [Fact]
    public async Task Refused_recipient_gets_the_stores_550()
    {
        await using var server = await TestServer.StartAsync();
        var result = await RunSwaksAsync(server, "--to", "nobody@ca.test.example");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("550 5.1.1 no such user", result.Stdout);
        Assert.Equal(0, server.Store.SaveCalls);
    }
}
