#!/usr/bin/env bash
# postfix-instance-selftest.sh — end-to-end check of postfix-instance.sh and
# smtp-sink.py: relay (with deferral and retry), maildir, pipe, and pipe exit 75.
# Needs root (installs postfix and swaks if missing). All traffic on 127.0.0.1.
# Takes about 25 s. Prints "N passed, N failed" and exits non-zero on failure. The work dir
# (a new /tmp/pfx-selftest.* unless given) is removed when everything passed.
#
# Usage: sudo tests/tools/postfix-instance-selftest.sh [WORKDIR]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pfx=$here/postfix-instance.sh
sink=$here/smtp-sink.py
[[ $(id -u) -eq 0 ]] || { echo "selftest: must run as root" >&2; exit 1; }
command -v swaks >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q swaks >/dev/null

own_work=0
if [[ $# -ge 1 ]]; then work=$1; else work=$(mktemp -d /tmp/pfx-selftest.XXXXXX); own_work=1; fi
mkdir -p "$work"; chmod 755 "$work"
passed=0 failed=0
sink_pids=()

ok()   { echo "PASS: $*"; passed=$((passed + 1)); }
bad()  { echo "FAIL: $*"; failed=$((failed + 1)); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for SECONDS COMMAND...: poll until COMMAND succeeds
wait_for() { local d=$((SECONDS + $1)); shift; until "$@"; do ((SECONDS >= d)) && return 1; sleep 0.2; done; }
has_files() { compgen -G "$1" >/dev/null; }
send() { swaks --server "127.0.0.1:$1" --from bench@example.org --to "$2" --header "Subject: selftest" --body "$3" --silent 2 --timeout 20; }
queue_has() { postqueue -c "$1/etc" -p | grep -q "$2"; }
queue_empty() { postqueue -c "$1/etc" -p | grep -q 'Mail queue is empty'; }

cleanup() {
  for d in relay maildir pipe tempfail; do "$pfx" stop "$work/$d" >/dev/null 2>&1; done
  for p in "${sink_pids[@]}"; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

# --- relay: a message reaches the sink; with the sink down it is deferred,
#     then delivered on retry once the sink is up.
p=$(free_port); sp=$(free_port)
if "$pfx" start "$work/relay" "$p" relay "127.0.0.1:$sp"; then
  ok "relay instance started"
  send "$p" someone@ca.example "relay while the sink is down" || bad "swaks to relay instance"
  if wait_for 10 queue_has "$work/relay" someone@ca.example; then ok "relay: deferred while the sink is down"; else bad "relay: not queued while sink down"; fi
  python3 "$sink" --port "$sp" --dir "$work/sink" --lifetime 60 --quiet >"$work/sink.out" 2>&1 &
  sink_pids+=($!)
  if wait_for 20 has_files "$work/sink/*.json" && grep -q '"rcpt_to": \["someone@ca.example"\]' "$work"/sink/000001.json \
     && grep -q 'relay while the sink is down' "$work"/sink/000001.eml; then
    ok "relay: delivered to the sink on retry"
  else bad "relay: sink did not get the message"; fi
  send "$p" other@example.com "not ours" && bad "relay: accepted mail for another domain" || ok "relay: other domains refused"
else bad "relay instance did not start"; fi
"$pfx" stop "$work/relay" >/dev/null
"$pfx" stop "$work/relay" >/dev/null && ok "stop is idempotent" || bad "second stop failed"

# --- maildir
p=$(free_port)
if "$pfx" start "$work/maildir" "$p" maildir "$work/vmail"; then
  send "$p" anyone@ca.example "maildir body" || bad "swaks to maildir instance"
  if wait_for 10 has_files "$work/vmail/mail/new/*" && grep -q 'maildir body' "$work"/vmail/mail/new/*; then
    ok "maildir: message delivered to $work/vmail/mail/new"
  else bad "maildir: no file"; fi
else bad "maildir instance did not start"; fi
"$pfx" stop "$work/maildir" >/dev/null

# --- pipe: a small command that writes stdin and its arguments to a file.
mkdir -p "$work/pipeout"; chmod 1777 "$work/pipeout"
cat >"$work/deliver.sh" <<EOF
#!/bin/sh
# \$1 = sender, \$2 = recipient; message on stdin
f=$work/pipeout/\$\$
cat >"\$f.eml" && printf '%s %s\n' "\$1" "\$2" >"\$f.env"
EOF
chmod 755 "$work/deliver.sh"
p=$(free_port)
if "$pfx" start "$work/pipe" "$p" pipe "$work/deliver.sh" '${sender}' '${recipient}'; then
  send "$p" piped@ca.example "pipe body" || bad "swaks to pipe instance"
  if wait_for 10 has_files "$work/pipeout/*.env" && grep -q 'bench@example.org piped@ca.example' "$work"/pipeout/*.env \
     && grep -q 'pipe body' "$work"/pipeout/*.eml && grep -q '^Return-Path: <bench@example.org>' "$work"/pipeout/*.eml; then
    ok "pipe: command got the message, \${sender} and \${recipient}"
  else bad "pipe: command output missing"; fi
  [[ $(stat -c %U "$(ls "$work"/pipeout/*.eml | head -1)") == cprdesk-pipe ]] && ok "pipe: ran as cprdesk-pipe" || bad "pipe: wrong user"
else bad "pipe instance did not start"; fi
"$pfx" stop "$work/pipe" >/dev/null

# --- pipe exit 75: deferred and kept in the queue, retried.
cat >"$work/tempfail.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
exit 75
EOF
chmod 755 "$work/tempfail.sh"
p=$(free_port)
if "$pfx" start "$work/tempfail" "$p" pipe "$work/tempfail.sh" '${sender}' '${recipient}'; then
  send "$p" later@ca.example "tempfail body" || bad "swaks to tempfail instance"
  sleep 4
  if queue_has "$work/tempfail" later@ca.example; then ok "pipe exit 75: message stays queued"; else bad "pipe exit 75: not in queue"; fi
  n=$(grep -c 'to=<later@ca.example>.*status=deferred' "$work/tempfail/log/postfix.log")
  ((n >= 2)) && ok "pipe exit 75: retried ($n deferrals in 4 s)" || bad "pipe exit 75: $n deferrals"
else bad "tempfail instance did not start"; fi
"$pfx" stop "$work/tempfail" >/dev/null

if ((failed == 0 && own_work)); then rm -rf "$work"; else echo "work dir (logs under */log/postfix.log): $work"; fi
echo "$passed passed, $failed failed"
((failed == 0))
