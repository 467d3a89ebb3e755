#!/usr/bin/env bash
# The caldav adapter checked by an independent client: seeds a FlowFact-like SQLite database
# (connector-dev), starts Radicale (apt: radicale) on a free loopback port with user mm and a
# calendar, a task list and an address book, runs `connector-host sync` (FlowFact → caldav, the
# three kinds), then reads the collections back with Python's caldav package
# (pip install caldav==3.6.0) and compares them with FlowFact field by field
# (Benchmarks/peer/caldav_check.py). Exits 1 when a field differs or an item is missing.
# Usage: scripts/caldav-check.sh [--bin DIR] [--keep] [--verbose] [--addresses N] [--appointments N] [--tasks N]
#   --bin DIR (or CONNECTOR_BIN=DIR): use connector-host and connector-dev there instead of `swift build`.
#   --keep: leave the work directory (configuration, database, Radicale's folder and logs).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CONNECTOR_BIN:-}
keep=
verbose=
addresses=10
appointments=8
tasks=5
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --verbose) verbose=--verbose; shift ;;
    --addresses) addresses=$2; shift 2 ;;
    --appointments) appointments=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    *) echo "unknown option: $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$bin" ]; then
  swift build --product connector-host
  swift build --product connector-dev
  bin=$(swift build --show-bin-path)
fi
bin=$(cd "$bin" && pwd)
command -v radicale > /dev/null || { echo "Radicale is not installed (apt-get install radicale)" >&2; exit 1; }
python3 -c 'import caldav' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check caldav==3.6.0

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$keep" ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

password='Kennwort-ä1'
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
printf 'mm:%s\n' "$password" > "$work/users"
printf '%s\n' "$password" > "$work/caldav.pw"
cat > "$work/radicale.conf" <<CONF
[server]
hosts = 127.0.0.1:$port
[auth]
type = htpasswd
htpasswd_filename = $work/users
htpasswd_encryption = plain
delay = 0
[storage]
filesystem_folder = $work/collections
[rights]
type = owner_only
[web]
type = none
[logging]
level = warning
CONF
radicale --config "$work/radicale.conf" > "$work/radicale.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "$url/" && break; sleep 0.1; done
make() {
  local status
  status=$(curl -s -o "$work/make.out" -w '%{http_code}' -X "$1" -u "mm:$password" \
    -H 'Content-Type: application/xml; charset=utf-8' --data-binary "$3" "$url$2")
  [ "$status" = 201 ] || { echo "$1 $2: HTTP $status $(cat "$work/make.out") $(cat "$work/radicale.log")" >&2; exit 1; }
}
calendar() {
  echo "<?xml version=\"1.0\" encoding=\"utf-8\"?><C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><C:supported-calendar-component-set><C:comp name=\"$1\"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
}
make MKCALENDAR /mm/calendar/ "$(calendar VEVENT)"
make MKCALENDAR /mm/tasks/ "$(calendar VTODO)"
make MKCOL /mm/contacts/ '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>'

connection="Driver=SQLite3;Database=$work/flowfact.sqlite"
"$bin/connector-dev" flowfact init --connection "$connection" > "$work/flowfact.log"
"$bin/connector-dev" flowfact seed --connection "$connection" --users 1 --addresses "$addresses" \
  --appointments "$appointments" --tasks "$tasks" --mails 0 >> "$work/flowfact.log"
cat > "$work/connectors.yaml" <<YAML
state: { path: $work/state.sqlite }
adapters:
  flowfact: { type: flowfact-odbc, connection: "$connection" }
  groupware:
    type: caldav
    username: mm
    password_file: $work/caldav.pw
users:
  - { id: MM, flowfact: MM, groupware: { url: "$url/mm/" } }
connectors:
  - { name: contacts, kind: address, source: flowfact, target: groupware }
  - { name: calendar, kind: calendar, source: flowfact, target: groupware }
  - { name: tasks, kind: task, source: flowfact, target: groupware }
YAML
"$bin/connector-host" validate "$work/connectors.yaml" > "$work/validate.log" 2>&1 || { cat "$work/validate.log" >&2; exit 1; }
echo "-- connector-host sync (FlowFact → caldav → Radicale $url)"
"$bin/connector-host" sync --config "$work/connectors.yaml" > "$work/sync.log" 2>&1 || {
  echo "connector-host sync failed:" >&2; cat "$work/sync.log" >&2; exit 1; }
grep -vE '^[0-9-]+T[^ ]+ (trace|debug|info|notice) ' "$work/sync.log" | tail -20 || true
echo "-- reading back with Python's caldav"
python3 Benchmarks/peer/caldav_check.py "$url" mm "$password" "$work/flowfact.sqlite" $verbose
