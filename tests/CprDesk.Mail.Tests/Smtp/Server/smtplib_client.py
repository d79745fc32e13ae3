#!/usr/bin/env python3
"""Sends one message to the CprDesk SMTP server with Python's smtplib, as a real peer for the tests.

usage: smtplib_client.py HOST PORT MODE   (MODE: eightbit | starttls | nullsender)
Prints one JSON line: the SHA-256 and length of the bytes the server must have stored (what smtplib
sends after its own CRLF normalisation and dot-stuffing, unstuffed again), and session facts.
"""
import hashlib
import json
import smtplib
import ssl
import sys

RECIPIENT = "cpr@ca.test.example"


def message(subject: str, body: str) -> bytes:
    # CRLF line endings and no leading dots, so smtplib sends these bytes unchanged and the
    # server must store exactly them.
    text = (
        f"From: reporter@example.org\r\nTo: {RECIPIENT}\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    )
    return text.encode("utf-8")


def main() -> int:
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    facts = {}
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.ehlo("python.test.example")
        if mode == "eightbit":
            if not smtp.has_extn("8bitmime"):
                raise SystemExit("server did not advertise 8BITMIME")
            data = message("8bit", "Schlüssel kompromittiert – clé privée exposée ✓ 鍵")
            refused = smtp.sendmail("reporter@example.org", [RECIPIENT], data, mail_options=["BODY=8BITMIME"])
        elif mode == "starttls":
            if not smtp.has_extn("starttls"):
                raise SystemExit("server did not advertise STARTTLS")
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            smtp.starttls(context=context)
            smtp.ehlo("python.test.example")
            if smtp.has_extn("starttls"):
                raise SystemExit("server still advertises STARTTLS inside TLS")
            facts["tls_version"] = smtp.sock.version()
            data = message("over tls", "sent after STARTTLS")
            refused = smtp.sendmail("reporter@example.org", [RECIPIENT], data)
        elif mode == "nullsender":
            data = message("bounce", "a delivery status notification has the null reverse-path")
            refused = smtp.sendmail("", [RECIPIENT], data)
        else:
            raise SystemExit(f"unknown mode {mode}")
        if refused:
            raise SystemExit(f"recipients refused: {refused}")
    facts["sha256"] = hashlib.sha256(data).hexdigest()
    facts["length"] = len(data)
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
