#!/usr/bin/env python3
"""escalation-latency.py — receipt to first notification handed to its channel, through the real host.

Usage: python3 bench/escalation-latency.py [--reports 1000] [--concurrency 4] [--rate R] [--keep]

--rate R submits at most R reports per second (paced, as reports arrive in life); without it, as fast as
--concurrency allows (a stress test: latency then grows with the backlog).

Builds nothing: run `dotnet build src/CprDesk -c Release` first. Starts `cprdesk serve` (Release build) on loopback
with a fresh data directory, an on-call schedule of one admin with an email address, and the default policy (the
on-call primary is paged at receipt). Submits N reports through POST /api/v1/reports, waits until every report's
first notification was handed to the outbound channel (the .eml file transport), and prints p50/p99/max of
(outbox.sent_at of the first notification - report.received_at), read from the database. Loopback only; bounded.
"""
import argparse, concurrent.futures, json, os, shutil, socket, sqlite3, subprocess, sys, tempfile, time, urllib.request
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DLL = os.path.join(ROOT, "src", "CprDesk", "bin", "Release", "net10.0", "cprdesk.dll")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def cli(data, *args):
    out = subprocess.run(["dotnet", DLL, *args, "--data", data], capture_output=True, text=True, timeout=120)
    if out.returncode != 0: sys.exit(f"cprdesk {' '.join(args)} failed: {out.stderr}")
    return out.stdout

def ts(s):
    s = s.replace("Z", "")
    if "." in s: head, frac = s.split("."); s = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(s.replace(" ", "T"))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--rate", type=float, default=0)
    a = ap.parse_args()
    if not os.path.exists(DLL): sys.exit(f"{DLL} not found: dotnet build src/CprDesk -c Release")
    data = tempfile.mkdtemp(prefix="cprdesk-esc-")
    cli(data, "user", "add", "oncall", "--role", "admin", "--email", "oncall@ca.example")
    token = cli(data, "token", "create", "oncall").strip().splitlines()[-1]
    port = free_port()
    env = dict(os.environ, Logging__LogLevel__Default="Warning")
    server = subprocess.Popen(["dotnet", DLL, "serve", "--data", data, "--urls", f"http://127.0.0.1:{port}", "--smtp", "off"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        for line in server.stdout:
            if "CprDesk is running" in line: break
            if time.time() > deadline: sys.exit("serve did not start")
        def call(method, path, body=None, auth=True):
            req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if auth else {})})
            with urllib.request.urlopen(req, timeout=30) as r: return json.load(r)
        call("PUT", "/api/v1/schedules/cpr", {"layers": [{"name": "all", "priority": 0, "participants": ["oncall"], "shift": {"days": 7},
             "handOff": "09:00", "timeZone": "UTC", "start": "2026-01-05"}]})
        start = time.time()
        def submit(i):
            if a.rate > 0:
                wait = start + i / a.rate - time.time()
                if wait > 0: time.sleep(wait)  # pacing the load generator, not waiting for a result
            return call("POST", "/api/v1/reports", {"reporterEmail": f"r{i}@example.org", "description": f"bench report {i}"}, auth=False)["ticket"]
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(a.concurrency) as pool:
            tickets = list(pool.map(submit, range(a.reports)))
        submit_s = time.time() - t0
        db = sqlite3.connect(os.path.join(data, "cprdesk.db"))
        q = """select r.received_at, min(o.sent_at) from reports r join outbox o on o.report_id = r.id
               where o.kind = 'notification' and o.sent_at is not null group by r.id"""
        wait_until = time.time() + 300
        while True:
            rows = db.execute(q).fetchall()
            if len(rows) >= a.reports or time.time() > wait_until: break
            time.sleep(0.5)  # another process's database: polling is the only signal
        lat = sorted((ts(sent) - ts(recv)).total_seconds() * 1000 for recv, sent in rows)
        if not lat: sys.exit("no notification was sent")
        pick = lambda p: lat[min(len(lat) - 1, int(round(p / 100 * len(lat) + 0.5)) - 1)]
        print(f"reports: {a.reports} submitted in {submit_s:.1f} s at concurrency {a.concurrency}{f', paced at {a.rate:g}/s' if a.rate else ''}; first notification sent for {len(lat)}")
        print(f"receipt -> first notification handed to its channel: p50 {pick(50):.0f} ms, p99 {pick(99):.0f} ms, max {lat[-1]:.0f} ms")
        return 0 if len(lat) == a.reports else 1
    finally:
        server.terminate()
        try: server.wait(timeout=20)
        except subprocess.TimeoutExpired: server.kill()
        if not a.keep: shutil.rmtree(data, ignore_errors=True)
        else: print(f"data kept in {data}")

if __name__ == "__main__":
    sys.exit(main())
