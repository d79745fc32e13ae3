#!/usr/bin/env bash
# Runs every test (unit, integration on loopback, CLI as a process, browser through Debian's Chromium).
# On a fresh Debian machine it installs what the tests need first; run it as root there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
[ -x /usr/sbin/postfix ] || missing+=(postfix)   # the Postfix tests run a private instance (tests/tools/postfix-instance.sh)
[ -x /usr/sbin/spamd ] || missing+=(spamassassin spamd)   # the spam tests run a private spamd on a loopback port (Debian 12: spamd is its own package)
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-core dovecot-imapd)   # the IMAP poller tests run a private Dovecot (tests/tools/dovecot-instance.sh)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: these Debian packages are needed: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "test.sh: installing ${missing[*]}"
  apt-get update -qq
  # Postfix only as a tool: no system mail configuration, the system instance stays stopped.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK (dotnet) is needed on PATH" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test CprDesk.slnx -c Release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line across all test assemblies.
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: ${passed} passed, ${failed} failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
