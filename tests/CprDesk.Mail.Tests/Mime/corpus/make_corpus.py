#!/usr/bin/env python3
"""Writes the MIME parser's test corpus (*.eml) into this directory. Deterministic: same bytes on every run.

Each message exercises one feature (or one hostile shape). Run it after changing it and commit the .eml files too:
    python3 make_corpus.py
"""
import base64
import io
import os
import random
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20240501)
written = []


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    written.append(name)


def crlf(text):
    """Text with LF line endings -> CRLF, the wire form."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def b64(data, width=76):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


def ew_b(text, charset="utf-8"):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode("ascii"))


def fake_der(n, seed):
    r = random.Random(seed)
    return bytes([0x30, 0x82, (n >> 8) & 0xFF, n & 0xFF]) + bytes(r.randrange(256) for _ in range(n))


def pem(label, der):
    s = base64.b64encode(der).decode("ascii")
    return "-----BEGIN %s-----\n%s-----END %s-----\n" % (label, "\n".join(s[i:i + 64] for i in range(0, len(s), 64)) + "\n", label)


CERT = pem("CERTIFICATE", fake_der(900, 1))
CSR = pem("CERTIFICATE REQUEST", fake_der(600, 2))
KEY = pem("PRIVATE KEY", fake_der(1200, 3))

STD = """From: Reporter <reporter@example.org>
To: cpr@ca.example
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <{id}@example.org>
"""


def std(i):
    return STD.format(id="corpus-%03d" % i)


# --- Line endings, header syntax -------------------------------------------------------------------------

write("001-simple-plain.eml", crlf(std(1) + """Subject: Certificate problem report
Content-Type: text/plain; charset=us-ascii

Hello,

please revoke the certificate with serial 04:3A:9F.
"""))

write("002-bare-lf.eml", std(2) + """Subject: bare LF line endings
Content-Type: text/plain

Every line of this message ends in LF only.
Second line.
""")

write("003-bare-cr.eml", (std(3) + """Subject: bare CR line endings
Content-Type: text/plain

Classic Mac line endings.
Second line.
""").replace("\n", "\r"))

write("004-folded-headers.eml", crlf("""From: Reporter
 <reporter@example.org>
To: cpr@ca.example,
\tsecurity@ca.example
Date: Mon, 06 May 2024
 10:15:00 +0000
Message-ID:
 <corpus-004@example.org>
Subject: a subject that is
 folded over
\tthree lines
Content-Type: text/plain;
 charset="us-ascii"

Folded headers.
"""))

write("005-folded-bare-lf.eml", """From: Reporter <reporter@example.org>
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-005@example.org>
Subject: folded with
 bare LF
Content-Type: text/plain

Body.
""")

write("006-space-before-colon.eml", crlf(std(6) + """Subject : obsolete space before the colon
Content-Type : text/plain; charset=utf-8

RFC 5322 section 4.5 allows whitespace before the colon.
"""))

write("007-empty-header-values.eml", crlf(std(7) + """Subject:
Cc:
Keywords:
Content-Type: text/plain

Empty header values are allowed (obs-unstruct may be empty).
"""))

write("008-utf8-raw-headers.eml", crlf("""From: Jörg Müller <joerg@example.de>
To: cpr@ca.example
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-008@example.org>
Subject: Zertifikat kompromittiert – bitte widerrufen
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Der private Schlüssel wurde veröffentlicht.
"""))

write("009-latin1-raw-header.eml", crlf(std(9) + "Subject: Schl\xfcssel ver\xf6ffentlicht\nContent-Type: text/plain; charset=iso-8859-1\n\nDer Schl\xfcssel.\n").encode("latin-1"))

write("010-header-without-colon.eml", crlf(std(10) + """Subject: a junk line follows
this line has no colon
Content-Type: text/html

