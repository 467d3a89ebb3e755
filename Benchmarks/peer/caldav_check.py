#!/usr/bin/env python3
"""What connector-host's `caldav` adapter wrote, read back by an independent client and compared
with FlowFact field by field.

The CalDAV side is read with Python's `caldav` package (pip install caldav==3.6.0; its `icalendar`
parses the items); the address book with the same package's DAVClient (PROPFIND, GET) and a small
vCard reader here, as `caldav` has no CardDAV objects. FlowFact is the SQLite file connector-host
synced from, read with Python's sqlite3. Each server item is matched to its FlowFact row by the
sync key it carries (X-CONNECTOR-SYNCKEY `...:s:<FlowFact ID>`).

Usage: caldav_check.py URL USER PASSWORD FLOWFACT.sqlite [--calendar PATH] [--tasks PATH]
                       [--addressbook PATH] [--verbose]
Exits 1 when a field differs or an item is missing on either side.
"""

import argparse
import datetime
import logging
import re
import sqlite3
import sys
import zoneinfo

import caldav
import icalendar

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
TERMIN = "7A000000-0000-4000-8000-000000000000"
AUFGABE = "7A000000-0000-4000-8000-000000000001"


def text(value):
    """None, '' and whitespace alike; line endings as LF."""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").strip()


def stamp(value):
    """A FlowFact timestamp (SQLite text) as a naive local datetime."""
    if value in (None, ""):
        return None
    value = str(value).replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(value, pattern)
        except ValueError:
            pass
    raise ValueError(f"unreadable timestamp {value!r}")


def local(value):
    """An iCalendar date or date-time as a naive Berlin local datetime (dates at midnight)."""
    if value is None:
        return None
    value = value.dt if hasattr(value, "dt") else value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BERLIN)
        return value.replace(tzinfo=None)
    return datetime.datetime(value.year, value.month, value.day)


def sync_id(key):
    """The FlowFact id in a sync key, for records that came from FlowFact."""
    key = text(key)
    return key.split(":s:", 1)[1] if ":s:" in key else None


# MARK: vCard (RFC 6350, 2426): enough to read what the adapter writes


def unescape(value):
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def split_unescaped(value, separator):
    parts, current, escaped = [], "", False
    for char in value:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def vcard(data):
    """Properties by upper-case name: a list of (parameters, raw value)."""
    lines = re.sub(r"\r?\n[ \t]", "", data).splitlines()
    properties = {}
    for line in lines:
        if ":" not in line:
            continue
        head, value = line.split(":", 1)
        name, *parameters = head.split(";")
        name = name.split(".")[-1].upper()
        properties.setdefault(name, []).append((";".join(parameters).upper(), value))
    return properties


# MARK: Comparison


class Report:
    def __init__(self, verbose):
        self.verbose = verbose
        self.checked = 0
        self.failed = 0

    def field(self, kind, name, field, flowfact, server):
        self.checked += 1
        if flowfact == server:
            if self.verbose:
                print(f"  ok    {kind} {name}: {field} = {flowfact!r}")
            return
        self.failed += 1
        print(f"  DIFF  {kind} {name}: {field}: FlowFact {flowfact!r}, server {server!r}")

    def missing(self, what):
        self.failed += 1
        print(f"  MISSING {what}")


