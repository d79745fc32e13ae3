#!/usr/bin/env bash
# postfix-instance.sh — a private, throw-away Postfix instance on loopback.
#
# Usage:
#   postfix-instance.sh start DIR PORT relay HOST:PORT
#   postfix-instance.sh start DIR PORT maildir MAILDIR_BASE
#   postfix-instance.sh start DIR PORT pipe COMMAND [ARG...]
#   postfix-instance.sh stop DIR
#   postfix-instance.sh status DIR
#
# The instance keeps its config (DIR/etc), queue (DIR/queue), data (DIR/data)
# and log (DIR/log/postfix.log) under DIR and accepts SMTP only on
# 127.0.0.1:PORT, only from 127.0.0.0/8, and only for the domain ca.example
# (any local part). Nothing else is delivered: every other destination goes to
# Postfix's error transport, so no mail ever leaves the machine. The system's
# default instance and /etc/postfix/main.cf are never read or touched.
#
# Modes:
#   relay HOST:PORT   relay ca.example mail with smtp:[HOST]:PORT (HOST must be
#                     loopback). TLS is opportunistic (smtp_tls_security_level
#                     = may; set POSTFIX_SMTP_TLS=none to switch it off).
#                     Retries are fast: queue_run_delay 1s, backoff 1s..5s.
#   maildir BASE      deliver all ca.example mail to the Maildir BASE/mail/
#                     through virtual(8), as user 'nobody' (uid/gid 65534).
#                     BASE is created and chowned to nobody; every parent
#                     directory must be traversable by nobody.
#   pipe COMMAND...   deliver ca.example mail through pipe(8), flags=Rq, one
#                     recipient per delivery, running COMMAND as the
#                     unprivileged user 'cprdesk-pipe' (created if absent).
#                     ${sender} and ${recipient} in the arguments are expanded
#                     by pipe(8): quote them for your shell, e.g.
#                       ... pipe /usr/bin/dotnet /opt/cprdesk.dll mailgate \
#                           --url http://127.0.0.1:5080 --token-file /path/token \
#                           --sender '${sender}' --recipient '${recipient}'
#                     Every file the command needs (its binaries, DLLs, the
#                     token file) must be readable by cprdesk-pipe (primary group
#                     only: pipe(8) sets no supplementary groups), and every
#                     parent directory traversable. start refuses a COMMAND the
#                     user cannot execute and warns about existing absolute-path
#                     arguments it cannot read. The command runs with a
#                     minimal environment (no HOME); wrap it in
#                     '/usr/bin/env NAME=VALUE ...' to add variables.
#                     Exit 0 = delivered; exit 75 (EX_TEMPFAIL) = deferred and
#                     retried; other sysexits codes bounce. Beware: if the
#                     command's output starts with an enhanced status code
#                     (4.X.X / 5.X.X), that code wins over the exit status.
#
# start waits (at most POSTFIX_START_TIMEOUT seconds, default 30) until the
# port accepts connections; on failure it prints the log tail, stops the
# instance and exits non-zero. stop is idempotent. Both need root; postfix is
# installed with apt-get if missing.
#
# Useful afterwards:
#   postqueue -c DIR/etc -p        # show the queue
#   postqueue -c DIR/etc -f        # flush (retry deferred mail now)
#   tail DIR/log/postfix.log
set -euo pipefail

PIPE_USER=cprdesk-pipe
VMAIL_UID=65534   # nobody
VMAIL_GID=65534   # nogroup
START_TIMEOUT=${POSTFIX_START_TIMEOUT:-30}

die() { echo "postfix-instance: $*" >&2; exit 1; }

