#!/usr/bin/env bash
# The operator's console in a real browser (issue 17): headless Chromium (Debian's chromium and
# chromium-driver, driven by Selenium) against `connector-host run` syncing the embedded
# FlowFact-like database with exchange-sim: a conflict settled by taking FlowFact's version (read
# back from the simulator with exchangelib), a dead letter retried after its cause was lifted, a
# disabled mailbox enabled, the overview refreshing itself, CSRF refusals, and the credential
# required from another address (a network namespace; needs root). See Benchmarks/peer/console_check.py.
# Usage: scripts/console-check.sh [--schemas DIR] [--bin DIR] [--shots DIR] [--keep] [--no-netns]
#   --schemas DIR (or EWS_SCHEMAS): Microsoft's EWS schemas for the simulator; default ../shared/ews-schema.
#   --bin DIR (or CONNECTOR_BIN=DIR): use the binaries there instead of building with `swift build`.
#   --shots DIR: where the screenshots go (console-overview.png, console-conflict.png); default the
#     work directory. `--shots docs` renews the README's pictures.
#   --keep: leave the work directory (configuration, databases, logs) and print where it is.
#   --no-netns: skip the check from another address (no root, no `ip netns`).
set -euo pipefail
cd "$(dirname "$0")/.."
schemas=${EWS_SCHEMAS:-../shared/ews-schema}
bin=${CONNECTOR_BIN:-}
shots=
keep=
netns=
while [ $# -gt 0 ]; do
  case "$1" in
    --schemas) schemas=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --shots) shots=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-netns) netns=--no-netns; shift ;;
    *) echo "unknown option: $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done

# The browser and its driver from Debian; Selenium and exchangelib from PyPI (pinned).
missing=()
for package in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi
python3 -c 'import selenium, sys; sys.exit(selenium.__version__ != "4.27.1")' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check selenium==4.27.1
python3 -c 'import exchangelib' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check exchangelib==5.6.0

if [ -z "$bin" ]; then
  swift build --product exchange-sim
  swift build --product connector-host
  swift build --product connector-dev
  bin=$(swift build --show-bin-path)
fi
bin=$(cd "$bin" && pwd)
schemas=$(cd "$schemas" && pwd)
work=$(mktemp -d)
cleanup() { if [ -n "$keep" ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$shots" ]; then shots=$work; fi
mkdir -p "$shots"
shots=$(cd "$shots" && pwd)
if [ -z "$netns" ] && [ "$(id -u)" -ne 0 ]; then
  echo "not root: the check from another address (ip netns) is skipped"
  netns=--no-netns
fi
python3 Benchmarks/peer/console_check.py --bin "$bin" --schemas "$schemas" --work "$work" --shots "$shots" $netns