def compare_addresses(db, client, url, report):
    answer = client.propfind(url, props='<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>', depth=1)
    hrefs = [h for h in re.findall(r"<[^>]*href>([^<]+)</", answer.raw) if not h.endswith("/")]
    rows = {r["ID"]: r for r in db.execute("SELECT * FROM AD")}
    seen = set()
    for href in hrefs:
        data = client.request(str(client.url.join(href))).raw
        card = vcard(data)
        key = card.get("X-CONNECTOR-SYNCKEY", [("", "")])[0][1]
        fid = sync_id(key)
        row = rows.get(fid)
        if row is None:
            report.missing(f"address {href}: no FlowFact row for sync key {key!r}")
            continue
        seen.add(fid)
        name = f"{text(row['VORNAME'])} {text(row['NAME'])}".strip()
        n = split_unescaped(card.get("N", [("", "")])[0][1], ";") + [""] * 5
        report.field("address", name, "family name (NAME ↔ N)", text(row["NAME"]), text(unescape(n[0])))
        report.field("address", name, "given name (VORNAME ↔ N)", text(row["VORNAME"]), text(unescape(n[1])))
        org = split_unescaped(card.get("ORG", [("", "")])[0][1], ";")
        report.field("address", name, "company (FIRMA ↔ ORG)", text(row["FIRMA"]), text(unescape(org[0])))
        report.field(
            "address", name, "job title (POSITION ↔ TITLE)", text(row["POSITION"]),
            text(unescape(card.get("TITLE", [("", "")])[0][1])))
        emails = sorted(text(row[c]).lower() for c in ("EMAIL", "EMAIL2", "EMAIL3") if text(row[c]))
        report.field(
            "address", name, "e-mail addresses", emails,
            sorted(text(unescape(v)).lower() for _, v in card.get("EMAIL", [])))
        phones = sorted(
            text(row[c]) for c in (
                "TEL_GESCH", "TEL_GESCH2", "TEL_PRIV", "TEL_PRIV2", "TEL_MOBIL", "TEL_SEKR", "TEL_AUTO", "FAX")
            if text(row[c]))
        report.field(
            "address", name, "phone numbers", phones,
            sorted(text(unescape(v)).removeprefix("tel:") for _, v in card.get("TEL", [])))
        adr = [split_unescaped(v, ";") + [""] * 7 for _, v in card.get("ADR", [])]
        streets = sorted(
            (text(unescape(a[2])), text(unescape(a[5])), text(unescape(a[3]))) for a in adr
            if any(text(x) for x in a))
        expected = sorted(
            [(text(row["STRASSE"]), text(row["PLZ"]), text(row["ORT"]))]
            if any(text(row[c]) for c in ("STRASSE", "PLZ", "ORT")) else [])
        report.field("address", name, "street, postal code, city", expected, streets)
        report.field(
            "address", name, "notes (NOTIZ ↔ NOTE)", text(row["NOTIZ"]),
            text(unescape(card.get("NOTE", [("", "")])[0][1])))
        birthday = stamp(row["GEBURTSTAG"])
        bday = card.get("BDAY", [("", "")])[0][1].replace("-", "")[:8]
        report.field(
            "address", name, "birthday (GEBURTSTAG ↔ BDAY)", birthday.strftime("%Y%m%d") if birthday else "", bday)
    return seen


def find_collection(principal, url, kind):
    for calendar in principal.calendars():
        if str(calendar.url).rstrip("/") == url.rstrip("/"):
            return calendar
    raise SystemExit(f"no {kind} collection at {url} among the principal's calendars")


def compare_events(db, calendar, report):
    rows = {r["ID"]: r for r in db.execute("SELECT * FROM AKT WHERE AKTART_ID = ?", (TERMIN,))}
    seen = set()
    for item in calendar.events():
        parsed = icalendar.Calendar.from_ical(item.data)
        masters = [c for c in parsed.walk("VEVENT") if c.get("RECURRENCE-ID") is None]
        if not masters:
            report.missing(f"event {item.url}: no master VEVENT")
            continue
        event = masters[0]
        fid = sync_id(event.get("X-CONNECTOR-SYNCKEY"))
        row = rows.get(fid)
        if row is None:
            report.missing(f"event {item.url}: no FlowFact row for sync key {event.get('X-CONNECTOR-SYNCKEY')!r}")
            continue
        seen.add(fid)
        name = text(row["BETREFF"])
        report.field("event", name, "subject (BETREFF ↔ SUMMARY)", name, text(event.get("SUMMARY")))
        report.field("event", name, "location (ORT ↔ LOCATION)", text(row["ORT"]), text(event.get("LOCATION")))
        report.field("event", name, "text (TEXT ↔ DESCRIPTION)", text(row["TEXT"]), text(event.get("DESCRIPTION")))
        all_day = not isinstance(event.get("DTSTART").dt, datetime.datetime)
        report.field("event", name, "all day (GANZTAEGIG ↔ VALUE=DATE)", bool(row["GANZTAEGIG"]), all_day)
        report.field("event", name, "start (DATUM ↔ DTSTART, Berlin)", stamp(row["DATUM"]), local(event.get("DTSTART")))
        end = local(event.get("DTEND"))
        if all_day and end is not None:
            end -= datetime.timedelta(days=1)  # FlowFact keeps the last day, iCalendar the day after
        report.field("event", name, "end (ENDE ↔ DTEND, Berlin)", stamp(row["ENDE"]), end)
    return seen


