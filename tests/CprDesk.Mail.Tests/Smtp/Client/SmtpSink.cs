// A real SMTP server on 127.0.0.1 for the client tests: a small asyncio script in Python 3 that records every session.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using CprDesk.Mail.Smtp;
using CprDesk.Mail.Tests.Outgoing;

namespace CprDesk.Mail.Tests.Smtp.Client;

/// <summary>One SMTP transaction as the sink saw it; <see cref="Data"/> is after undoing dot-stuffing.</summary>
internal sealed record SinkTransaction(string MailFrom, string Parameters, List<string> Recipients, byte[] Data, bool BareLineEnds);

internal sealed record SinkSession(bool Tls, string? AuthUser, string? AuthMechanism, List<string> Commands, List<SinkTransaction> Transactions, string? Error)
{
    /// <summary>Command verbs in order, e.g. EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, QUIT.</summary>
    public List<string> Verbs => Commands.Select(c => c.Split(' ', ':')[0].ToUpperInvariant()).ToList();
}

internal sealed class SmtpSink : IAsyncDisposable
{
    private const string Script = """
        # SMTP sink for CprDesk.Mail's client tests: enough of RFC 5321, 3207 (STARTTLS) and 4954 (AUTH) to check a
        # client. Prints {"event": "ready", "port": N}, then one JSON line per finished session with every command,
        # the TLS and AUTH state, and each transaction's envelope and data (dot-stuffing undone, RFC 5321 4.5.2).
        import argparse, asyncio, base64, binascii, json, ssl, sys

        parser = argparse.ArgumentParser()
        parser.add_argument('--cert')
        parser.add_argument('--key')
        parser.add_argument('--starttls', action='store_true')
        parser.add_argument('--implicit-tls', action='store_true')
        parser.add_argument('--auth', help='user:password that AUTH must present; MAIL needs AUTH first')
        parser.add_argument('--auth-mechanisms', default='PLAIN LOGIN')
        parser.add_argument('--reject-ehlo', action='store_true')
        parser.add_argument('--no-8bitmime', action='store_true')
        parser.add_argument('--no-pipelining', action='store_true')
        parser.add_argument('--size', type=int, default=10485760)
        parser.add_argument('--rcpt', action='append', default=[], help='ADDRESS=REPLY; "|" splits a reply into lines')
        parser.add_argument('--greeting', default='220 sink.test ESMTP')
        parser.add_argument('--mail-reply')
        parser.add_argument('--data-reply', help='reply to the DATA command instead of 354')
        parser.add_argument('--final-reply', default='250 2.0.0 Ok: queued as 1234')
        args = parser.parse_args()
        rcpt_rules = dict(rule.split('=', 1) for rule in args.rcpt)

        context = None
        if args.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.cert, args.key)

        def encode_reply(text):
            code, _, rest = text.partition(' ')
            lines = rest.split('|')
            return (''.join(f'{code}-{line}\r\n' for line in lines[:-1]) + f'{code} {lines[-1]}\r\n').encode()

        def angle(arg, keyword):
            # "FROM:<a@b> SIZE=1" -> ("a@b", "SIZE=1")
            rest = arg[len(keyword):].strip()
            end = rest.index('>')
            return rest[1:end], rest[end + 1:].strip()

        async def session(reader, writer):
            state = {'event': 'session', 'Tls': args.implicit_tls, 'AuthUser': None, 'AuthMechanism': None,
                     'Commands': [], 'Transactions': [], 'Error': None}
            transaction = None

            async def send(text):
                writer.write(encode_reply(text))
                await writer.drain()

            async def read_line():
                line = await reader.readline()
                if not line:
                    raise ConnectionError('client closed the connection')
                return line

            try:
                await send(args.greeting)
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    command = line.rstrip(b'\r\n').decode('ascii', 'replace')
                    state['Commands'].append(command)
                    verb, _, arg = command.partition(' ')
                    verb = verb.upper()
                    if verb == 'EHLO':
                        if args.reject_ehlo:
                            await send('502 5.5.2 Error: command not recognized')
                            continue
                        transaction = None
                        lines = ['sink.test greets you', f'SIZE {args.size}', 'ENHANCEDSTATUSCODES']
                        if not args.no_pipelining:
                            lines.append('PIPELINING')
                        if not args.no_8bitmime:
                            lines.append('8BITMIME')
                        if args.starttls and not state['Tls']:
                            lines.append('STARTTLS')
                        if args.auth:
                            lines.append('AUTH ' + args.auth_mechanisms)
                        await send('250 ' + '|'.join(lines))
                    elif verb == 'HELO':
                        transaction = None
                        await send('250 sink.test')
                    elif verb == 'STARTTLS':
                        if not args.starttls or state['Tls']:
                            await send('502 5.5.1 STARTTLS not available')
                            continue
                        await send('220 2.0.0 Ready to start TLS')
                        await writer.start_tls(context)
                        # RFC 3207 4.2: the server forgets everything it learnt before TLS.
                        state['Tls'] = True
                        transaction = None
                    elif verb == 'AUTH':
                        mechanism, _, initial = arg.partition(' ')
                        mechanism = mechanism.upper()
                        try:
                            if mechanism == 'PLAIN':
                                if not initial:
                                    await send('334 ')
                                    initial = (await read_line()).strip().decode()
                                _, user, password = base64.b64decode(initial, validate=True).decode().split('\0')
                            elif mechanism == 'LOGIN':
                                await send('334 VXNlcm5hbWU6')
                                user = base64.b64decode((await read_line()).strip(), validate=True).decode()
                                await send('334 UGFzc3dvcmQ6')
                                password = base64.b64decode((await read_line()).strip(), validate=True).decode()
                            else:
                                await send('504 5.5.4 Unrecognized authentication type')
                                continue
                        except (ValueError, binascii.Error):
                            await send('501 5.5.2 Cannot decode response')
                            continue
                        state['AuthMechanism'] = mechanism
                        if args.auth and f'{user}:{password}' == args.auth:
                            state['AuthUser'] = user
                            await send('235 2.7.0 Authentication successful')
                        else:
                            await send('535 5.7.8 Error: authentication failed')
                    elif verb == 'MAIL':
                        if args.auth and not state['AuthUser']:
                            await send('530 5.7.0 Authentication required')
                        elif args.mail_reply:
                            await send(args.mail_reply)
                        else:
                            mail_from, parameters = angle(arg, 'FROM:')
                            transaction = {'MailFrom': mail_from, 'Parameters': parameters, 'Recipients': [],
                                           'Data': '', 'BareLineEnds': False}
                            await send('250 2.1.0 Ok')
                    elif verb == 'RCPT':
                        if transaction is None:
                            await send('503 5.5.1 Error: need MAIL command')
                            continue
                        recipient, _ = angle(arg, 'TO:')
                        if recipient in rcpt_rules:
                            await send(rcpt_rules[recipient])
                        else:
                            transaction['Recipients'].append(recipient)
                            await send('250 2.1.5 Ok')
                    elif verb == 'DATA':
                        if transaction is None or not transaction['Recipients']:
                            await send('554 5.5.1 Error: no valid recipients')
                            continue
                        if args.data_reply:
                            await send(args.data_reply)
                            transaction = None
                            continue
                        await send('354 End data with <CR><LF>.<CR><LF>')
                        data = bytearray()
                        while True:
                            line = await read_line()
                            if not line.endswith(b'\r\n'):
                                transaction['BareLineEnds'] = True
                            if line == b'.\r\n':
                                break
                            data += line[1:] if line.startswith(b'.') else line
                        transaction['Data'] = base64.b64encode(bytes(data)).decode()
                        state['Transactions'].append(transaction)
                        transaction = None
                        await send(args.final_reply)
                    elif verb == 'RSET':
                        transaction = None
                        await send('250 2.0.0 Ok')
                    elif verb == 'NOOP':
                        await send('250 2.0.0 Ok')
                    elif verb == 'QUIT':
                        await send('221 2.0.0 Bye')
                        break
                    else:
                        await send('502 5.5.2 Error: command not recognized')
            except Exception as e:
                state['Error'] = f'{type(e).__name__}: {e}'
            finally:
                print(json.dumps(state), flush=True)
                writer.close()
                try:
                    await writer.wait_closed()
                except Exception:
                    pass

        async def main():
            server = await asyncio.start_server(session, '127.0.0.1', 0, ssl=context if args.implicit_tls else None)
            print(json.dumps({'event': 'ready', 'port': server.sockets[0].getsockname()[1]}), flush=True)
            async with server:
                await server.serve_forever()

        asyncio.run(main())
        """;