The junk line ends the header section.
"""))

write("011-nul-bytes.eml", crlf(std(11) + "Subject: NUL\x00bytes\nContent-Type: text/plain\n\nbody with a NUL \x00 byte\nand another\x00\n"))

# --- RFC 2047 encoded words --------------------------------------------------------------------------------

write("012-ew-b-utf8.eml", crlf(std(12) + "Subject: " + ew_b("Widerruf: Schlüssel kompromittiert") + "\nContent-Type: text/plain\n\nx\n"))

write("013-ew-q-latin1.eml", crlf(std(13) + """Subject: =?iso-8859-1?q?Cl=E9_priv=E9e_compromise?=
Content-Type: text/plain

x
"""))

write("014-ew-adjacent.eml", crlf(std(14) + """Subject: Re: =?utf-8?q?cl=C3=A9?=   =?utf-8?q?_priv=C3=A9e?= (plain text) =?utf-8?b?w6k=?= end
Content-Type: text/plain

Whitespace between adjacent encoded-words is dropped, elsewhere kept.
"""))

euro = "€".encode("utf-8")
write("015-ew-split-multibyte.eml", crlf(std(15) + "Subject: =?utf-8?b?%s?= =?utf-8?b?%s?= 100\nContent-Type: text/plain\n\nx\n" % (
    base64.b64encode(euro[:2]).decode(), base64.b64encode(euro[2:]).decode())))

write("016-ew-mixed-charsets.eml", crlf(std(16) + "Subject: " + ew_b("Zażółć", "iso-8859-2") + " " + ew_b("ключ", "koi8-r") + " " + ew_b("鍵", "utf-8") + "\nContent-Type: text/plain\n\nx\n"))

write("017-ew-unknown-charset.eml", crlf(std(17) + """Subject: =?x-unknown-charset?q?abc?= and more
Content-Type: text/plain

x
"""))

write("018-ew-malformed.eml", crlf(std(18) + """Subject: =?utf-8?q?unterminated and =?utf-8?b?###?= done
Content-Type: text/plain

x
"""))

# --- Charsets ----------------------------------------------------------------------------------------------

def charset_msg(i, name, subject, body, charset, cte="base64", subject_charset=None):
    sc = subject_charset or charset
    head = std(i) + "Subject: " + ew_b(subject, sc) + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=" + charset + "\nContent-Transfer-Encoding: " + cte + "\n\n"
    raw = body.encode(charset)
    if cte == "base64":
        write(name, crlf(head + b64(raw)).encode("ascii"))
    else:
        write(name, crlf(head).encode("ascii") + raw.replace(b"\n", b"\r\n"))


charset_msg(19, "019-gb2312.eml", "证书问题报告", "私钥已泄露，请吊销证书。\n", "gb2312")
charset_msg(20, "020-iso-2022-jp.eml", "証明書の失効依頼", "秘密鍵が漏洩しました。\n", "iso-2022-jp", cte="7bit")
charset_msg(21, "021-koi8-r.eml", "Отзыв сертификата", "Закрытый ключ скомпрометирован.\n", "koi8-r", cte="8bit")
charset_msg(22, "022-shift-jis.eml", "証明書", "鍵が漏洩しました。\n", "shift_jis")
charset_msg(23, "023-big5.eml", "憑證問題", "私鑰已洩露。\n", "big5")
charset_msg(24, "024-ks-c-5601.eml", "인증서 문제", "개인 키가 유출되었습니다.\n", "ks_c_5601-1987", subject_charset="euc-kr")
charset_msg(25, "025-gb18030.eml", "证书", "私钥已泄露。€\n", "gb18030")
charset_msg(26, "026-cp1252.eml", "Clé – “compromise”", "The key “leaked” — see attached.\n", "cp1252", cte="8bit")
charset_msg(27, "027-latin1-alias.eml", "Schlüssel", "Der Schlüssel.\n", "latin1", cte="8bit")
write("028-utf16-body.eml", crlf(std(28) + "Subject: UTF-16\nContent-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n" + b64("\ufeffUTF-16 text: ключ 鍵\n".encode("utf-16-le"))))
write("029-x-sjis-alias.eml", crlf(std(29) + "Subject: =?x-sjis?b?%s?=\nContent-Type: text/plain; charset=x-sjis\nContent-Transfer-Encoding: base64\n\n" % base64.b64encode("証明書".encode("shift_jis")).decode() + b64("鍵が漏洩しました。\n".encode("shift_jis"))))
write("030-unknown-charset-body.eml", crlf(std(30) + "Subject: unknown charset\nContent-Type: text/plain; charset=x-no-such-charset\nContent-Transfer-Encoding: 8bit\n\n").encode() + "caf\u00e9\r\n".encode("utf-8"))
charset_msg(31, "031-iso-8859-2.eml", "Klucz prywatny", "Zażółć gęślą jaźń.\n", "iso-8859-2", cte="8bit")
charset_msg(32, "032-windows-1251.eml", "Ключ", "Закрытый ключ.\n", "windows-1251", cte="8bit")

# --- Addresses ---------------------------------------------------------------------------------------------

write("033-addresses.eml", crlf("""From: "Doe, John" <john.doe@example.org>
To: Alice <alice@example.org>, bob@example.org (Bob the builder), "Quoted \\"Name\\"" <q@example.org>
Cc: John Q. Public <jqp@example.org>
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-033@example.org>
Subject: addresses
Content-Type: text/plain

