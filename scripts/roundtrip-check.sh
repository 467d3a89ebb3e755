#!/usr/bin/env bash
# Round-trip fidelity (issue 14): Python's exchangelib (pip install exchangelib==5.6.0) makes hard
# contacts, appointments and tasks in mailbox A of exchange-sim; connector-host syncs A into the
# embedded FlowFact-like database (deployment 1, one-way A → FlowFact) and FlowFact into mailbox B
# (deployment 2, one-way FlowFact → B); exchangelib compares A and B field by field
# (Benchmarks/peer/roundtrip_check.py). Run once per process time zone (TZ of connector-host), each
# with a fresh simulator and database; the mailbox zone (the ews adapter's `timezone:`, and the zone
# exchangelib works in) is another zone than TZ: Europe/Berlin, or America/New_York when TZ is Berlin.
# Exits 1 when a field is lost that docs/field-map.md does not list under
# "## Known losses in the round trip", or when a step (creating an item, a sync) failed.
# Usage: scripts/roundtrip-check.sh [--schemas DIR] [--bin DIR] [--zones UTC,Europe/Berlin,...] [--known FILE]
#                                    [--keep] [--verbose] [--without-kept-fields]
#   --schemas DIR (or EWS_SCHEMAS): Microsoft's EWS schemas for the simulator; default ../shared/ews-schema.
#   --bin DIR (or CONNECTOR_BIN=DIR): use the binaries there instead of building with `swift build`.
#   --zones: the process time zones to run under; default UTC,Europe/Berlin,America/New_York.
#   --known FILE: the list of known losses; default docs/field-map.md (absent: none are known).
#   --keep: leave the work directory (configurations, databases, logs) and print where it is.
#   --verbose: print the values of the fields that survived too.
#   --without-kept-fields: FlowFact with `keep_other_fields: false` (its own columns and Merkmale only);
#     reports the share that survives then, without failing on losses.
# Relative paths are taken from the repository's root (as in scripts/peer-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
schemas=${EWS_SCHEMAS:-../shared/ews-schema}
bin=${CONNECTOR_BIN:-}
zones=UTC,Europe/Berlin,America/New_York
keep=
known=docs/field-map.md
verbose=
keep_fields=true
while [ $# -gt 0 ]; do
  case "$1" in
    --schemas) schemas=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --zones) zones=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --known) known=$2; shift 2 ;;
    --verbose) verbose=--verbose; shift ;;
    --without-kept-fields) keep_fields=false; shift ;;
    *) echo "unknown option: $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$bin" ]; then
  swift build --product exchange-sim
  swift build --product connector-host
  swift build --product connector-dev
  bin=$(swift build --show-bin-path)
fi
bin=$(cd "$bin" && pwd)
schemas=$(cd "$schemas" && pwd)
python3 -c 'import exchangelib' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check exchangelib==5.6.0

work=$(mktemp -d)
sim=
cleanup() {
  if [ -n "$sim" ]; then kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; fi
  if [ -n "$keep" ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

user=svc@example.test password=Roundtrip-Passw0rd a=a@example.test b=b@example.test
check=Benchmarks/peer/roundtrip_check.py
started=$SECONDS
failed=0
summaries=()

# The mailbox zone for a process zone: another zone. It is the ews adapter's `timezone:` (all-day events,
# task dates) and the zone exchangelib works in (its TimeZoneContext, the all-day event, date-only fields).
mailbox_zone() {
  case "$1" in
    Europe/Berlin) echo America/New_York ;;
    *) echo Europe/Berlin ;;
  esac
}

# deployment FILE STATE MAILBOX DIRECTION MAILZONE: one connectors.yaml.
deployment() {
  local file=$1 state=$2 mailbox=$3 direction=$4 mailzone=$5
  {
    echo "# Written by scripts/roundtrip-check.sh."
    echo "state: { path: $state }"
    echo "adapters:"
    echo "  flowfact:"
    echo "    type: flowfact-odbc"
    echo "    connection: \"Driver=SQLite3;Database=$dir/flowfact.sqlite\""
    echo "    timezone: Europe/Berlin"
    echo "    calendar_window: 3650d"
    echo "    task_window: 3650d"
    echo "    categories: { VIP: Kunde }"
    echo "    keep_other_fields: $keep_fields"
    echo "  exchange:"
    echo "    type: ews"
    echo "    url: $url"
    echo "    auth: basic"
    echo "    username: $user"
    echo "    password_file: $dir/ews.pw"
    echo "    access: impersonation"
    echo "    timezone: $mailzone"
    echo "users:"
    echo "  - { id: MM, flowfact: MM, exchange: $mailbox }"
    echo "connectors:"
    for kind in address calendar task; do
      echo "  - { name: $kind, kind: $kind, source: flowfact, target: exchange, direction: $direction }"
    done
  } > "$file"
}

