#!/usr/bin/env bash
# The sync benchmark (Benchmarks/sync-bench): builds exchange-sim and sync-bench in release mode and
# runs it; options go to sync-bench, e.g.
#   scripts/bench.sh --users 2 --addresses 500 --latency-ms 5 --peer                 (CI smoke scale)
#   scripts/bench.sh --users 50 --addresses 2000 --appointments 2000 --tasks 1000 --latency-ms 5 --peer
# --peer runs Python's exchangelib (pip install exchangelib) against the same simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product exchange-sim
swift build -c release --product sync-bench
bin=$(swift build -c release --show-bin-path)
# As the systemd unit runs the service (deploy/connector-host.service).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec "$bin/sync-bench" --schemas "${EWS_SCHEMAS:-../shared/ews-schema}" "$@"