x
"""))

write("034-address-groups.eml", crlf("""From: Team: alice@example.org, Bob <bob@example.org>;
To: undisclosed-recipients:;
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-034@example.org>
Subject: groups
Content-Type: text/plain

x
"""))

write("035-address-obs-route.eml", crlf("""From: Old Relay <@relay1.example,@relay2.example:user@example.org>
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-035@example.org>
Subject: obsolete route
Content-Type: text/plain

x
"""))

write("036-address-encoded-name.eml", crlf("""From: =?utf-8?q?J=C3=B6rg?= =?utf-8?q?_M=C3=BCller?= <joerg@example.de>
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-036@example.org>
Subject: encoded display name
Content-Type: text/plain

x
"""))

write("037-address-invalid.eml", crlf("""From: not an address at all
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-037@example.org>
Subject: invalid From
Content-Type: text/plain

x
"""))

write("038-address-comments.eml", crlf("""From: (the reporter) reporter(at work)@example.org (Reporter)
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: <corpus-038@example.org>
Subject: comments in addresses
Content-Type: text/plain

x
"""))

# --- Dates -------------------------------------------------------------------------------------------------

def date_msg(i, name, date):
    write(name, crlf("From: r@example.org\nDate: %s\nMessage-ID: <corpus-%03d@example.org>\nSubject: date %s\nContent-Type: text/plain\n\nx\n" % (date, i, name)))


date_msg(39, "039-date-2digit-year.eml", "Tue, 1 Jul 03 10:52:37 EST")
date_msg(40, "040-date-2digit-year-1900s.eml", "Sun, 1 Jan 55 00:00:00 GMT")
date_msg(41, "041-date-military-zone.eml", "1 Jan 2003 10:00:00 A")
date_msg(42, "042-date-named-zone.eml", "Fri, 21 Nov 1997 09:55:06 PDT")
date_msg(43, "043-date-invalid.eml", "the day after tomorrow")
date_msg(44, "044-date-3digit-year.eml", "1 Jan 103 10:00:00 +0000")
date_msg(45, "045-date-comment.eml", "Mon, 06 May 2024 12:15:00 +0200 (CEST)")
date_msg(46, "046-date-no-seconds-ut.eml", "6 May 2024 10:15 UT")
date_msg(47, "047-date-minus-zero.eml", "Mon, 06 May 2024 10:15:00 -0000")

# --- Structure ---------------------------------------------------------------------------------------------

write("048-alternative.eml", crlf(std(48) + """Subject: alternative
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-1"