def compare_tasks(db, calendar, report):
    rows = {r["ID"]: r for r in db.execute("SELECT * FROM AKT WHERE AKTART_ID = ?", (AUFGABE,))}
    seen = set()
    for item in calendar.todos(include_completed=True):
        todo = next(iter(icalendar.Calendar.from_ical(item.data).walk("VTODO")), None)
        fid = sync_id(todo.get("X-CONNECTOR-SYNCKEY")) if todo is not None else None
        row = rows.get(fid)
        if row is None:
            report.missing(f"task {item.url}: no FlowFact row")
            continue
        seen.add(fid)
        name = text(row["BETREFF"])
        report.field("task", name, "subject (BETREFF ↔ SUMMARY)", name, text(todo.get("SUMMARY")))
        report.field("task", name, "text (TEXT ↔ DESCRIPTION)", text(row["TEXT"]), text(todo.get("DESCRIPTION")))
        report.field(
            "task", name, "done (ERLEDIGT ↔ STATUS:COMPLETED)", bool(row["ERLEDIGT"]),
            text(todo.get("STATUS")).upper() == "COMPLETED")
        start = stamp(row["DATUM"])
        server_start = local(todo.get("DTSTART"))
        report.field(
            "task", name, "start date (DATUM ↔ DTSTART)", start.date() if start else None,
            server_start.date() if server_start else None)
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:5232")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("flowfact", help="the FlowFact SQLite file")
    parser.add_argument("--calendar", default=None, help="default /USER/calendar/")
    parser.add_argument("--tasks", default=None, help="default /USER/tasks/")
    parser.add_argument("--addressbook", default=None, help="default /USER/contacts/")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    # A GET of a vCard is "unexpected" to a CalDAV client; the answer is read all the same.
    logging.disable(logging.WARNING)
    base = args.url.rstrip("/")
    db = sqlite3.connect(args.flowfact)
    db.row_factory = sqlite3.Row
    report = Report(args.verbose)
    print(f"caldav {caldav.__version__}, icalendar {icalendar.__version__}: reading {base} as {args.user}")
    with caldav.DAVClient(url=base + f"/{args.user}/", username=args.user, password=args.password) as client:
        principal = client.principal()
        results = {
            "addresses": (compare_addresses(db, client, base + (args.addressbook or f"/{args.user}/contacts/"), report),
                          "SELECT COUNT(*) FROM AD"),
            "appointments": (
                compare_events(db, find_collection(principal, base + (args.calendar or f"/{args.user}/calendar/"),
                                                   "calendar"), report),
                f"SELECT COUNT(*) FROM AKT WHERE AKTART_ID = '{TERMIN}'"),
            "tasks": (
                compare_tasks(db, find_collection(principal, base + (args.tasks or f"/{args.user}/tasks/"), "tasks"),
                              report),
                f"SELECT COUNT(*) FROM AKT WHERE AKTART_ID = '{AUFGABE}'"),
        }
    for kind, (seen, sql) in results.items():
        print(f"{kind}: {len(seen)} on the server matched to FlowFact (FlowFact holds {db.execute(sql).fetchone()[0]})")
        if not seen:
            report.missing(f"{kind}: nothing on the server")
    print(f"fields compared: {report.checked}, differing or missing: {report.failed}")
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
