#!/usr/bin/env bash
# exchange-sim checked by an independent client: starts the simulator and runs Python's
# exchangelib (pip install exchangelib==5.6.0) against it (Benchmarks/peer/exchangelib_check.py).
# Usage: scripts/peer-check.sh [--schemas DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
schemas=../shared/ews-schema
if [ "${1:-}" = "--schemas" ]; then schemas=$2; fi
swift build --product exchange-sim
out=$(mktemp)
.build/debug/exchange-sim --port 0 --schemas "$schemas" --account svc@example.test:check \
  --impersonation svc@example.test --mailbox mm@example.test > "$out" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out" | head -1)
if [ -z "$url" ]; then echo "exchange-sim did not start: $(cat "$out")" >&2; exit 1; fi
python3 Benchmarks/peer/exchangelib_check.py "$url" svc@example.test check mm@example.test