--alt-1
Content-Type: text/plain; charset=utf-8

Plain version of the report.
--alt-1
Content-Type: text/html; charset=utf-8

<html><body><p>HTML version of the report.</p></body></html>
--alt-1--
"""))

write("049-html-only.eml", crlf(std(49) + """Subject: html only
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>p { color: red }</style><script>alert("x")</script></head>
<body><h1>Report</h1><p>Serial&nbsp;04:3A &amp; key &lt;leaked&gt; &#8211; see <a href="https://example.org">link</a>.</p>
<ul><li>one</li><li>two</li></ul><br>end</body></html>
"""))

write("050-nested.eml", crlf(std(50) + """Subject: nested multiparts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=us-ascii

Nested plain text.
--inner
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html; charset=us-ascii

<p>Nested <img src="cid:logo@x"> html</p>
--rel
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

""" + b64(b"\x89PNG\r\n\x1a\n" + bytes(range(64))) + """--rel--
--inner--
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

""" + b64(bytes(rng.randrange(256) for _ in range(300))) + """--outer--
This is the epilogue.
"""))

write("051-pem-in-body.eml", crlf(std(51) + """Subject: Certificate problem report: misissued certificate
Content-Type: text/plain; charset=us-ascii

The following certificate was misissued (wrong SAN):

""" + CERT + """
Regards,
Reporter
"""))

write("052-pem-attachment.eml", crlf(std(52) + """Subject: Key compromise report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="==pem=="

--==pem==
Content-Type: text/plain; charset=utf-8

The attached certificate's key is compromised; proof attached.
--==pem==
Content-Type: application/x-pem-file; name="leaf.pem"
Content-Disposition: attachment; filename="leaf.pem"
Content-Transfer-Encoding: base64

""" + b64(CERT.encode()) + """--==pem==
Content-Type: application/octet-stream; name="key.pem"
Content-Disposition: attachment; filename="key.pem"

""" + KEY + """--==pem==--
"""))

write("053-csr-attachment.eml", crlf(std(53) + """Subject: CSR attached
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b53"

--b53
Content-Type: text/plain

See the CSR.
--b53
Content-Type: text/plain; name="request.csr"
Content-Disposition: attachment; filename="request.csr"
Content-Transfer-Encoding: 7bit

""" + CSR + """--b53--
"""))

zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
    for fname, content in (("leaf.pem", CERT), ("request.csr", CSR)):
        info = zipfile.ZipInfo(fname, date_time=(2024, 5, 6, 10, 15, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, content)
write("054-zip-attachment.eml", crlf(std(54) + """Subject: evidence as zip
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b54"

--b54
Content-Type: text/plain

Evidence zipped.
--b54
Content-Type: application/zip; name="evidence.zip"
Content-Disposition: attachment; filename="evidence.zip"
Content-Transfer-Encoding: base64

""" + b64(zbuf.getvalue()) + """--b54--
"""))

FORWARDED = """From: Original Reporter <orig@example.net>
To: abuse@hoster.example
Date: Sun, 05 May 2024 08:00:00 -0700
Message-ID: <orig-report@example.net>
Subject: =?utf-8?q?Compromised_key_=E2=80=93_please_act?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-inner"

--fwd-inner
Content-Type: text/plain; charset=utf-8

The private key for example.net leaked.
--fwd-inner
Content-Type: application/x-pem-file
Content-Disposition: attachment; filename="leaked.pem"

""" + KEY + """--fwd-inner--
"""

write("055-forwarded-rfc822.eml", crlf(std(55) + """Subject: Fwd: Compromised key
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-outer"

--fwd-outer
Content-Type: text/plain

Forwarding the report below.
--fwd-outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="report.eml"

""" + FORWARDED + """--fwd-outer--
"""))

write("056-rfc822-base64.eml", crlf(std(56) + """Subject: Fwd: encoded message part
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b56"

