#!/usr/bin/env bash
# Profiles connector-host in the sync benchmark with perf (CPU samples with call stacks) and prints
# the functions that cost the most. The simulator runs in a process of its own outside the
# profile; seeding FlowFact is in it but shows as FlowFactSeeder and is left out of the listing.
# Options go to sync-bench, e.g.
#   scripts/profile.sh                                   (4 users × (2,000 addresses + 2,000 appointments + 1,000 tasks))
#   scripts/profile.sh --users 10 --addresses 2000 --appointments 2000 --tasks 1000
#   PROFILE_PHASE="1 % changed" scripts/profile.sh     (only the samples of the phase whose name starts so)
# The samples are left in .build/perf.data for `perf report -i .build/perf.data`.
# (valgrind's callgrind would count instructions repeatably, but valgrind 3.19 cannot read the
# DWARF 5 that Swift writes and stops with an internal error once the SQLite ODBC driver is loaded;
# this machine's VM has no hardware counters for `perf stat -e instructions`.)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf > /dev/null || { echo "profile.sh needs perf (apt-get install linux-perf)" >&2; exit 1; }
swift build -c release --product exchange-sim
swift build -c release --product sync-bench
bin=$(swift build -c release --show-bin-path)
schemas="${EWS_SCHEMAS:-../shared/ews-schema}"
if [ $# -eq 0 ]; then set -- --users 4 --addresses 2000 --appointments 2000 --tasks 1000; fi
latency=5
for ((i = 1; i <= $#; i++)); do if [ "${!i}" = --latency-ms ]; then j=$((i + 1)); latency=${!j}; fi; done
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}

# The simulator is started here, outside the profile.
mailboxes=$("$bin/sync-bench" "$@" --print-mailboxes)
args=(--port 0 --schemas "$schemas" --latency-ms "$latency" --account svc@example.test:bench --impersonation svc@example.test)
for mailbox in $mailboxes; do args+=(--mailbox "$mailbox"); done
# --protocol webdav profiles the exchange-webdav adapter: the simulator then serves WebDAV too.
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = --protocol ]; then j=$((i + 1)); [ "${!j}" = webdav ] && args+=(--protocol both --delegate svc@example.test); fi
done
banner=$(mktemp)
"$bin/exchange-sim" "${args[@]}" > "$banner" &
sim=$!
trap 'kill $sim 2> /dev/null; rm -f "$banner"' EXIT
for _ in $(seq 1 100); do grep -q http:// "$banner" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$banner" | head -1)
[ -n "$url" ] || { echo "exchange-sim did not start: $(cat "$banner")" >&2; exit 1; }

marks=$(mktemp)
trap 'kill $sim 2> /dev/null; rm -f "$banner" "$marks"' EXIT
perf record -F 999 -g -o .build/perf.data -- "$bin/sync-bench" --schemas "$schemas" --sim-url "$url" --marks "$@" \
    | tee "$marks" | grep -v '^mark '
# perf report's time window: the whole run, or the phase PROFILE_PHASE names.
window=()
if [ -n "${PROFILE_PHASE:-}" ]; then
    range=$(awk -v phase="$PROFILE_PHASE" '$1 == "mark" { range = $2 "," $3; sub(/^mark [^ ]+ [^ ]+ /, ""); if (index($0, phase) == 1) { print range; exit } }' "$marks")
    [ -n "$range" ] || { echo "no phase named '$PROFILE_PHASE'" >&2; exit 1; }
    window=(--time "$range")
    echo "profile of the phase '$PROFILE_PHASE' only ($range)"
fi
echo
echo "connector-host's own functions by share of samples including callees (top 40):"
perf report -i .build/perf.data "${window[@]}" --children --sort sym -g none 2> /dev/null | grep -v '^#' \
    | swift demangle --simplified | grep -E 'Connectors|ConnectorHost|ConnectorAPI|ODBC|XML|HTTP|EWS|GRDB|WebDAV|ICalendar' \
    | grep -vE 'Seeder|partial apply|thunk' | head -40 | cut -c1-170 || true  # head ends the pipe early
echo
echo "all functions by their own samples (top 25):"
perf report -i .build/perf.data "${window[@]}" --no-children --sort dso,sym -g none 2> /dev/null | grep -v '^#' | grep -v '^$' \
    | swift demangle --simplified | head -25 | cut -c1-170 || true
