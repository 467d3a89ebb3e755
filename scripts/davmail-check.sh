#!/usr/bin/env bash
# exchange-sim's WebDAV checked by an independent Exchange-WebDAV client: DavMail (Debian package
# `davmail`, in WebDav mode, headless) signs in through Exchange 2003's forms login, lists and reads
# the calendar and the contacts through its CalDAV/CardDAV side, and creates and changes an event
# and a contact there. Our exchange-webdav adapter (Benchmarks/peer/webdav-peer) writes first and
# reads last, so each side reads what the other wrote:
#   1. the adapter writes an appointment and a contact;
#   2. DavMail reads both (curl against DavMail's CalDAV/CardDAV);
#   3. DavMail creates an event and a contact, then changes both;
#   4. the adapter reads DavMail's event and contact, changes included.
# DavMail 6's contact writes answer 503 after the server stored the contact (a known DavMail bug,
# ../shared/reference/davmail-webdav.md §9): the check accepts that answer and verifies the
# contact by reading it back. Usage: scripts/davmail-check.sh [--schemas DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
schemas=${EWS_SCHEMAS:-../shared/ews-schema}
if [ "${1:-}" = "--schemas" ]; then schemas=$2; fi
if ! command -v davmail > /dev/null; then
  echo "davmail-check: DavMail is not installed (apt-get install davmail)" >&2
  exit 1
fi
swift build --product exchange-sim
swift build --product webdav-peer
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
sim=""
davmail=""
cleanup() {
  [ -n "$davmail" ] && kill "$davmail" 2> /dev/null || true
  [ -n "$sim" ] && kill "$sim" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "davmail-check FAILED: $*" >&2
  echo "--- DavMail's log (errors) ---" >&2
  grep -E "ERROR|WARN|Exception" "$work/davmail.out" 2> /dev/null | grep -v "Public folders" | head -40 >&2 || true
  exit 1
}

user=jdoe
password=Peer-Check-1
"$bin/exchange-sim" --port 0 --schemas "$schemas" --protocol webdav --auth forms2003 \
  --mailbox jdoe@example.test --account "$user:$password" > "$work/sim.out" 2>&1 &
sim=$!
for _ in $(seq 1 100); do grep -q "WebDAV on" "$work/sim.out" && break; sleep 0.1; done
exchange=$(grep -o 'WebDAV on http://[^ ]*' "$work/sim.out" | sed 's/WebDAV on //')
[ -n "$exchange" ] || fail "exchange-sim did not start: $(cat "$work/sim.out")"
echo "exchange-sim (Exchange 2003, forms login): $exchange"

# 1. Our adapter writes.
"$bin/webdav-peer" write "$exchange" "$user" "$password" "$user" || fail "the adapter could not write"