--b56
Content-Type: text/plain

A forwarded message, base64-encoded (not allowed by RFC 2046 5.2.1).
--b56
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

""" + b64(crlf(FORWARDED).encode()) + """--b56--
"""))

write("057-rfc2231-filename.eml", crlf(std(57) + """Subject: RFC 2231 filename
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b57"

--b57
Content-Type: text/plain

x
--b57
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20invoice.pdf
Content-Transfer-Encoding: base64

""" + b64(b"%PDF-1.4\n%fake\n") + """--b57--
"""))

write("058-rfc2231-continuations.eml", crlf(std(58) + """Subject: RFC 2231 continuations
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b58"

--b58
Content-Type: text/plain

x
--b58
Content-Type: application/octet-stream;
 name*0*=utf-8'de'Schl%C3%BC;
 name*1*=ssel%20und%20;
 name*2="Zertifikat.pem"
Content-Disposition: attachment;
 filename*0*=iso-8859-1'de'Schl%FCssel;
 filename*1="-2024.pem"

""" + CERT + """--b58--
"""))

write("059-ew-filename.eml", crlf(std(59) + """Subject: encoded-word filename
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b59"

--b59
Content-Type: text/plain

x
--b59
Content-Type: application/octet-stream; name="=?utf-8?B?6Ki85piO5pu4LnBlbQ==?="
Content-Disposition: attachment; filename="=?utf-8?B?6Ki85piO5pu4LnBlbQ==?="

""" + CERT + """--b59--
"""))

# --- Transfer encodings ------------------------------------------------------------------------------------

write("060-quoted-printable.eml", crlf(std(60) + """Subject: quoted-printable
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Soft line break: this sentence contin=
ues on the next line.
Escapes: =3D equals, =c3=a9 lower-case hex, =C3=A9 upper-case.
Invalid: =ZZ and =4 stay literal.
"""))

write("061-qp-trailing-whitespace.eml", crlf(std(61) + "Subject: qp trailing whitespace\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nTransport padding after this   \nsoft break with padding=  \nend\n"))

write("062-base64-no-padding.eml", crlf(std(62) + "Subject: base64 without padding\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + base64.b64encode(b"abcde").decode().rstrip("=") + "\n"))

write("063-base64-garbage.eml", crlf(std(63) + "Subject: base64 with garbage\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nQUJD*REVG\n!!R0hJ\nSktM\n"))

write("064-cte-mix.eml", crlf(std(64) + """Subject: 7bit, 8bit, binary
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b64"

--b64
Content-Type: text/plain
Content-Transfer-Encoding: 7bit

seven bit
--b64
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

eight bit: é
--b64
Content-Type: application/octet-stream
Content-Transfer-Encoding: binary

binary\x01\x02\x7f
--b64--
"""))

write("065-unknown-cte.eml", crlf(std(65) + "Subject: unknown transfer encoding\nContent-Type: text/plain\nContent-Transfer-Encoding: x-made-up\n\nraw text kept\n"))

write("066-uppercase.eml", crlf(std(66) + "Subject: upper case\nCONTENT-TYPE: TEXT/PLAIN; CHARSET=UTF-8\nCONTENT-TRANSFER-ENCODING: BASE64\n\n" + b64("Grüße\n".encode())))

# --- Boundaries --------------------------------------------------------------------------------------------

write("067-missing-boundary.eml", crlf(std(67) + """Subject: multipart without boundary
MIME-Version: 1.0
Content-Type: multipart/mixed

--whatever
Content-Type: text/plain

text
--whatever--
"""))

write("068-unterminated-boundary.eml", crlf(std(68) + """Subject: no close delimiter
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b68"

--b68
Content-Type: text/plain

first part
--b68
Content-Type: text/plain; name="second.txt"

second part, and then the message just ends
"""))

write("069-boundary-padding.eml", crlf(std(69) + """Subject: boundary lines with transport padding
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b69"

