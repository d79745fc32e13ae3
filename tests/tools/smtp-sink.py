#!/usr/bin/env python3
"""smtp-sink.py — a tiny SMTP sink on loopback that records what it receives.

Usage:
  smtp-sink.py --port PORT --dir OUTDIR [--host 127.0.0.1] [--max-messages N]
               [--lifetime SECONDS] [--reply "451 4.3.0 try later"] [--quiet]

For each message accepted it writes, in OUTDIR:
  NNNNNN.eml   the message bytes exactly as received after the DATA dot-stuffing
               is undone (CRLF line endings kept)
  NNNNNN.json  the envelope: {"mail_from", "rcpt_to": [...], "size", "peer", "helo"}
The .json is written last (atomically renamed), so a test can wait for it.

  --reply TEXT     answer every DATA with this reply instead of "250 2.0.0 Ok"
                   (e.g. "451 4.3.0 try later" to make the client defer); with a
                   non-2xx reply nothing is recorded.
  --max-messages N exit after N messages were recorded (default: no limit)
  --lifetime S     exit after S seconds whatever happens (default 600): the sink
                   never outlives a test run.
Listens only on loopback addresses (127.0.0.0/8, ::1). Speaks plain SMTP
(EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; PIPELINING is tolerated); no TLS.
Prints "listening on HOST:PORT" to stdout once it accepts connections.
"""
import argparse
import asyncio
import ipaddress
import json
import os
import sys

READ_TIMEOUT = 60


async def read_data(reader):
    """Reads DATA up to the lone "." line and undoes dot-stuffing; None if the peer went away."""
    chunks = []
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b".\r\n", b".\n"):
            return b"".join(chunks)
        if line.startswith(b"."):
            line = line[1:]
        chunks.append(line)


class Sink:
    def __init__(self, outdir, reply, max_messages, quiet):
        self.outdir = outdir
        self.reply = reply
        self.max_messages = max_messages
        self.quiet = quiet
        self.count = 0
        self.done = asyncio.Event()

    def record(self, envelope, data):
        self.count += 1
        base = os.path.join(self.outdir, f"{self.count:06d}")
        with open(base + ".eml", "wb") as f:
            f.write(data)
        tmp = base + ".json.tmp"
        with open(tmp, "w") as f:
            json.dump(dict(envelope, size=len(data)), f)
        os.replace(tmp, base + ".json")
        if not self.quiet:
            print(f"message {self.count}: from=<{envelope['mail_from']}> "
                  f"to={envelope['rcpt_to']} size={len(data)}", flush=True)
        if self.max_messages and self.count >= self.max_messages:
            self.done.set()

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        envelope = {"mail_from": None, "rcpt_to": [], "peer": f"{peer[0]}:{peer[1]}", "helo": None}

        async def send(line):
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        async def readline():
            return await asyncio.wait_for(reader.readline(), READ_TIMEOUT)

        try:
            await send("220 sink.localdomain ESMTP smtp-sink.py")
            while True:
                raw = await readline()
                if not raw:
                    break
                line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                verb = line[:4].upper()
                arg = line[4:].strip()
                if verb == "EHLO":
                    envelope["helo"] = arg
                    writer.write(b"250-sink.localdomain\r\n250-PIPELINING\r\n"
                                 b"250-8BITMIME\r\n250-SIZE 104857600\r\n250 SMTPUTF8\r\n")
                    await writer.drain()
                elif verb == "HELO":
                    envelope["helo"] = arg
                    await send("250 sink.localdomain")
                elif verb == "MAIL":
                    addr = arg.split(":", 1)[1].strip() if ":" in arg else ""
                    envelope["mail_from"] = addr.split(">")[0].lstrip("<")
                    envelope["rcpt_to"] = []
                    await send("250 2.1.0 Ok")
                elif verb == "RCPT":
                    if envelope["mail_from"] is None:
                        await send("503 5.5.1 need MAIL first")
                        continue
                    addr = arg.split(":", 1)[1].strip() if ":" in arg else ""
                    envelope["rcpt_to"].append(addr.split(">")[0].lstrip("<"))
                    await send("250 2.1.5 Ok")
                elif verb == "DATA":
                    if not envelope["rcpt_to"]:
                        await send("503 5.5.1 need RCPT first")
                        continue
                    await send("354 End data with <CR><LF>.<CR><LF>")
                    data = await asyncio.wait_for(read_data(reader), READ_TIMEOUT)
                    if data is None:
                        return
                    if self.reply.startswith("2"):
                        self.record(envelope, data)
                    await send(self.reply)
                    envelope["mail_from"] = None
                    envelope["rcpt_to"] = []
                elif verb == "RSET":
                    envelope["mail_from"] = None
                    envelope["rcpt_to"] = []
                    await send("250 2.0.0 Ok")
                elif verb == "NOOP":
                    await send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    await send("221 2.0.0 Bye")
                    break
                else:
                    await send("502 5.5.2 command not recognized")
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


async def main():
    p = argparse.ArgumentParser(description="SMTP sink on loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--max-messages", type=int, default=0)
    p.add_argument("--lifetime", type=float, default=600)
    p.add_argument("--reply", default="250 2.0.0 Ok")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args()

    host = "::1" if a.host == "localhost" else a.host
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("smtp-sink.py: refusing to listen on a non-loopback address")
    os.makedirs(a.dir, exist_ok=True)
    sink = Sink(a.dir, a.reply, a.max_messages, a.quiet)
    server = await asyncio.start_server(sink.handle, host, a.port)
    print(f"listening on {host}:{a.port}", flush=True)
    async with server:
        try:
            await asyncio.wait_for(sink.done.wait(), a.lifetime)
        except asyncio.TimeoutError:
            pass
    print(f"exiting after {sink.count} message(s)", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