    private static readonly Lazy<string> ScriptPath = new(() => PythonTool.WriteScript("smtp_sink.py", Script));

    private readonly Process _process;
    private readonly Channel<SinkSession> _sessions = Channel.CreateUnbounded<SinkSession>();
    private readonly StringBuilder _stderr;
    private readonly Task _pump;

    private SmtpSink(Process process, int port, StringBuilder stderr)
    {
        _process = process;
        Port = port;
        _stderr = stderr;
        _pump = Task.Run(PumpAsync);
    }

    public int Port { get; }

    /// <summary>Starts the sink with the given options (see the script's arguments) and waits until it listens.</summary>
    public static async Task<SmtpSink> StartAsync(params string[] args)
    {
        var process = PythonTool.Start(ScriptPath.Value, args);
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = await process.StandardOutput.ReadLineAsync(cts.Token);
        if (first is null || !first.Contains("\"ready\""))
        {
            await process.WaitForExitAsync(cts.Token);
            lock (stderr) throw new Xunit.Sdk.XunitException($"the SMTP sink did not start: {first}\n{stderr}");
        }
        return new SmtpSink(process, JsonDocument.Parse(first).RootElement.GetProperty("port").GetInt32(), stderr);
    }

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
            _sessions.Writer.TryWrite(JsonSerializer.Deserialize<SinkSession>(line)!);
        _sessions.Writer.TryComplete();
    }

    /// <summary>The next session to end. The client has finished when SendAsync returns, and the sink prints a
    /// session as soon as the connection closes, so this waits on that signal rather than on a clock.</summary>
    public async Task<SinkSession> NextSessionAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            return await _sessions.Reader.ReadAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            lock (_stderr) throw new Xunit.Sdk.XunitException($"the SMTP sink reported no session ({e.GetType().Name}); its stderr:\n{_stderr}");
        }
    }

    public SmtpRelayOptions Relay(SmtpTlsMode tls = SmtpTlsMode.None, string? username = null, string? password = null,
        bool acceptAnyCertificate = true, bool allowAuthWithoutTls = false) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        Tls = tls,
        Username = username,
        Password = password,
        AcceptAnyCertificate = acceptAnyCertificate,
        AllowAuthWithoutTls = allowAuthWithoutTls,
        HeloName = "client.test",
        Timeout = TimeSpan.FromSeconds(15),
    };

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill();
        await _process.WaitForExitAsync();
        await _pump;
        _process.Dispose();
    }
}