--b69   
Content-Type: text/plain

padded
--b69\t
Content-Type: text/plain; name="two.txt"

two
--b69--  
"""))

write("070-unknown-multipart-subtype.eml", crlf(std(70) + """Subject: unknown multipart subtype
MIME-Version: 1.0
Content-Type: multipart/x-cpr-bundle; boundary="b70"

--b70
Content-Type: text/plain

treated as mixed
--b70
Content-Type: application/pkix-cert; name="c.cer"

""" + CERT + """--b70--
"""))

write("071-digest.eml", crlf(std(71) + """Subject: digest
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="b71"

--b71

From: one@example.org
Subject: first

First digest message.
--b71

From: two@example.org
Subject: second

Second digest message.
--b71--
"""))

def nest(levels):
    head = ""
    tail = ""
    for k in range(levels):
        head += "--n%d\nContent-Type: multipart/mixed; boundary=\"n%d\"\n\n" % (k, k + 1)
        tail = "--n%d--\n" % (k + 1) + tail
    return head + "--n%d\nContent-Type: text/plain\n\ndeep\n" % levels + tail


write("072-deep-nesting.eml", crlf(std(72) + "Subject: 30 levels of multipart\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"n0\"\n\n" + nest(30) + "--n0--\n"))

parts = "".join("--many\nContent-Type: text/plain\n\npart %d\n" % k for k in range(2100))
write("073-many-parts.eml", crlf(std(73) + "Subject: 2100 parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"many\"\n\n" + parts + "--many--\n"))

write("074-huge-header.eml", crlf(std(74) + "Subject: " + ("huge " * 60000) + "\nContent-Type: text/plain\n\nbody after a 300 KB header line\n"))

write("075-missing-first-boundary.eml", crlf(std(75) + """Subject: the declared boundary never occurs
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never"

--other
Content-Type: text/plain

text
--other--
"""))

write("076-preamble-epilogue.eml", crlf(std(76) + """Subject: preamble and epilogue
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b76"

This is a multi-part message in MIME format.

--b76
Content-Type: text/plain

body
--b76--

epilogue text
"""))

write("077-empty-parts.eml", crlf(std(77) + """Subject: empty parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b77"

--b77
--b77
Content-Type: text/plain

--b77
Content-Type: text/plain

not empty
--b77--
"""))

write("078-inline-text-with-filename.eml", crlf(std(78) + """Subject: inline text part with a filename
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b78"

--b78
Content-Type: text/plain

The body.
--b78
Content-Type: text/plain; name="notes.txt"
Content-Disposition: inline; filename="notes.txt"

notes
--b78--
"""))

write("079-multipart-signed.eml", crlf(std(79) + """Subject: signed report
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="sig"

--sig
Content-Type: text/plain; charset=us-ascii

Signed report text.
--sig
Content-Type: application/pkcs7-signature; name="smime.p7s"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="smime.p7s"

""" + b64(fake_der(500, 4)) + """
--sig--
"""))

write("080-truncated.eml", crlf(std(80) + """Subject: truncated in the middle of a part
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b80"

--b80
Content-Type: text/plain

text
--b80
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

""" + b64(fake_der(400, 5))[:300]))

write("081-mbox-from-line.eml", crlf("From reporter@example.org Mon May  6 10:15:00 2024\n" + std(81) + "Subject: mbox envelope line first\nContent-Type: text/plain\n\nbody\n"))

write("082-same-boundary-nested.eml", crlf(std(82) + """Subject: nested multipart reusing the outer boundary
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="same"

--same
Content-Type: multipart/alternative; boundary="same"

--same
Content-Type: text/plain

inner?
--same--
--same
Content-Type: text/plain

after
--same--
"""))

write("083-message-ids.eml", crlf("""From: r@example.org
Date: Mon, 06 May 2024 10:15:00 +0000
Message-ID: (comment) <corpus-083@example.org> (trailing)
In-Reply-To: Your message of Sun <earlier@example.org>
References: <a@example.org> <b@example.org>
 <c@example.org>