run_zone() {
  local zone=$1 mailzone
  mailzone=$(mailbox_zone "$zone")
  dir=$work/${zone//\//-}
  mkdir -p "$dir"
  echo
  echo "== connector-host under TZ=$zone; mailbox zone (ews adapter timezone): $mailzone; FlowFact timezone: Europe/Berlin =="
  "$bin/exchange-sim" --port 0 --schemas "$schemas" --account "$user:$password" --impersonation "$user" \
    --mailbox "$a" --mailbox "$b" > "$dir/sim.log" 2>&1 &
  sim=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$dir/sim.log" && break; sleep 0.1; done
  url=$(grep -o 'http://[^ ]*' "$dir/sim.log" | head -1)
  if [ -z "$url" ]; then echo "exchange-sim did not start: $(cat "$dir/sim.log")" >&2; exit 1; fi
  printf '%s\n' "$password" > "$dir/ews.pw"

  # The FlowFact-like database with its user MM and no records.
  local connection="Driver=SQLite3;Database=$dir/flowfact.sqlite"
  "$bin/connector-dev" flowfact init --connection "$connection" > "$dir/flowfact.log"
  "$bin/connector-dev" flowfact seed --connection "$connection" --users 1 --addresses 0 --appointments 0 \
    --tasks 0 --mails 0 >> "$dir/flowfact.log"

  # Deployment 1: mailbox A → FlowFact; deployment 2: FlowFact → mailbox B. The Outlook category VIP
  # is FlowFact's Merkmal "Kunde" (seeded); the other categories are kept in the connector table.
  deployment "$dir/a.yaml" "$dir/state-a.sqlite" "$a" target-to-source "$mailzone"
  deployment "$dir/b.yaml" "$dir/state-b.sqlite" "$b" source-to-target "$mailzone"
  for side in a b; do
    "$bin/connector-host" validate "$dir/$side.yaml" > "$dir/validate.log" 2>&1 || {
      cat "$dir/validate.log" >&2; exit 1; }
  done

  echo "-- creating the items in $a (exchangelib)"
  python3 "$check" create "$url" "$user" "$password" "$a" --zone "$mailzone" || failed=1

  local side
  for side in a b; do
    local what="mailbox A → FlowFact"
    [ "$side" = b ] && what="FlowFact → mailbox B"
    echo "-- connector-host sync ($what)"
    if ! TZ=$zone "$bin/connector-host" sync --config "$dir/$side.yaml" > "$dir/sync-$side.log" 2>&1; then
      echo "FAIL  connector-host sync ($what) exited non-zero; its output:"
      failed=1
    fi
    # The report and warnings as they are; notices counted by message.
    grep -vE '^[0-9-]+T[^ ]+ (trace|debug|info|notice) ' "$dir/sync-$side.log" | sed 's/^/      /' | tail -40 || true
    grep -E '^[0-9-]+T[^ ]+ notice ' "$dir/sync-$side.log" | sed 's/.*\] //' | sort | uniq -c |
      sed 's/^ */      notice ×/' || true
  done

  echo "-- comparing $a with $b"
  python3 "$check" compare "$url" "$user" "$password" "$a" "$b" --zone "$mailzone" --known "$known" \
    --lost-out "$dir/lost.txt" $verbose > "$dir/compare.log" 2>&1 || [ "$keep_fields" = false ] || failed=1
  cat "$dir/compare.log"
  summaries+=("TZ=$zone: $(grep '^fields surviving' "$dir/compare.log" || echo 'no comparison (see above)')")

  kill "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
  sim=
}

IFS=, read -r -a zone_list <<< "$zones"
for zone in "${zone_list[@]}"; do run_zone "$zone"; done

echo
echo "== summary ($((SECONDS - started)) s) =="
printf '%s\n' "${summaries[@]}"
lost=$(cat "$work"/*/lost.txt 2>/dev/null | sort -u || true)
if [ -n "$lost" ]; then
  echo "lost kind:field keys (any zone):"
  while read -r key; do
    where=$(grep -Fxl "$key" "$work"/*/lost.txt | xargs -n1 dirname | xargs -n1 basename | paste -sd, -)
    echo "  $key   ($where)"
  done <<< "$lost"
else
  echo "lost kind:field keys: none"
fi
if [ "$failed" -ne 0 ]; then echo "round trip: FAILED (see the FAIL lines and the unlisted losses above)"; exit 1; fi
echo "round trip: passed"
