#!/usr/bin/env bash
# bench/run.sh — SMTP intake benchmark: a private Postfix (maildir delivery) as the baseline,
# and optionally CprDesk's SMTP listener, loaded by bench/SmtpLoad with the same cells.
#
# Usage (as root: it runs a Postfix instance and installs postfix/swaks if missing):
#   bench/run.sh [--cprdesk HOST:PORT] [--cprdesk-pid PID] [--messages N] [--concurrency LIST]
#                [--size LIST] [--duration-limit S] [--warmup N] [--out DIR] [--keep] [--skip-postfix]
#                [-- MORE SmtpLoad ARGS]
#
#   --cprdesk HOST:PORT  also load this (already running) CprDesk SMTP listener; or set
#                        CPRDESK_SMTP=HOST:PORT. It must accept mail for cpr@ca.example.
#   --cprdesk-pid PID    report that process's peak RSS (VmHWM in /proc/PID/status) at the end;
#                        or set CPRDESK_PID=PID
#   --messages N         per cell (default 2000); --concurrency (default 1,4,16);
#   --size (default 3072,102400); --duration-limit per cell in seconds (default 120);
#   --warmup N           unmeasured messages sent before each cell (default 50)
#   --out DIR            where the tables and CSVs go (default: a new /tmp/cprdesk-bench-results.* dir)
#   --keep               keep the Postfix instance directory and its Maildir (default: removed)
#   --skip-postfix       load only CprDesk (e.g. for the 20,000-message RSS run)
#
# The CprDesk server is started by the caller; this script only runs the Postfix side and the
# load. All traffic is on 127.0.0.1. Default run: 6 cells x 2000 messages per server, a few minutes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cprdesk=${CPRDESK_SMTP:-}
cprdesk_pid=${CPRDESK_PID:-}
messages=2000
concurrency=1,4,16
sizes=3072,102400
duration=120
warmup=50
out=""
keep=0
postfix=1
extra=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --cprdesk) cprdesk=$2; shift 2 ;;
    --cprdesk-pid) cprdesk_pid=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --size) sizes=$2; shift 2 ;;
    --duration-limit) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --skip-postfix) postfix=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "run.sh: $*" >&2; }

((postfix)) || [[ -n $cprdesk ]] || { log "--skip-postfix without --cprdesk: nothing to load"; exit 2; }
((postfix == 0)) || [[ $(id -u) -eq 0 ]] || { log "must run as root (it starts a private Postfix instance)"; exit 1; }
missing=()
[[ -x /usr/sbin/postfix ]] || missing+=(postfix)
command -v swaks >/dev/null || missing+=(swaks)
if ((postfix && ${#missing[@]})); then
  log "installing ${missing[*]}"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  }
fi
command -v dotnet >/dev/null || { log "the .NET 10 SDK (dotnet) is needed on PATH"; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

work=$(mktemp -d /tmp/cprdesk-bench.XXXXXX)
chmod 755 "$work" # the Maildir is written as 'nobody', who must traverse this directory
out=${out:-$(mktemp -d /tmp/cprdesk-bench-results.XXXXXX)}
mkdir -p "$out"
instance=$work/postfix

cleanup() {
  "$repo/tests/tools/postfix-instance.sh" stop "$instance" >/dev/null 2>&1 || true
  if ((keep)); then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

log "building bench/SmtpLoad (Release)"
dotnet build "$repo/bench/SmtpLoad" -c Release -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

smtpload() {
  dotnet run --project "$repo/bench/SmtpLoad" -c Release --no-build -- \
    --concurrency "$concurrency" --size "$sizes" --messages "$messages" --duration-limit "$duration" --warmup "$warmup" \
    --to cpr@ca.example --from bench@example.org "${extra[@]}" "$@"
}

status=0
if ((postfix)); then
  port_free() { ! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
  port=""
  for _ in $(seq 1 20); do
    p=$((20000 + RANDOM % 10000))
    if port_free "$p"; then port=$p; break; fi
  done
  [[ -n $port ]] || { log "no free port found"; exit 1; }

  "$repo/tests/tools/postfix-instance.sh" start "$instance" "$port" maildir "$work/maildir"

  log "loading Postfix (maildir) on 127.0.0.1:$port"
  load_start=$SECONDS
  smtpload --server "127.0.0.1:$port" --label postfix --csv "$out/postfix.csv" >"$out/postfix.md" || status=1

  # Postfix's 250 means "queued and fsynced"; delivery to the Maildir follows. Wait (bounded) for it.
  drain_deadline=$((SECONDS + 300))
  until postqueue -c "$instance/etc" -p 2>/dev/null | grep -q 'Mail queue is empty'; do
    ((SECONDS < drain_deadline)) || { log "Postfix queue not empty after 300 s"; break; }
    sleep 1
  done
  delivered=$(find "$work/maildir/mail/new" -type f 2>/dev/null | wc -l)
  drained="Postfix: $delivered messages (warm-ups included) in the Maildir; queue drained $((SECONDS - load_start)) s after the load started"
  "$repo/tests/tools/postfix-instance.sh" stop "$instance" >/dev/null
fi
if [[ -n $cprdesk ]]; then
  log "loading CprDesk on $cprdesk"
  smtpload --server "$cprdesk" --label cprdesk --csv "$out/cprdesk.csv" >"$out/cprdesk.md" || status=1
fi

{
  if ((postfix)); then
    echo "## Postfix (maildir) baseline"
    echo
    cat "$out/postfix.md"
    echo
    echo "$drained"
  fi
  if [[ -n $cprdesk ]]; then
    echo
    echo "## CprDesk"
    echo
    cat "$out/cprdesk.md"
  fi
  if [[ -n $cprdesk ]] && ((postfix)); then
    echo
    echo "## Throughput ratio (cprdesk / postfix)"
    echo
    echo "| concurrency | size (B) | postfix msgs/s | cprdesk msgs/s | ratio |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    awk -F, 'FNR == 1 { next }
      NR == FNR { pf[$2 "," $3] = $10; next }
      { k = $2 "," $3; p = pf[k]
        printf "| %s | %s | %s | %s | %s |\n", $2, $3, (p == "" ? "-" : p), $10,
          (p == "" || p + 0 == 0 ? "-" : sprintf("%.2f", $10 / p)) }' "$out/postfix.csv" "$out/cprdesk.csv"
  fi
  if [[ -n $cprdesk_pid ]]; then
    echo
    if [[ -r /proc/$cprdesk_pid/status ]]; then
      hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$cprdesk_pid/status")
      rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$cprdesk_pid/status")
      echo "CprDesk (pid $cprdesk_pid): peak RSS (VmHWM) $((hwm / 1024)) MiB, RSS now $((rss / 1024)) MiB"
    else
      echo "CprDesk (pid $cprdesk_pid): process not found, no RSS figure"
    fi
  fi
} | tee "$out/summary.md"

log "results in $out"
exit $status
