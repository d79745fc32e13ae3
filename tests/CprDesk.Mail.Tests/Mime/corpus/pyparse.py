#!/usr/bin/env python3
"""Reference side of the differential test: parses every *.eml in a directory with Python's email package
(policy=email.policy.default) and prints one JSON object, keyed by file name, with the fields the C# test compares.

A field that makes Python raise is reported as {"error": "..."} instead of aborting the run. Text that Python keeps
as surrogate escapes (undecodable bytes) is shown with backslash escapes, so it stays visible and valid JSON.
"""
import datetime
import email
import email.policy
import hashlib
import json
import os
import sys


def text(s):
    if s is None:
        return None
    return str(s).encode("utf-8", "backslashreplace").decode("utf-8")


def guarded(fn):
    try:
        return fn()
    except Exception as e:  # the reference is allowed to fail; the comparison reports it
        return {"error": "%s: %s" % (type(e).__name__, e)}


def subject(msg):
    h = msg["subject"]
    return None if h is None else text(h)


def sender(msg):
    h = msg["from"]
    if h is None:
        return []
    return [{"name": text(a.display_name) or None, "address": text(a.addr_spec)} for a in h.addresses]


def date(msg):
    h = msg["date"]
    if h is None or h.datetime is None:
        return None
    dt = h.datetime
    naive = dt.tzinfo is None
    if naive:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return {"utc": dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "naive": naive}


def message_id(msg):
    h = msg["message-id"]
    if h is None:
        return None
    s = str(h).strip()
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1]
    return text(s)


def leaves(msg):
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        out.append({
            "type": part.get_content_type(),
            "filename": text(part.get_filename()),
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        })
    return out


def body(msg):
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    return {"type": part.get_content_type(), "text": text(part.get_content())}


def main(directory):
    result = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        try:
            msg = email.message_from_bytes(data, policy=email.policy.default)
        except Exception as e:
            result[name] = {"error": "%s: %s" % (type(e).__name__, e)}
            continue
        result[name] = {
            "subject": guarded(lambda: subject(msg)),
            "from": guarded(lambda: sender(msg)),
            "date": guarded(lambda: date(msg)),
            "message_id": guarded(lambda: message_id(msg)),
            "leaves": guarded(lambda: leaves(msg)),
            "body": guarded(lambda: body(msg)),
        }
    json.dump(result, sys.stdout, ensure_ascii=True, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
