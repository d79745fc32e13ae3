#!/usr/bin/env bash
# dovecot-instance.sh — a private, throw-away Dovecot IMAP server on loopback.
#
# Usage:
#   dovecot-instance.sh start DIR [PORT]          # PORT 0 or absent: a free port; prints "port=N tlsport=M"
#   dovecot-instance.sh append DIR FOLDER FILE [DATE]  # APPEND FILE to FOLDER; DATE e.g. "04-Mar-2026 10:00:00 +0000"
#   dovecot-instance.sh expunge DIR FOLDER UID     # delete one message on the server
#   dovecot-instance.sh uidvalidity DIR FOLDER N   # give FOLDER a new UIDVALIDITY (as after a server rebuild)
#   dovecot-instance.sh stop DIR                   # idempotent
#   dovecot-instance.sh status DIR
#
# Everything lives under DIR: DIR/dovecot.conf, DIR/passwd (user "cpr", password in DIR/password), Maildir storage
# in DIR/mail, a self-signed certificate DIR/cert.pem (SHA-1 thumbprint in DIR/cert.sha1, SHA-256 in
# DIR/cert.sha256), the log DIR/dovecot.log and the run directory DIR/run (master.pid). IMAP listens on
# 127.0.0.1:PORT (plain, STARTTLS offered) and 127.0.0.1:TLSPORT (implicit TLS), nothing else. Folders: INBOX,
# Junk (special-use \Junk), Archive/Quarantäne (a non-ASCII name, modified UTF-7 on the wire). The system
# instance and /etc/dovecot are never read or touched. Needs root (Dovecot's master drops privileges; the mail
# user is 'nobody').
set -euo pipefail

START_TIMEOUT=${DOVECOT_START_TIMEOUT:-30}
MAIL_UID=65534
MAIL_GID=65534
IMAP_USER=cpr

die() { echo "dovecot-instance: $*" >&2; exit 1; }

usage() { sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

master_pid() {
  local f="$1/run/master.pid" pid
  [[ -r $f ]] || return 1
  pid=$(tr -d ' \n' <"$f")
  [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
  # Only our instance: its command line names our config file.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1/dovecot.conf" || return 1
  echo "$pid"
}

start() {
  local dir=$1 port=${2:-0} tlsport
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  [[ -x /usr/sbin/dovecot ]] || die "dovecot is not installed (Debian: apt-get install dovecot-imapd)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if master_pid "$dir" >/dev/null; then die "an instance is already running in $dir"; fi
  [[ $port == 0 ]] && port=$(free_port)
  tlsport=$(free_port)
  mkdir -p "$dir/run" "$dir/mail" "$dir/state"
  # The mail user 'nobody' must reach the Maildir: make the parents traversable and the mail directory its own.
  chmod 755 "$dir"
  chown -R "$MAIL_UID:$MAIL_GID" "$dir/mail"
  local password
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  echo "$password" >"$dir/password"
  echo "$IMAP_USER:{PLAIN}$password:$MAIL_UID:$MAIL_GID::$dir/mail/$IMAP_USER" >"$dir/passwd"
  chmod 644 "$dir/passwd"
  if [[ ! -r $dir/cert.pem ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || die "openssl could not create a certificate"
    chmod 600 "$dir/key.pem"
  fi
  openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' >"$dir/cert.sha1"
  openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' >"$dir/cert.sha256"
  cat >"$dir/dovecot.conf" <<EOF
# Private test instance; see tests/tools/dovecot-instance.sh.
protocols = imap
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/state
instance_name = cprdesk-test-$port
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
ssl = yes
ssl_cert = <$dir/cert.pem
ssl_key = <$dir/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
mail_location = maildir:~/Maildir
mail_privileged_group =
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/passwd
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
  mailbox "Archive/Quarantäne" {
    auto = create
  }
  mailbox Archive {
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $tlsport
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
  echo "$port" >"$dir/port"
  echo "$tlsport" >"$dir/tlsport"
  # The daemon must not keep the caller's stdout/stderr open (a test reading them to the end would wait forever).
  /usr/sbin/dovecot -c "$dir/dovecot.conf" </dev/null >>"$dir/dovecot.log" 2>&1 || { tail -n 30 "$dir/dovecot.log" >&2 || true; die "dovecot did not start"; }
  local waited=0
  until port_open "$port" && port_open "$tlsport"; do
    sleep 0.2
    waited=$((waited + 1))
    if ((waited > START_TIMEOUT * 5)); then
      tail -n 30 "$dir/dovecot.log" >&2 || true
      stop "$dir"
      die "dovecot did not listen on 127.0.0.1:$port within ${START_TIMEOUT}s"
    fi
  done
  # Create the folders now (auto = create happens at first login otherwise).
  doveadm -c "$dir/dovecot.conf" mailbox status -u "$IMAP_USER" messages INBOX >/dev/null
  echo "port=$port tlsport=$tlsport"
}

stop() {
  local dir=$1 pid i
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd)
  pid=$(master_pid "$dir") || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    [[ -d /proc/$pid ]] || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

append() {
  # APPEND over IMAP (python3's imaplib) so that the date argument sets INTERNALDATE as a real client would.
  local dir=$1 folder=$2 file=$3 date=${4:-}
  DIR="$dir" FOLDER="$folder" FILE="$file" DATE="$date" USER_NAME="$IMAP_USER" python3 - <<'PY'
import imaplib, os, sys
d = os.environ["DIR"]
port = int(open(os.path.join(d, "port")).read())
password = open(os.path.join(d, "password")).read().strip()
data = open(os.environ["FILE"], "rb").read()
date = os.environ["DATE"]
m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
m.login(os.environ["USER_NAME"], password)
folder = os.environ["FOLDER"]
def utf7(s):
    # RFC 3501 §5.1.3 modified UTF-7
    out, buf = [], []
    def flush():
        if buf:
            import base64
            b = base64.b64encode("".join(buf).encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append("&" + b + "-"); buf.clear()
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush(); out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)
typ, resp = m.append('"' + utf7(folder) + '"', None, ('"' + date + '"') if date else None, data)
if typ != "OK":
    sys.exit("APPEND failed: %r" % resp)
print(resp[0].decode())
m.logout()
PY
}

cmd=${1:-}
case "$cmd" in
  start) [[ $# -ge 2 ]] || usage; start "$2" "${3:-0}" ;;
  stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
  status)
    [[ $# -eq 2 ]] || usage
    if pid=$(master_pid "$(cd "$2" && pwd)"); then echo "running pid=$pid port=$(cat "$2/port") tlsport=$(cat "$2/tlsport")"; else echo "stopped"; exit 1; fi ;;
  append) [[ $# -ge 4 ]] || usage; append "$2" "$3" "$4" "${5:-}" ;;
  expunge) [[ $# -eq 4 ]] || usage; doveadm -c "$2/dovecot.conf" expunge -u "$IMAP_USER" mailbox "$3" uid "$4" ;;
  uidvalidity) [[ $# -eq 4 ]] || usage; doveadm -c "$2/dovecot.conf" mailbox update -u "$IMAP_USER" --uid-validity "$4" "$3" ;;
  *) usage ;;
esac
