#!/usr/bin/env bash
# bench/run.sh — SMTP intake benchmark: a private Postfix (maildir delivery) as the baseline,
# and optionally CprDesk's SMTP listener, loaded by bench/SmtpLoad with the same cells.
#
# Usage (as root: it runs a Postfix instance and installs postfix/swaks, and curl for --cprdesk-url, if missing):
#   bench/run.sh [--cprdesk HOST:PORT] [--cprdesk-pid PID] [--cprdesk-url URL] [--messages N]
#                [--concurrency LIST] [--size LIST] [--duration-limit S] [--warmup N]
#                [--server-warmup N] [--out DIR] [--keep] [--skip-postfix] [-- MORE SmtpLoad ARGS]
#
#   --cprdesk HOST:PORT  also load this (already running) CprDesk SMTP listener; or set
#                        CPRDESK_SMTP=HOST:PORT. It must accept mail for cpr@ca.example.
#   --cprdesk-pid PID    report that process's peak RSS (VmHWM in /proc/PID/status) at the end;
#                        or set CPRDESK_PID=PID
#   --cprdesk-url URL    CprDesk's HTTP base URL (e.g. http://127.0.0.1:5188): after each cell (and
#                        the server warm-up), poll /metrics until every accepted message has become
#                        a report (at most 600 s) and say how long that took
#   --messages N         per cell (default 2000); --concurrency (default 1,4,16);
#   --size (default 3072,102400); --duration-limit per cell in seconds (default 120);
#   --warmup N           unmeasured messages sent before each cell (default 50)
#   --server-warmup N    once per server before the first cell: N unmeasured messages (half 3 KB,
#                        half 100 KB, 4 connections), then wait until the server has settled (Postfix:
#                        queue empty; CprDesk: every message a report, with --cprdesk-url). Default
#                        2000; 0 measures a cold server (CprDesk's JIT compiles during the first cells)
#   --out DIR            where the tables and CSVs go (default: a new /tmp/cprdesk-bench-results.* dir)
#   --keep               keep the Postfix instance directory and its Maildir (default: removed)
#   --skip-postfix       load only CprDesk (e.g. for the 20,000-message RSS run)
#
# Each cell is its own SmtpLoad run, and the server settles after it (Postfix: queue delivered;
# CprDesk: every message a report, with --cprdesk-url) before the next cell starts, so a cell
# measures its own messages and not the backlog of the cells before it.
# The CprDesk server is started by the caller; this script only runs the Postfix side and the
# load. All traffic is on 127.0.0.1. Default run: 6 cells x 2000 messages per server, a few minutes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cprdesk=${CPRDESK_SMTP:-}
cprdesk_pid=${CPRDESK_PID:-}
cprdesk_url=${CPRDESK_URL:-}
server_warmup=2000
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
    --cprdesk-url) cprdesk_url=${2%/}; shift 2 ;;
    --server-warmup) server_warmup=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --size) sizes=$2; shift 2 ;;
    --duration-limit) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --skip-postfix) postfix=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "run.sh: $*" >&2; }

((postfix)) || [[ -n $cprdesk ]] || { log "--skip-postfix without --cprdesk: nothing to load"; exit 2; }
((postfix == 0)) || [[ $(id -u) -eq 0 ]] || { log "must run as root (it starts a private Postfix instance)"; exit 1; }
missing=()
[[ -x /usr/sbin/postfix ]] || missing+=(postfix)
command -v swaks >/dev/null || missing+=(swaks)
((postfix)) || missing=()
[[ -z $cprdesk_url ]] || command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { log "missing ${missing[*]}; run as root to install them"; exit 1; }
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


