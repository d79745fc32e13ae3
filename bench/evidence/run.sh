#!/usr/bin/env bash
# bench/evidence/run.sh — issue 5's benchmark: 10,000 keys in one report matched against 1,000,000 certificates.
# Usage: bench/evidence/run.sh [--keys N] [--inventory M] [--out DIR]
# Builds Release, generates the data (EC P-256 keys: RSA keys would take minutes to make), imports the inventory
# with the real `cprdesk inventory import` (timed by GNU time: wall clock and max RSS), then times the evidence job
# on a report carrying all the keys. Everything stays on this machine; the data directory is removed at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
keys=10000
inventory=1000000
out=$(mktemp -d /tmp/cprdesk-evidence-bench.XXXXXX)
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys=$2; shift 2 ;;
    --inventory) inventory=$2; shift 2 ;;
    --out) out=$2; mkdir -p "$out"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dotnet build "$repo/src/CprDesk/CprDesk.csproj" -c Release -v q -nologo >/dev/null
dotnet build "$repo/bench/evidence/EvidenceBench/EvidenceBench.csproj" -c Release -v q -nologo >/dev/null
bench="$repo/bench/evidence/EvidenceBench/bin/Release/net10.0/EvidenceBench.dll"
cprdesk="$repo/src/CprDesk/bin/Release/net10.0/cprdesk.dll"
data="$out/data"
echo "== generate ($keys keys, $inventory inventory rows) into $out"
dotnet "$bench" gen "$out" --keys "$keys" --inventory "$inventory"
echo "== import: cprdesk inventory import"
/usr/bin/time -f "import wall %e s, max RSS %M KB" dotnet "$cprdesk" inventory import "$out/inventory.csv" --data "$data"
echo "== match: one report with $keys keys"
/usr/bin/time -f "match process wall %e s, max RSS %M KB" dotnet "$bench" match "$data" "$out/report.eml"
rm -rf "$data"
echo "generated files kept in $out"