Subject: message ids
Content-Type: text/plain

x
"""))

write("084-invalid-content-type.eml", crlf(std(84) + "Subject: invalid content type\nContent-Type: text\n\ntaken as text/plain\n"))

write("085-related-start.eml", crlf(std(85) + """Subject: related with start
MIME-Version: 1.0
Content-Type: multipart/related; boundary="b85"; start="<root@x>"; type="text/html"

--b85
Content-Type: image/gif
Content-ID: <img@x>
Content-Transfer-Encoding: base64

R0lGODlhAQABAAAAACw=
--b85
Content-Type: text/html; charset=utf-8
Content-ID: <root@x>

<div>Root &eacute;l&eacute;ment</div>
--b85--
"""))

write("086-undeclared-utf8-body.eml", crlf(std(86) + "Subject: 8-bit body without charset\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nkey compromise – ключ\n"))

write("087-cpr-key-compromise.eml", crlf("""Return-Path: <researcher@security.example>
Received: from mx.security.example (mx.security.example [192.0.2.10])
\tby mx.ca.example with ESMTPS id 4VZ; Mon, 06 May 2024 10:15:02 +0000
From: Security Researcher <researcher@security.example>
To: CPR Desk <cpr@ca.example>
Cc: security@ca.example
Reply-To: researcher+cpr@security.example
Date: Mon, 06 May 2024 12:15:00 +0200
Message-ID: <20240506101500.GA1234@security.example>
Subject: Key compromise: www.example.com (serial 04:3A:9F:11)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="------------cpr087"

This is a multi-part message in MIME format.
--------------cpr087
Content-Type: multipart/alternative; boundary="------------alt087"

--------------alt087
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Hello,

the private key of the certificate below was published on a paste site.
Proof: the attached CSR is signed with it and has CN "Proof of key compromise".

--------------alt087
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit

<html><body><p>Hello,</p><p>the private key was published.</p></body></html>
--------------alt087--
--------------cpr087
Content-Type: application/pkcs10; name="proof.csr"
Content-Disposition: attachment; filename="proof.csr"
Content-Transfer-Encoding: base64

""" + b64(CSR.encode()) + """--------------cpr087
Content-Type: application/x-x509-ca-cert; name="cert.pem"
Content-Disposition: attachment; filename="cert.pem"
Content-Transfer-Encoding: base64

""" + b64(CERT.encode()) + """--------------cpr087--
"""))

write("088-ew-q-underscore-specials.eml", crlf(std(88) + "Subject: =?UTF-8?Q?Re=3A_=5BCPR=5D_revocation=3F?=\nContent-Type: text/plain\n\nx\n"))

write("089-attachment-nonascii-raw-filename.eml", crlf(std(89) + """Subject: raw UTF-8 filename
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b89"

--b89
Content-Type: text/plain

x
--b89
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="Schlüssel.pem"

""" + KEY + """--b89--
"""))

write("090-base64-text-crlf.eml", crlf(std(90) + "Subject: base64 text with CRLF inside\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + b64("line one\r\nline two\r\n".encode())))

# Hostile: a header block that never ends, random bytes, boundary-like garbage.
write("091-no-body-separator.eml", crlf(std(91) + "Subject: header section runs into EOF\nX-Last: value"))

junk = bytes(rng.randrange(256) for _ in range(4000))
write("092-random-bytes.eml", junk)

write("093-boundary-prefix-lookalike.eml", crlf(std(93) + """Subject: lines that start like the boundary
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b93"

--b93
Content-Type: text/plain

--b93x is not a boundary
--b93 x is not a boundary either
---b93
--b93--
"""))

write("094-empty-file.eml", b"")

write("095-headers-only.eml", crlf(std(95) + "Subject: headers only\n"))

print("%d messages" % len(written))
