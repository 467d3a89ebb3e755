#!/usr/bin/env bash
# Where the time of the CalDAV benchmark goes (Benchmarks/caldav-bench, without the raw-client runs):
#   1. CPU samples of both processes with perf (it follows the children): connector-host (the
#      caldav-bench process) against Radicale (python3), user against kernel, connector-host's own
#      functions, Radicale's kernel functions;
#   2. a second run with Radicale's Python functions under cProfile (wall-clock time per request
#      thread, so waiting for its storage lock and for fsync shows too; cProfile slows Radicale
#      about 2×, which is why it is a run of its own). RADICALE_CPROFILE=0 leaves it out.
# Options go to caldav-bench, e.g.
#   scripts/caldav-profile.sh                                            (2 users × (1,000 + 700 + 300))
#   scripts/caldav-profile.sh --users 2 --addresses 500 --appointments 0 --tasks 0 --fsync off
#   PROFILE_PHASE="no changes" scripts/caldav-profile.sh                (perf samples of another phase;
#                                                                         default: the initial full sync; all: the whole run)
# The samples stay in .build/caldav-perf.data (perf report -i …), Radicale's profile in
# .build/caldav-radicale.pstats (python3 -m pstats …).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf > /dev/null || { echo "caldav-profile.sh needs perf (apt-get install linux-perf)" >&2; exit 1; }
command -v radicale > /dev/null || { echo "Radicale is not installed (apt-get install radicale)" >&2; exit 1; }
# CALDAV_BENCH=FILE profiles that binary instead of building one.
bench=${CALDAV_BENCH:-}
if [ -z "$bench" ]; then
  swift build -c release --product caldav-bench
  bench=$(swift build -c release --show-bin-path)/caldav-bench
fi
if [ $# -eq 0 ]; then set -- --users 2 --addresses 1000 --appointments 700 --tasks 300; fi
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
data=.build/caldav-perf.data
pstats_file=$PWD/.build/caldav-radicale.pstats
output=$(mktemp)
trap 'rm -f "$output"' EXIT

echo "== 1. perf: both processes"
perf record -F 499 -g -o "$data" -- "$bench" --raw none --marks "$@" | tee "$output" | grep -v '^mark '
window=()
phase=${PROFILE_PHASE-initial}
if [ -n "$phase" ] && [ "$phase" != all ]; then
    range=$(awk -v phase="$phase" '$1 == "mark" { range = $2 "," $3; sub(/^mark [^ ]+ [^ ]+ /, ""); if (index($0, phase) == 1) { print range; exit } }' "$output")
    [ -n "$range" ] || { echo "no phase named '$phase'" >&2; exit 1; }
    window=(--time "$range")
    echo
    echo "perf samples of the phase '$phase' only ($range; PROFILE_PHASE=all for the whole run)"
fi
report() { perf report -i "$data" "${window[@]}" "$@" 2> /dev/null | grep -v '^#' | grep -v '^$'; }
# Threads are told apart by name: Radicale's are all python3; connector-host's are caldav-bench and
# the Swift runtime's pool threads.
comms=$(report --no-children --sort comm -g none | awk '$2 != "python3" { print $2 }' | paste -sd, -)
echo
echo "CPU samples by process:"
report --no-children --sort comm -g none \
    | awk '{ share = $1; sub(/%/, "", share); if ($2 == "python3") radicale += share; else host += share }
           END { printf "    Radicale (python3) %.1f %%, connector-host (caldav-bench and its Swift threads) %.1f %%\n", radicale, host }'
echo
echo "... and by object (top 12):"
report --no-children --sort comm,dso -g none | head -12 || true
echo
echo "connector-host's own functions, share of its samples including callees (top 30):"
report --comms "$comms" --percentage relative --children --sort sym -g none | swift demangle --simplified \
    | grep -E 'Connectors|ConnectorHost|ConnectorAPI|ODBC|XML|HTTP|CalDAV|VCard|ICalendar|GRDB|SyncEngine|Curl|curl' \
    | grep -vE 'Seeder|partial apply|thunk' | head -30 | cut -c1-170 || true
echo
echo "connector-host, all functions by own samples, share of its samples (top 20):"
report --comms "$comms" --percentage relative --no-children --sort dso,sym -g none | swift demangle --simplified \
    | head -20 | cut -c1-170 || true
echo
echo "Radicale by object, share of its samples:"
report --comms python3 --percentage relative --no-children --sort dso -g none | head -8 || true
echo
echo "Radicale's kernel functions by own samples, share of its samples (top 12):"
report --comms python3 --percentage relative --no-children --sort sym -g none | grep '\[k\]' | head -12 || true

if [ "${RADICALE_CPROFILE:-1}" != 0 ]; then
    echo
    echo "== 2. Radicale under cProfile (a second run)"
    rm -f "$pstats_file"
    CALDAV_BENCH_RADICALE_PROFILE=$pstats_file "$bench" --raw none "$@" | grep -E '^(initial|no-change)'
    /usr/bin/python3 - "$pstats_file" <<'PY'
import pstats, sys
stats = pstats.Stats(sys.argv[1])
print("Radicale by Python function, wall-clock seconds summed over the request threads, whole run")
print("-- by cumulative time (top 35)")
stats.sort_stats("cumulative").print_stats(35)
print("-- by own time (top 20)")
stats.sort_stats("tottime").print_stats(20)
PY
fi