# Runs every cell against one server, one SmtpLoad run per cell, and lets the server settle after each (so a cell
# measures its own messages, not the backlog the cells before it left): $1 label, $2 HOST:PORT, $3 settle command.
# Writes $out/LABEL.csv (all cells) and $out/LABEL.md (the table, notes, and how long each settle took).
run_cells() {
  local label=$1 server=$2 settle=$3 c s rc=0 header="" notes=() waited
  local csv="$out/$label.csv" cell="$out/$label.cell"
  rm -f "$csv"
  for c in ${concurrency//,/ }; do
    for s in ${sizes//,/ }; do
      dotnet run --project "$repo/bench/SmtpLoad" -c Release --no-build -- \
        --concurrency "$c" --size "$s" --messages "$messages" --duration-limit "$duration" --warmup "$warmup" \
        --to cpr@ca.example --from bench@example.org "${extra[@]}" --server "$server" --label "$label" \
        --csv "$cell.csv" >"$cell.md" || rc=1
      [[ -n $header ]] || header=$(head -1 "$cell.md")
      if [[ -f $csv ]]; then tail -n +2 "$cell.csv" >>"$csv"; else cp "$cell.csv" "$csv"; fi
      while IFS= read -r line; do notes+=("$line"); done < <(grep '^- ' "$cell.md" || true)
      if [[ -n $settle ]]; then
        waited=$($settle) || rc=1
        notes+=("- $label c=$c size=$s: $waited")
      fi
    done
  done
  rm -f "$cell.csv" "$cell.md"
  {
    echo "${header/ messages per cell/ messages per cell (one SmtpLoad run per cell)}"
    echo
    echo "| label | concurrency | size (B) | sent | accepted | failed | wall (s) | msgs/s | p50 (ms) | p99 (ms) | max (ms) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F, 'FNR > 1 { printf "| %s | %s | %s | %s | %s | %s | %.2f | %.1f | %s | %s | %s |\n", $1, $2, $4, $6, $7, $8, $9, $10, $11, $12, $13 }' "$csv"
    if ((${#notes[@]})); then echo; printf '%s\n' "${notes[@]}"; fi
  } >"$out/$label.md"
  return $rc
}

# Waits (at most 300 s) until the Postfix instance's queue is empty; prints how long that took.
postfix_settle() {
  local start=$SECONDS
  until postqueue -c "$instance/etc" -p 2>/dev/null | grep -q 'Mail queue is empty'; do
    ((SECONDS - start < 300)) || { echo "queue still not empty 300 s after the cell"; return 1; }
    sleep 0.2
  done
  echo "queue empty (all delivered to the Maildir) $((SECONDS - start)) s after the cell"
}

# One unmeasured pass before a server's first cell (see --server-warmup); $1 is HOST:PORT.
server_warmup_load() {
  ((server_warmup > 0)) || return 0
  log "server warm-up: $server_warmup messages to $1"
  dotnet run --project "$repo/bench/SmtpLoad" -c Release --no-build -- --server "$1" --label warmup \
    --concurrency 4 --size 3072,102400 --messages $(((server_warmup + 1) / 2)) --duration-limit "$duration" --warmup 0 \
    --to cpr@ca.example --from bench@example.org "${extra[@]}" >/dev/null || log "warm-up load failed (continuing)"
}

# CprDesk's count of messages stored but not yet a report (from /metrics), or empty when unknown.
cprdesk_unprocessed() {
  curl -fsS --max-time 10 "$cprdesk_url/metrics" 2>/dev/null | awk '$1 == "cprdesk_intake_unprocessed_messages" { print $2 }'
}

# Waits (at most 600 s) until every message CprDesk accepted is a report; prints how long that took (nothing to
# wait for without --cprdesk-url).
cprdesk_settle() {
  [[ -n $cprdesk_url ]] || return 0
  local start=$SECONDS n
  while true; do
    n=$(cprdesk_unprocessed)
    if [[ $n == 0 ]]; then echo "every accepted message had become a report $((SECONDS - start)) s after the cell"; return 0; fi
    if ((SECONDS - start >= 600)); then echo "still ${n:-an unknown number of} messages not yet reports 600 s after the cell"; return 1; fi
    sleep 1
  done
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

  if ((server_warmup > 0)); then
    server_warmup_load "127.0.0.1:$port"
    warm_deadline=$((SECONDS + 300))
    until postqueue -c "$instance/etc" -p 2>/dev/null | grep -q 'Mail queue is empty'; do
      ((SECONDS < warm_deadline)) || break
      sleep 1
    done
  fi
  log "loading Postfix (maildir) on 127.0.0.1:$port"
  load_start=$SECONDS
  run_cells postfix "127.0.0.1:$port" postfix_settle || status=1

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
  if ((server_warmup > 0)); then
    server_warmup_load "$cprdesk"
    cprdesk_settle >/dev/null || log "CprDesk had not processed its warm-up after 600 s (continuing)"
  fi
  log "loading CprDesk on $cprdesk"
  run_cells cprdesk "$cprdesk" "$([[ -n $cprdesk_url ]] && echo cprdesk_settle)" || status=1
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