usage() {
  sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (Postfix's master runs as root and drops privileges to 'postfix')"
}

ensure_postfix() {
  if [[ -x /usr/sbin/postfix && -x /usr/lib/postfix/sbin/master ]]; then return 0; fi
  command -v apt-get >/dev/null || die "postfix is not installed and apt-get is not available"
  echo "postfix-instance: installing postfix (no configuration of the system instance)" >&2
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null
  fi
  [[ -x /usr/sbin/postfix ]] || die "postfix installation failed"
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

master_pid() {
  local f="$1/queue/pid/master.pid"
  [[ -r $f ]] || return 1
  local pid
  pid=$(tr -d ' \n' <"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # Only our instance's master: its command line is .../master and its
  # environment or cwd point into our queue directory.
  [[ -d /proc/$pid ]] || return 1
  [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$1/queue" ]] || return 1
  echo "$pid"
}

is_loopback_host() {
  case "$1" in
    localhost|127.*) return 0 ;;
    *) return 1 ;;
  esac
}

# master.cf argument quoting (Postfix >= 3.0): arguments with whitespace go in { }.
mcf_arg() {
  if [[ $1 =~ [[:space:]] ]]; then printf '{ %s }' "$1"; else printf '%s' "$1"; fi
}

write_master_cf() {
  local dir=$1 port=$2 src
  for src in /usr/share/postfix/master.cf.dist /etc/postfix/master.cf.proto /etc/postfix/master.cf; do
    [[ -r $src ]] && break
  done
  [[ -r $src ]] || die "no default master.cf found to copy"
  # No chroot (a chroot would need copies of /etc files in the queue dir), and
  # none of the example pipe services Debian appends (their users need not exist).
  awk '
    /^[a-zA-Z0-9]/ {
      skip = ($1 ~ /^(maildrop|uucp|ifmail|bsmtp|scalemail-backend|mailman)$/)
      if (!skip && NF >= 8) { $5 = "n" }
      if (!skip) print
      next
    }
    /^[ \t]+[^ \t]/ { if (!skip) print; next }
    { skip = 0; print }
  ' "$src" >"$dir/etc/master.cf"
  # Replace the public smtpd with one on 127.0.0.1:PORT only.
  postconf -c "$dir/etc" -MX smtp/inet
  postconf -c "$dir/etc" -M "127.0.0.1:$port/inet=127.0.0.1:$port inet n - n - - smtpd"
  grep -q '^postlog[[:space:]]' "$dir/etc/master.cf" ||
    postconf -c "$dir/etc" -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
}

cmd_start() {
  [[ $# -ge 3 ]] || usage
  local dir port mode
  dir=$(realpath -m "$1"); port=$2; mode=$3; shift 3
  [[ $port =~ ^[0-9]+$ && $port -ge 1 && $port -le 65535 ]] || die "bad port: $port"
  need_root start
  ensure_postfix

  if master_pid "$dir" >/dev/null; then die "an instance is already running in $dir (stop it first)"; fi
  if port_open "$port"; then die "127.0.0.1:$port is already in use"; fi

  mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/log"
  chmod 755 "$dir" "$dir/etc" "$dir/log"
  chown postfix "$dir/data"; chmod 700 "$dir/data"
  : >"$dir/log/postfix.log"

  local tls=${POSTFIX_SMTP_TLS:-may}
  # Mode-specific settings.
  local mode_cf="" relay_transport="error:5.7.1 this test instance only delivers to ca.example"
  case "$mode" in
    relay)
      [[ $# -eq 1 && $1 =~ ^(.+):([0-9]+)$ ]] || die "relay needs HOST:PORT"
      local rhost=${BASH_REMATCH[1]} rport=${BASH_REMATCH[2]}
      is_loopback_host "$rhost" || die "relay host must be loopback (127.0.0.0/8 or localhost), got $rhost"
      relay_transport="smtp:[$rhost]:$rport"
      mode_cf="relay_domains = ca.example
smtp_tls_security_level = $tls"
      ;;
    maildir)
      [[ $# -eq 1 ]] || die "maildir needs a base directory"
      local base
      base=$(realpath -m "$1")
      mkdir -p "$base"
      chown "$VMAIL_UID:$VMAIL_GID" "$base"; chmod 750 "$base"
      if ! setpriv --reuid="$VMAIL_UID" --regid="$VMAIL_GID" --clear-groups test -w "$base" -a -x "$base"; then
        die "$base is not writable by uid $VMAIL_UID (nobody): a parent directory is probably not traversable (chmod o+x it)"
      fi
      printf '@ca.example mail/\n' >"$dir/etc/vmailbox"
      mode_cf="virtual_mailbox_domains = ca.example
virtual_mailbox_base = $base
virtual_mailbox_maps = texthash:$dir/etc/vmailbox
virtual_uid_maps = static:$VMAIL_UID
virtual_gid_maps = static:$VMAIL_GID
virtual_minimum_uid = 100
virtual_mailbox_limit = 0
relay_domains ="
      ;;
    pipe)
      [[ $# -ge 1 ]] || die "pipe needs a command"
      [[ ${1:0:1} == / ]] || die "pipe command must be an absolute path (pipe(8) uses no PATH search): $1"
      if ! getent passwd "$PIPE_USER" >/dev/null; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PIPE_USER"
        echo "postfix-instance: created system user $PIPE_USER" >&2
      fi
      local pipe_uid pipe_gid a
      pipe_uid=$(id -u "$PIPE_USER"); pipe_gid=$(id -g "$PIPE_USER")
      as_pipe_user() { setpriv --reuid="$pipe_uid" --regid="$pipe_gid" --clear-groups "$@"; }
      as_pipe_user test -x "$1" || die "$1 is not executable by $PIPE_USER (check it and its parent directories)"
      for a in "${@:2}"; do
        if [[ $a == /* && -f $a ]] && ! as_pipe_user test -r "$a"; then
          echo "postfix-instance: warning: $a is not readable by $PIPE_USER (a token file must be)" >&2
        fi
      done
      relay_transport=cprdesk
      mode_cf="relay_domains = ca.example
cprdesk_destination_recipient_limit = 1"
      ;;
    *) die "unknown mode: $mode (relay, maildir or pipe)" ;;
  esac

  cat >"$dir/etc/main.cf" <<EOF
# Generated by tests/tools/postfix-instance.sh — a private test instance.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-test
maillog_file = $dir/log/postfix.log
maillog_file_prefixes = $dir/log
myhostname = postfix-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mynetworks_style = host
smtp_bind_address = 127.0.0.1
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP test instance
smtpd_client_restrictions = permit_mynetworks, reject
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_tls_security_level = none
# Nothing but ca.example is ever delivered: no traffic leaves the machine.
default_transport = error:5.7.1 this test instance only delivers to ca.example
local_transport = error:5.7.1 this test instance only delivers to ca.example
relay_transport = $relay_transport
message_size_limit = 52428800
biff = no
append_dot_mydomain = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
EOF
  printf '%s\n' "$mode_cf" >>"$dir/etc/main.cf"

  write_master_cf "$dir" "$port"
  if [[ $mode == pipe ]]; then
    local argv="" a
    for a in "$@"; do argv+=" $(mcf_arg "$a")"; done
    postconf -c "$dir/etc" -M "cprdesk/unix=cprdesk unix - n n - - pipe flags=Rq user=$PIPE_USER argv=${argv# }"
  fi
  printf '%s\n' "$mode" >"$dir/mode"
  chown root:root "$dir/etc/main.cf" "$dir/etc/master.cf"
  chmod 644 "$dir/etc/main.cf" "$dir/etc/master.cf"

  local t0=$SECONDS
  if ! postfix -c "$dir/etc" start >"$dir/log/start.out" 2>&1; then
    cat "$dir/log/start.out" >&2
    tail -n 30 "$dir/log/postfix.log" >&2 || true
    cmd_stop "$dir" >/dev/null 2>&1 || true
    die "postfix start failed"
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$port"; do
    if ((SECONDS >= deadline)); then
      echo "--- $dir/log/postfix.log (tail) ---" >&2
      tail -n 30 "$dir/log/postfix.log" >&2 || true
      cmd_stop "$dir" >/dev/null 2>&1 || true
      die "127.0.0.1:$port did not accept connections within ${START_TIMEOUT}s"
    fi
    sleep 0.1
  done
  echo "postfix-instance: $mode instance in $dir listening on 127.0.0.1:$port (up in $((SECONDS - t0))s)"
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  local dir pid
  dir=$(realpath -m "$1")
  need_root stop
  [[ -f $dir/etc/main.cf ]] || { echo "postfix-instance: no instance in $dir"; return 0; }
  if pid=$(master_pid "$dir"); then
    postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 50); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      sleep 1
      [[ -d /proc/$pid ]] && kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "postfix-instance: stopped instance in $dir"
  else
    echo "postfix-instance: instance in $dir is not running"
  fi
}

cmd_status() {
  [[ $# -eq 1 ]] || usage
  local dir pid
  dir=$(realpath -m "$1")
  if pid=$(master_pid "$dir"); then echo "running (master pid $pid)"; else echo "not running"; return 1; fi
}

[[ $# -ge 1 ]] || usage
cmd=$1; shift
case "$cmd" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  *) usage ;;
esac
