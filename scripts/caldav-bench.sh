#!/usr/bin/env bash
# The CalDAV/CardDAV benchmark (Benchmarks/caldav-bench): FlowFact (SQLite through ODBC) ↔ caldav ↔
# Radicale (apt: radicale), beside Radicale's own pace for the same PUTs from a minimal Python
# client. Builds caldav-bench in release mode and runs it; options go to caldav-bench, e.g.
#   scripts/caldav-bench.sh --users 2 --addresses 100 --appointments 100 --tasks 100          (small, ~1 min)
#   scripts/caldav-bench.sh --users 2 --addresses 50 --appointments 30 --tasks 20 --raw sequential   (smoke, ~10 s)
#   scripts/caldav-bench.sh --users 10 --addresses 1000 --appointments 700 --tasks 300 --json caldav.json
#       (issue 16's scale, 10 users × 2,000 items: about 12 min for the sync and 10–12 min per raw run)
#   scripts/caldav-bench.sh --users 2 --addresses 1000 --appointments 700 --tasks 300 --fsync off
#       (Radicale without fsync, a data point)
# --raw both|sequential|parallel|none chooses the raw-client runs (default both). Exits 3 when the
# no-change run costs more than one REPORT per collection. scripts/caldav-profile.sh profiles it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v radicale > /dev/null || { echo "Radicale is not installed (apt-get install radicale)" >&2; exit 1; }
# CALDAV_BENCH=FILE runs that binary instead of building one.
bench=${CALDAV_BENCH:-}
if [ -z "$bench" ]; then
  swift build -c release --product caldav-bench
  bench=$(swift build -c release --show-bin-path)/caldav-bench
fi
# As the systemd unit runs the service (deploy/connector-host.service).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec "$bench" "$@"