# 2. DavMail, headless, on a free port for CalDAV and CardDAV.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/davmail.properties" << EOF
davmail.server=true
davmail.mode=WebDav
davmail.url=$exchange
davmail.caldavPort=$port
davmail.imapPort=
davmail.smtpPort=
davmail.popPort=
davmail.ldapPort=
davmail.allowRemote=false
davmail.bindAddress=127.0.0.1
davmail.disableUpdateCheck=true
davmail.logFilePath=$work/davmail.log
log4j.rootLogger=WARN
log4j.logger.davmail=DEBUG
EOF
# From the work folder: DavMail also writes a davmail.log into the folder it starts in.
(cd "$work" && exec davmail -server "$work/davmail.properties") > "$work/davmail.out" 2>&1 &
davmail=$!
for _ in $(seq 1 120); do (echo > "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break; sleep 0.5; done
(echo > "/dev/tcp/127.0.0.1/$port") 2> /dev/null || fail "DavMail did not open port $port"
dav="http://127.0.0.1:$port/users/$user"
davcurl() { curl -s -m 60 -u "$user:$password" "$@"; }
echo "$(grep -o 'DavMail Gateway [^ ]*' "$work/davmail.out" | head -1) (WebDav mode): CalDAV/CardDAV on $dav"

events=$(davcurl -X REPORT -H "Depth: 1" -H "Content-Type: text/xml" --data '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>' "$dav/calendar/")
grep -q "SUMMARY:Adapter-Termin Übergabe" <<< "$events" || fail "DavMail did not list the adapter's appointment: $events"
grep -q "DTSTART;TZID=\"\?Europe/Berlin\"\?:20300603T140000" <<< "$events" || fail "DavMail read another start: $events"
grep -q "TRIGGER:-PT30M" <<< "$events" || fail "DavMail did not read the reminder: $events"
echo "DavMail reads the adapter's appointment (subject, start in Europe/Berlin, reminder)"
listing=$(davcurl -X PROPFIND -H "Depth: 1" -H "Content-Type: text/xml" --data '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' "$dav/contacts/")
grep -q "peer-contact.vcf" <<< "$listing" || fail "DavMail did not list the adapter's contact: $listing"
card=$(davcurl "$dav/contacts/peer-contact.vcf")
grep -q "FN:Ada Adapter" <<< "$card" || fail "DavMail read another name: $card"
grep -q "ada@adapter.example" <<< "$card" || fail "DavMail did not read the e-mail address: $card"
echo "DavMail reads the adapter's contact (name, e-mail)"

# 3. DavMail writes an event and a contact, then changes both.
event() {
  printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//davmail-check//EN\r\nBEGIN:VEVENT\r\nUID:davmail-event-1\r\nDTSTART;TZID=Europe/Berlin:20300610T090000\r\nDTEND;TZID=Europe/Berlin:20300610T100000\r\nSUMMARY:%s\r\nLOCATION:Kanzlei Weiß\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$1"
}
contact() {
  printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:davmail-contact-1\r\nFN:Dora %s\r\nN:%s;Dora;;;\r\nEMAIL;TYPE=INTERNET:dora@davmail.example\r\nORG:Maklerei Dora\r\nEND:VCARD\r\n' "$1" "$1"
}
status=$(event "DavMail-Termin Notar" | davcurl -o /dev/null -w "%{http_code}" -X PUT -H "Content-Type: text/calendar" -H "If-None-Match: *" --data-binary @- "$dav/calendar/davmail-event-1.ics")
[ "$status" = 201 ] || fail "DavMail's event PUT answered $status"
status=$(contact "DavMail" | davcurl -o /dev/null -w "%{http_code}" -X PUT -H "Content-Type: text/vcard" -H "If-None-Match: *" --data-binary @- "$dav/contacts/davmail-contact-1.vcf")
[ "$status" = 201 ] || [ "$status" = 503 ] || fail "DavMail's contact PUT answered $status"
status=$(event "DavMail-Termin Notar verschoben" | davcurl -o /dev/null -w "%{http_code}" -X PUT -H "Content-Type: text/calendar" -H "If-Match: *" --data-binary @- "$dav/calendar/davmail-event-1.ics")
[ "$status" = 200 ] || [ "$status" = 201 ] || [ "$status" = 204 ] || fail "DavMail's event change answered $status"
status=$(contact "Davidsen" | davcurl -o /dev/null -w "%{http_code}" -X PUT -H "Content-Type: text/vcard" --data-binary @- "$dav/contacts/davmail-contact-1.vcf")
[ "$status" = 200 ] || [ "$status" = 201 ] || [ "$status" = 204 ] || [ "$status" = 503 ] || fail "DavMail's contact change answered $status"
echo "DavMail created and changed an event and a contact"

# 4. Our adapter reads what DavMail wrote.
read=$("$bin/webdav-peer" read "$exchange" "$user" "$password" "$user") || fail "the adapter could not read"
grep -q '"subject":"DavMail-Termin Notar verschoben"' <<< "$read" || fail "the adapter did not read DavMail's event: $read"
grep -q '"start":"2030-06-10T07:00:00Z"' <<< "$read" || fail "the adapter read another start for DavMail's event: $read"
grep -q '"familyName":"Davidsen"' <<< "$read" || fail "the adapter did not read DavMail's contact change: $read"
grep -q 'dora@davmail.example' <<< "$read" || fail "the adapter did not read the contact's e-mail: $read"
if grep -q '"unreadable"' <<< "$read"; then fail "the adapter could not read an item: $read"; fi
echo "the adapter reads DavMail's event and contact, with their changes"
echo "davmail-check: ok"
