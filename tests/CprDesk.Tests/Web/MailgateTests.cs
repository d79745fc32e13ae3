using System.Text;
using CprDesk.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Tests.Web;

/// <summary>`cprdesk mailgate` as an MTA runs it: a process reading stdin, exit codes the MTA acts on.</summary>
public sealed class MailgateTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private readonly TempDir _files = new();

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _files.Dispose();
    }

    private static readonly byte[] Message = Encoding.ASCII.GetBytes(
        "From: reporter@example.org\r\nTo: cpr@ca.example\r\nSubject: Key compromise via alias\r\nMessage-ID: <mg-1@example.org>\r\n\r\nThe key leaked.\r\n");

    private async Task<string> TokenFileAsync(string token)
    {
        var path = Path.Combine(_files.Path, Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(path, token + "\n");
        return path;
    }

    [Fact]
    public async Task A_piped_message_is_stored_and_becomes_a_report()
    {
        var token = await _host.Service<CprDesk.Access.Accounts>().CreateMailgateTokenAsync("test", "postfix");
        var r = await Support.Cli.RunWithInputAsync(Message, "mailgate", "--url", _host.BaseUri.ToString(), "--token-file", await TokenFileAsync(token.Token),
            "--sender", "reporter@example.org", "--recipient", "cpr@ca.example");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("CPR-", r.Stdout);
        await using var db = _host.Service<CprDesk.Storage.Database>().Open();
        var m = await db.Messages.SingleAsync(x => x.MessageId == "mg-1@example.org");
        Assert.Equal("reporter@example.org", m.EnvelopeFrom);
        Assert.Equal("cpr@ca.example", m.EnvelopeTo);
        Assert.NotNull(m.ReportId);
    }

    [Fact]
    public async Task The_inbound_API_answers_202_and_staff_see_flags_defects_and_the_outbox()
    {
        var token = await _host.Service<CprDesk.Access.Accounts>().CreateMailgateTokenAsync("test", "api");
        using var gate = _host.Client(token.Token);
        var raw = Encoding.ASCII.GetBytes("From: r@example.org\nSubject: bare LF and a NUL\0\nMessage-ID: <api-1@example.org>\n\nkey leaked\n");
        var response = await gate.PostAsync("/api/v1/inbound/rfc822?from=r@example.org&to=cpr@ca.example", new ByteArrayContent(raw));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var accepted = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var ticket = accepted.GetProperty("ticket").GetString()!;
        Assert.True(accepted.GetProperty("messageId").GetInt64() > 0);

        var (_, _, staffToken) = await _host.UserAsync(CprDesk.Storage.StaffRole.Auditor);
        using var staff = _host.Client(staffToken);
        var report = System.Text.Json.JsonDocument.Parse(await staff.GetStringAsync($"/api/v1/reports/{ticket}")).RootElement;
        var message = report.GetProperty("messages")[0];
        Assert.Contains("malformed", message.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains(message.GetProperty("defects").EnumerateArray(), d => d.GetProperty("code").GetString() == "bare-lf");
        var outbox = System.Text.Json.JsonDocument.Parse(await staff.GetStringAsync($"/api/v1/outbox?ticket={ticket}")).RootElement;
        var ack = Assert.Single(outbox.EnumerateArray());
        Assert.Equal("acknowledgement", ack.GetProperty("kind").GetString());
        Assert.Equal("r@example.org", ack.GetProperty("to").GetString());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await _host.Client().GetAsync("/api/v1/outbox")).StatusCode);
    }

    [Fact]
    public async Task A_mailgate_token_can_do_nothing_else_and_a_staff_token_cannot_submit_mail()
    {
        var mailgate = await _host.Service<CprDesk.Access.Accounts>().CreateMailgateTokenAsync("test", "postfix");
        using var client = _host.Client(mailgate.Token);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/reports")).StatusCode);
        var (_, _, staffToken) = await _host.UserAsync(CprDesk.Storage.StaffRole.Staff);
        var r = await Support.Cli.RunWithInputAsync(Message, "mailgate", "--url", _host.BaseUri.ToString(), "--token-file", await TokenFileAsync(staffToken));
        Assert.Equal(77, r.ExitCode);
    }

    [Fact]
    public async Task A_wrong_token_is_77_and_an_unreachable_server_or_missing_token_is_75_so_the_MTA_retries()
    {
        var wrong = await Support.Cli.RunWithInputAsync(Message, "mailgate", "--url", _host.BaseUri.ToString(), "--token-file", await TokenFileAsync("cprm_nope"));
        Assert.Equal(77, wrong.ExitCode);
        var port = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        port.Start();
        var closed = ((System.Net.IPEndPoint)port.LocalEndpoint).Port;
        port.Stop();
        var down = await Support.Cli.RunWithInputAsync(Message, "mailgate", "--url", $"http://127.0.0.1:{closed}", "--token-file", await TokenFileAsync("cprm_x"));
        Assert.Equal(75, down.ExitCode);
        Assert.Contains("will retry", down.Stderr);
        var none = await Support.Cli.RunWithInputAsync(Message, "mailgate", "--url", _host.BaseUri.ToString(), "--token-file", Path.Combine(_files.Path, "missing"));
        Assert.Equal(75, none.ExitCode);
    }
}
