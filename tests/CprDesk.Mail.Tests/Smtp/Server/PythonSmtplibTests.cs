// The server against Python's smtplib: 8BITMIME with a UTF-8 body, STARTTLS, the null sender.
using System.Text;
using System.Text.Json;
using CprDesk.Mail.Tests.Smtp.Server.Support;

namespace CprDesk.Mail.Tests.Smtp.Server;

public sealed class PythonSmtplibTests
{
    private static async Task<(StoredMessage Message, JsonElement Facts)> SendAsync(string mode)
    {
        var python = ExternalTool.Require("python3", "python3");
        var script = ExternalTool.FindScript("smtplib_client.py");
        await using var server = await TestServer.StartAsync();
        var result = await ExternalTool.RunAsync(python, script, "127.0.0.1", server.Port.ToString(), mode);
        Assert.True(result.ExitCode == 0, result.Transcript);

        var facts = JsonDocument.Parse(result.Stdout).RootElement;
        var message = Assert.Single(server.Store.Saved);
        // smtplib's own account of what it sent, against what the server computed while receiving.
        Assert.Equal(facts.GetProperty("sha256").GetString(), message.Sha256);
        Assert.Equal(facts.GetProperty("length").GetInt64(), message.Length);
        Assert.Equal(["cpr@ca.test.example"], message.Recipients);
        return (message, facts);
    }

    [Fact]
    public async Task Eight_bit_utf8_body_arrives_byte_for_byte()
    {
        var (message, _) = await SendAsync("eightbit");
        Assert.True(message.EightBitMime);
        Assert.Contains("Schlüssel kompromittiert – clé privée exposée ✓ 鍵\r\n", Encoding.UTF8.GetString(message.Bytes));
        Assert.Equal("python.test.example", message.Session.HeloName);
    }

    [Fact]
    public async Task Starttls_with_an_unverified_context()
    {
        var (message, facts) = await SendAsync("starttls");
        Assert.True(message.Session.Secure);
        Assert.StartsWith("TLSv1.", facts.GetProperty("tls_version").GetString());
        Assert.False(message.EightBitMime);
    }

    [Fact]
    public async Task Null_sender_is_accepted()
    {
        var (message, _) = await SendAsync("nullsender");
        Assert.Equal("", message.MailFrom);
    }
}
