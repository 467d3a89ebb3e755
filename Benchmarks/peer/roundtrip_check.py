#!/usr/bin/env python3
"""Round-trip fidelity (issue 14): hard contacts, appointments and tasks are made with an independent client
(Python's exchangelib 5.6.0) in mailbox A, connector-host syncs A into FlowFact and FlowFact into mailbox B
(scripts/roundtrip-check.sh wires that), and this script compares A and B field by field.

usage:
  roundtrip_check.py create  URL USER PASSWORD MAILBOX_A [--zone ZONE]
  roundtrip_check.py compare URL USER PASSWORD MAILBOX_A MAILBOX_B [--zone ZONE] [--known docs/field-map.md]
                             [--lost-out FILE] [--survived-out FILE] [--verbose]

--zone is the mailbox's time zone (default Europe/Berlin; the ews adapter's `timezone:`): exchangelib's
TimeZoneContext, the zone of the all-day event, and the zone date-only fields are read in (as Outlook shows them).
create prints `ok`/`FAIL` per step (a refused step is reported and the rest goes on) and exits 1 if one failed.
compare prints one line per field, `same  kind:item:field` or `LOST  kind:item:field: A=… B=…`, then
`fields surviving: N of M (P %)` and the lost `kind:field` keys; it exits 1 if a field was lost that is not
listed under `## Known losses in the round trip` in --known (lines "- `kind:field` — reason"). Fields are
named as exchangelib names them, with `title` for PidTagDisplayNamePrefix, `email.<label>`, `phone.<label>`,
`address.<label>.<part>`, and for series `recurrence.pattern`, `recurrence.boundary`, `occurrence_starts`,
`deleted_occurrences`, `modified_occurrence.start|end|subject`.
"""
import argparse
import datetime
import html
import logging
import re
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

from exchangelib import (BASIC, IMPERSONATION, Account, Body, Build, CalendarItem, Configuration, Contact, Credentials,
                         EWSDate, EWSDateTime, EWSTimeZone, ExtendedProperty, HTMLBody, Task, Version)
from exchangelib.fields import MONDAY, SECOND, TUESDAY, DateTimeBackedDateField
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.recurrence import EndDatePattern, NoEndPattern, NumberedPattern, Recurrence, RelativeMonthlyPattern, \
    WeeklyPattern

BERLIN = EWSTimeZone("Europe/Berlin")
NEW_YORK = EWSTimeZone("America/New_York")
# The mailbox's zone (--zone; the ews adapter's `timezone:`): the client's TimeZoneContext, the zone of the all-day
# event, and the zone date-only fields are read and values shown in.
MAILBOX_ZONE = BERLIN
# The calendar is read in this range (all the appointments below fall in it).
VIEW_START = EWSDateTime(2026, 3, 1, 0, 0, tzinfo=BERLIN)
VIEW_END = EWSDateTime(2026, 9, 1, 0, 0, tzinfo=BERLIN)

WEEKLY = "Jour fixe Vertrieb"
MONTHLY = "Eigentümerversammlung Lindenstraße"
ALL_DAY = "Messe MIPIM (ganztägig)"
NEW_YORK_MEETING = "Call mit Investor (New York)"
PRIVATE = "Arzttermin"
OOF = "Urlaub Brückentag"
OPEN_TASK = "Exposé Lindenstraße prüfen"
DONE_TASK = "Grundbuchauszug anfordern"
MAIN_CONTACT = "Dr. Änne Luise Weiß-Großmann"


class DisplayNamePrefix(ExtendedProperty):
    """PidTagDisplayNamePrefix: the title ("Dr.") Outlook shows in the contact's full name."""
    property_tag = 0x3A45
    property_type = "String"


class DisplayNamePrefixUpper(ExtendedProperty):
    """The same property as exchange-sim echoes it when the item's writer spelled the tag 0x3A45: exchangelib
    matches the answer's PropertyTag as a string, Exchange answers in one canonical spelling (0x3a45)."""
    property_tag = "0x3A45"
    property_type = "String"


Contact.register("display_name_prefix", DisplayNamePrefix)
Contact.register("display_name_prefix_upper", DisplayNamePrefixUpper)
NOTES = set()


def note_once(text):
    if text not in NOTES:
        NOTES.add(text)
        print("note  " + text)


def title_of(contact):
    if contact.display_name_prefix is None and contact.display_name_prefix_upper is not None:
        note_once('the server answered the title (PidTagDisplayNamePrefix) as PropertyTag="0x3A45" to a request '
                  'for "0x3a45" (it echoes the writer\'s spelling; Exchange answers in one canonical form); '
                  'read under both spellings')
        return contact.display_name_prefix_upper
    return contact.display_name_prefix


def read_dates_in_mailbox_zone():
    """Date-only fields (task start/due date, birthday) as Outlook shows them: the date in the mailbox's zone
    (--zone). exchangelib takes the UTC date of a '…Z' value, which makes a task due at local midnight
    (2026-03-30T22:00:00Z) a day early."""
    original = DateTimeBackedDateField.from_xml

    def from_xml(self, elem, account):
        val = self._get_val_from_elem(elem)
        if val is not None and val.endswith("Z"):
            instant = self._datetime_field.from_xml(elem=elem, account=account)
            return instant.astimezone(MAILBOX_ZONE).date() if instant is not None else None
        return original(self, elem, account)

    DateTimeBackedDateField.from_xml = from_xml


def account_for(url, user, password, mailbox):
    config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                           version=Version(build=Build(14, 3)))
    return Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION,
                   default_timezone=MAILBOX_ZONE)


# --------------------------------------------------------------------------------------------------- create

def long_note():
    """About 100 KB of text with umlauts, ß, emoji (outside the BMP) and line breaks."""
    lines = ["Notiz zu Frau Dr. Weiß-Großmann 🏠🔑 — Eigentümerin, sehr gründlich.", ""]
    i = 0
    while sum(len(line.encode()) + 1 for line in lines) < 100_000:
        i += 1
        lines.append(f"{i:04d}: Rückruf wegen Ölheizung in Köln-Mülheim; Maß & Fuß, „Zitat“ ‚klein‘ — "
                     f"Preisvorstellung 1.250.000 € 😀👍🏽 <kein Tag> & Ähnliches; Straße Nr. {i}")
    lines.append("Ende der Notiz. ✅")
    return "\n".join(lines)


class Creator:
    def __init__(self, account):
        self.account = account
        self.failures = []

    def step(self, name, action):
        try:
            result = action()
            print(f"ok    {name}")
            return result
        except Exception as error:  # a refused step is reported; the others go on
            print(f"FAIL  {name}: {type(error).__name__}: {error}")
            self.failures.append(name)
            return None

    def contacts(self):
        a = self.account
        main = Contact(
            folder=a.contacts, account=a, display_name=MAIN_CONTACT, given_name="Änne", middle_name="Luise",
            surname="Weiß-Großmann", display_name_prefix="Dr.", company_name="Großmann & Söhne Immobilien GmbH",
            department="Vermögensverwaltung Süd", job_title="Geschäftsführerin",
            email_addresses=[
                EmailAddress(email="aenne.weiss@grossmann-immo.test", label="EmailAddress1"),
                EmailAddress(email="aenne@weiss-privat.test", label="EmailAddress2"),
                EmailAddress(email="a.grossmann@verein.test", label="EmailAddress3")],
            phone_numbers=[
                PhoneNumber(label="BusinessPhone", phone_number="+49 221 123456-0"),
                PhoneNumber(label="HomePhone", phone_number="+49 221 987654"),
                PhoneNumber(label="MobilePhone", phone_number="+49 171 5550123"),
                PhoneNumber(label="BusinessFax", phone_number="+49 221 123456-99"),
                PhoneNumber(label="OtherTelephone", phone_number="+49 89 4711")],
            physical_addresses=[
                PhysicalAddress(label="Business", street="Hohenzollernring 12", city="Köln", state="NRW",
                                country="Deutschland", zipcode="50672"),
                PhysicalAddress(label="Home", street="Am Südpark 3a", city="Bergisch Gladbach", state="NRW",
                                country="Deutschland", zipcode="51429")],
            birthday=EWSDate(1971, 2, 28), categories=["VIP", "Privat"],
            business_homepage="https://www.grossmann-immo.test/team/weiss",
            body=Body(long_note()))
        self.step("create contact " + MAIN_CONTACT, main.save)
        simple = Contact(folder=a.contacts, account=a, display_name="Erika Musterfrau", given_name="Erika",
                         surname="Musterfrau", company_name="Muster AG",
                         email_addresses=[EmailAddress(email="erika@muster.test", label="EmailAddress1")],
                         phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="+49 30 1234")])
        self.step("create contact Erika Musterfrau", simple.save)
        home = Contact(folder=a.contacts, account=a, display_name="Jörg Übel", given_name="Jörg", surname="Übel",
                       physical_addresses=[PhysicalAddress(label="Home", street="Dorfstraße 1", city="Füssen",
                                                           zipcode="87629", country="Deutschland")],
                       categories=["Privat"])
        self.step("create contact Jörg Übel", home.save)

    def calendar(self):
        a = self.account
        cal = a.calendar
        start = EWSDateTime(2026, 3, 16, 10, 0, tzinfo=BERLIN)
        weekly = CalendarItem(
            folder=cal, account=a, subject=WEEKLY, start=start, end=start + datetime.timedelta(hours=1),
            location="Büro Köln, Raum „Dom“", body="Agenda: Pipeline, Exposés, Sonstiges 😀",
            categories=["Vertrieb"], reminder_is_set=True, reminder_minutes_before_start=15,
            recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[MONDAY], first_day_of_week=MONDAY),
                                  start=start.date(), number=6))
        if self.step("create weekly series across the DST change (6 Mondays from 2026-03-16)", weekly.save):
            pass
        if weekly.id:
            def occurrences():
                return sorted((o for o in cal.view(start=VIEW_START, end=VIEW_END) if o.subject.startswith(WEEKLY)),
                              key=lambda o: o.start)
            found = occurrences()
            if len(found) != 6:
                print(f"FAIL  the weekly series has 6 occurrences in the view: {[str(o.start) for o in found]}")
                self.failures.append("weekly view")
            else:
                moved, renamed, deleted = found[2], found[3], found[4]   # 2026-03-30 (after DST), 04-06, 04-13

                def move():
                    moved.start += datetime.timedelta(hours=2)
                    moved.end += datetime.timedelta(hours=2)
                    with RequestCapture() as capture:
                        try:
                            moved.save(update_fields=["start", "end"])
                        except Exception:
                            if capture.request:
                                print("      request: " + squeeze(capture.request, 1500))
                            if capture.response:
                                print("      response: " + squeeze(capture.response, 800))
                            raise
                self.step("move the occurrence of 2026-03-30 by +2 h (start, end)", move)

                def rename():
                    renamed.subject = WEEKLY + " (mit Geschäftsführung)"
                    renamed.save(update_fields=["subject"])
                self.step("rename the occurrence of 2026-04-06", rename)
                self.step("delete the occurrence of 2026-04-13", deleted.delete)

                def check_series():
                    master = cal.get(id=weekly.id)
                    modified = sorted((o.original_start, o.start) for o in master.modified_occurrences or [])
                    deleted_starts = [d.start for d in master.deleted_occurrences or []]
                    starts = [str(o.start.astimezone(BERLIN))[:16] for o in occurrences()]
                    assert len(modified) == 2 and len(deleted_starts) == 1, \
                        f"modified {modified}, deleted {deleted_starts}"
                    assert "2026-03-30 12:00" in starts and "2026-04-13 10:00" not in starts, starts
                self.step("the series in A shows the moved, renamed and deleted occurrences", check_series)

        start = EWSDateTime(2026, 3, 10, 18, 30, tzinfo=BERLIN)
        monthly = CalendarItem(
            folder=cal, account=a, subject=MONTHLY, start=start, end=start + datetime.timedelta(minutes=90),
            location="Gemeindesaal, Lindenstraße 7", reminder_is_set=True, reminder_minutes_before_start=60,
            recurrence=Recurrence(pattern=RelativeMonthlyPattern(interval=1, weekday=TUESDAY, week_number=SECOND),
                                  start=start.date(), end=EWSDate(2026, 8, 31)))
        self.step("create relative-monthly series (second Tuesday, until 2026-08-31)", monthly.save)

        # All-day: the dates are midnights in the mailbox's zone (exchangelib uses the account's default zone).
        all_day = CalendarItem(folder=cal, account=a, subject=ALL_DAY, start=EWSDate(2026, 3, 27),
                               end=EWSDate(2026, 3, 31), is_all_day=True, location="Cannes",
                               legacy_free_busy_status="Free", categories=["Messe"])
        self.step("create all-day event 2026-03-27..2026-03-31 (across the DST change)", all_day.save)

        start = EWSDateTime(2026, 3, 20, 9, 0, tzinfo=NEW_YORK)   # US already on DST, Europe not yet
        new_york = CalendarItem(folder=cal, account=a, subject=NEW_YORK_MEETING, start=start,
                                end=start + datetime.timedelta(minutes=45), location="Zoom",
                                body="Einwahl: https://zoom.test/j/123 — Passwort „Fünf“",
                                reminder_is_set=True, reminder_minutes_before_start=15)
        self.step("create appointment in America/New_York", new_york.save)

        start = EWSDateTime(2026, 4, 14, 8, 15, tzinfo=BERLIN)
        private = CalendarItem(folder=cal, account=a, subject=PRIVATE, start=start,
                               end=start + datetime.timedelta(minutes=30), sensitivity="Private",
                               categories=["Privat"], reminder_is_set=True, reminder_minutes_before_start=60)
        self.step("create private appointment", private.save)

        start = EWSDateTime(2026, 5, 15, 0, 0, tzinfo=BERLIN)
        oof = CalendarItem(folder=cal, account=a, subject=OOF, start=start,
                           end=start + datetime.timedelta(days=1), is_all_day=False,
                           legacy_free_busy_status="OOF", body="Vertretung: Herr Öztürk")
        self.step("create out-of-office appointment", oof.save)

    def tasks(self):
        a = self.account
        open_task = Task(folder=a.tasks, account=a, subject=OPEN_TASK, body="Grundriss und Energieausweis prüfen ⚡",
                         start_date=EWSDate(2026, 3, 16), due_date=EWSDate(2026, 3, 31), status="InProgress",
                         percent_complete=Decimal(40), importance="High", reminder_is_set=True,
                         reminder_due_by=EWSDateTime(2026, 3, 30, 9, 0, tzinfo=BERLIN), categories=["VIP"])
        self.step("create task in progress (40 %, high, reminder)", open_task.save)
        done = Task(folder=a.tasks, account=a, subject=DONE_TASK, body="beim Amtsgericht Köln",
                    start_date=EWSDate(2026, 3, 2), due_date=EWSDate(2026, 3, 6), status="Completed",
                    percent_complete=Decimal(100))
        self.step("create completed task", done.save)
        stored = self.step("read the completed task back", lambda: a.tasks.get(id=done.id)) if done.id else None
        if stored is not None and stored.complete_date is None:
            # exchangelib treats CompleteDate as read-only (Exchange sets it when the status becomes Completed).
            print("note  the server left the completed task's complete_date empty (Exchange sets it on completion)")


class RequestCapture(logging.Handler):
    """Keeps the last request and response exchangelib logs (exchangelib.util.xml at DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.request = None
        self.response = None
        self.logger = logging.getLogger("exchangelib.util.xml")

    def emit(self, record):
        values = record.args if isinstance(record.args, dict) else {}
        for key, attr in (("xml_request", "request"), ("xml_response", "response")):
            value = values.get(key)
            if value:
                setattr(self, attr, value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))

    def __enter__(self):
        self.old = (self.logger.level, self.logger.propagate)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.old[0])
        self.logger.propagate = self.old[1]
        return False


def squeeze(text, limit):
    text = re.sub(r">\s+<", "><", str(text)).strip()
    return text if len(text) <= limit else text[:limit] + f"…({len(text)} chars)"


def create(args):
    creator = Creator(account_for(args.url, args.user, args.password, args.mailbox_a))
    creator.contacts()
    creator.calendar()
    creator.tasks()
    if creator.failures:
        print(f"{len(creator.failures)} creation step(s) failed: {', '.join(creator.failures)}")
    return 1 if creator.failures else 0


# -------------------------------------------------------------------------------------------------- compare

def html_to_text(text):
    text = re.sub(r"(?is)<(script|style|head).*?</\1>", "", text)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def norm(value):
    """The comparable form of a value: empty is None, text without CR and trailing space, instants as UTC."""
    if value is None:
        return None
    if isinstance(value, HTMLBody):
        value = html_to_text(str(value))
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n").rstrip()
        return value or None
    if isinstance(value, datetime.datetime):
        return value.timestamp() if value.tzinfo else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, EWSTimeZone):
        return value.key
    if isinstance(value, (list, tuple, set)):
        return tuple(sorted(norm(v) for v in value)) or None
    return value


def show(value, limit=70):
    if value is None:
        return "—"
    if isinstance(value, datetime.datetime):
        if value.tzinfo:
            local = datetime.datetime.fromtimestamp(value.timestamp(), tz=ZoneInfo(MAILBOX_ZONE.key))
            return local.strftime("%Y-%m-%d %H:%M%z")
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, EWSTimeZone):
        return value.key
    if isinstance(value, (list, tuple, set)):
        return "[" + ", ".join(show(v, limit) for v in value) + "]"
    if isinstance(value, HTMLBody):
        value = "html:" + str(value)
    text = str(value).replace("\r", "\\r").replace("\n", "\\n")
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"…({len(text)} chars)"


def show_text_difference(a, b):
    """For long texts: where they first differ."""
    a, b = norm(a) or "", norm(b) or ""
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    around = lambda t: repr(t[max(0, i - 15):i + 25])
    return f"A={len(a)} chars B={len(b)} chars, first difference at {i}: A…{around(a)} B…{around(b)}"


class Comparison:
    def __init__(self, verbose=False):
        self.verbose = verbose
        self.total = 0
        self.same = 0
        self.lost = {}        # kind:field → number of losses
        self.survived = set()  # kind:field that survived at least once

    def field(self, kind, item, field, a, b, equal=None):
        key = f"{kind}:{field}"
        self.total += 1
        ok = equal(a, b) if equal else norm(a) == norm(b)
        label = f"{kind}:{item}:{field}"
        if ok:
            self.same += 1
            self.survived.add(key)
            print(f"same  {label}" + (f": {show(a)}" if self.verbose else ""))
            return
        self.lost[key] = self.lost.get(key, 0) + 1
        if isinstance(a, str) and isinstance(b, (str, type(None))) and len(a) > 70 or \
                isinstance(a, (Body, HTMLBody)) and len(a) > 70:
            print(f"LOST  {label}: {show_text_difference(a, b)}")
        else:
            print(f"LOST  {label}: A={show(a)} B={show(b)}")

    def missing(self, kind, item, fields):
        for name, value in fields:
            self.field(kind, item, name, value, "<missing in B>", equal=lambda x, y: False)


def by_label(entries, attr="label"):
    return {getattr(e, attr): e for e in entries or []}


def addresses_by_label(entries):
    """Physical addresses by label. exchange-sim answers GetItem's per-part IndexedFieldURIs with one
    <Entry Key="Home"> per part where Exchange sends one Entry per key: the parts are merged here (and noted)."""
    merged, counts = {}, {}
    for entry in entries or []:
        counts[entry.label] = counts.get(entry.label, 0) + 1
        target = merged.setdefault(entry.label, PhysicalAddress(label=entry.label))
        for part in ("street", "city", "state", "country", "zipcode"):
            if getattr(entry, part) and not getattr(target, part):
                setattr(target, part, getattr(entry, part))
    if any(count > 1 for count in counts.values()):
        note_once("the server sent a PhysicalAddresses <Entry> per address part (several with the same Key; "
                  "Exchange sends one per key); merged by Key")
    return merged


def match(items, wanted, key):
    """The B item for A's: the same key, else one whose key starts the other's (shortened) one."""
    exact = [i for i in items if key(i) == wanted]
    if exact:
        return exact[0]
    if wanted:
        loose = [i for i in items if key(i) and (wanted.startswith(key(i)) or key(i).startswith(wanted))]
        if loose:
            return loose[0]
    return None


def contact_fields(c):
    fields = [
        ("display_name", c.display_name), ("given_name", c.given_name), ("middle_name", c.middle_name),
        ("surname", c.surname), ("title", title_of(c)), ("company_name", c.company_name),
        ("department", c.department), ("job_title", c.job_title)]
    emails = by_label(c.email_addresses)
    for label in sorted(emails):
        fields.append((f"email.{label}", emails[label].email))
    phones = by_label(c.phone_numbers)
    for label in sorted(phones):
        fields.append((f"phone.{label}", phones[label].phone_number))
    addresses = addresses_by_label(c.physical_addresses)
    for label in sorted(addresses):
        for part in ("street", "city", "state", "country", "zipcode"):
            if getattr(addresses[label], part):
                fields.append((f"address.{label}.{part}", getattr(addresses[label], part)))
    fields += [("birthday", c.birthday), ("business_homepage", c.business_homepage), ("body", c.body),
               ("categories", c.categories)]
    return fields


def compare_contacts(cmp, a_account, b_account):
    a_items = list(a_account.contacts.all())
    b_items = list(b_account.contacts.all())
    for a in sorted(a_items, key=lambda c: c.display_name or ""):
        b = match(b_items, a.display_name, lambda c: c.display_name) or \
            match(b_items, (a.given_name, a.surname), lambda c: (c.given_name, c.surname))
        name = a.display_name
        if b is None:
            cmp.missing("contact", name, contact_fields(a))
            continue
        b_emails, b_phones, b_addresses = by_label(b.email_addresses), by_label(b.phone_numbers), \
            addresses_by_label(b.physical_addresses)
        for field, value in contact_fields(a):
            if field.startswith("email."):
                other = getattr(b_emails.get(field[6:]), "email", None)
            elif field.startswith("phone."):
                other = getattr(b_phones.get(field[6:]), "phone_number", None)
            elif field.startswith("address."):
                _, label, part = field.split(".")
                other = getattr(b_addresses.get(label), part, None)
            else:
                other = dict(contact_fields(b)).get(field)
            cmp.field("contact", name, field, value, other)
        # What B has that A has not (a phone under another label, say) is a change too.
        a_keys = {f for f, _ in contact_fields(a)}
        for field, value in contact_fields(b):
            if field not in a_keys and norm(value) is not None:
                cmp.field("contact", name, field, None, value)


def start_zone(item):
    return item._start_timezone


def end_zone(item):
    return item._end_timezone


def describe_pattern(recurrence):
    if recurrence is None:
        return None
    p = recurrence.pattern
    parts = [type(p).__name__] + [f"{f.name}={getattr(p, f.name)}" for f in p.FIELDS if getattr(p, f.name) is not None]
    return " ".join(parts)


def describe_boundary(recurrence):
    if recurrence is None:
        return None
    b = recurrence.boundary
    if isinstance(b, NumberedPattern):
        return f"start={b.start} number={b.number}"
    if isinstance(b, EndDatePattern):
        return f"start={b.start} end={b.end}"
    if isinstance(b, NoEndPattern):
        return f"start={b.start} no end"
    return str(b)


def calendar_fields(item):
    fields = [("subject", item.subject), ("start", item.start), ("end", item.end),
              ("start_timezone", start_zone(item)), ("end_timezone", end_zone(item)), ("is_all_day", item.is_all_day),
              ("location", item.location), ("body", item.body), ("sensitivity", item.sensitivity),
              ("legacy_free_busy_status", item.legacy_free_busy_status), ("reminder_is_set", item.reminder_is_set)]
    if item.reminder_is_set:
        fields.append(("reminder_minutes_before_start", item.reminder_minutes_before_start))
    fields.append(("categories", item.categories))
    return fields


def series_details(account, master):
    """A series' modified occurrences (start, end, subject by original start) and its deleted ones."""
    modified = {}
    ids = [o._id for o in master.modified_occurrences or []]
    if ids:
        for occurrence, fetched in zip(master.modified_occurrences, account.fetch(ids=ids)):
            if isinstance(fetched, Exception):
                modified[occurrence.original_start] = (occurrence.start, occurrence.end, f"<{fetched}>")
            else:
                modified[occurrence.original_start] = (fetched.start, fetched.end, fetched.subject)
    deleted = sorted((d.start for d in master.deleted_occurrences or []), key=norm)
    return modified, deleted


def occurrence_starts(view, master, modified):
    """The starts of the series' occurrences in the calendar view (its occurrences carry its subject, the
    modified ones are known by their starts)."""
    exception_starts = {norm(v[0]) for v in modified.values()}
    return sorted((o.start for o in view
                   if (o.type == "Occurrence" and o.subject == master.subject) or
                   (o.type == "Exception" and norm(o.start) in exception_starts)), key=norm)


def compare_calendar(cmp, a_account, b_account):
    a_items = list(a_account.calendar.all())
    b_items = list(b_account.calendar.all())
    a_view = list(a_account.calendar.view(start=VIEW_START, end=VIEW_END))
    b_view = list(b_account.calendar.view(start=VIEW_START, end=VIEW_END))
    for a in sorted(a_items, key=lambda i: i.subject or ""):
        if a.type == "Occurrence":
            continue
        b = match([i for i in b_items if i.type != "Occurrence"], a.subject, lambda i: i.subject)
        name = a.subject
        fields = calendar_fields(a)
        if a.recurrence is not None:
            fields += [("recurrence.pattern", describe_pattern(a.recurrence)),
                       ("recurrence.boundary", describe_boundary(a.recurrence))]
        if b is None:
            cmp.missing("calendar", name, fields)
            continue
        b_fields = dict(calendar_fields(b))
        b_fields.update({"recurrence.pattern": describe_pattern(b.recurrence),
                         "recurrence.boundary": describe_boundary(b.recurrence)})
        for field, value in fields:
            cmp.field("calendar", name, field, value, b_fields.get(field))
        if a.type != "RecurringMaster":
            continue
        a_modified, a_deleted = series_details(a_account, a)
        b_modified, b_deleted = series_details(b_account, b) if b.type == "RecurringMaster" else ({}, [])
        cmp.field("calendar", name, "occurrence_starts", occurrence_starts(a_view, a, a_modified),
                  occurrence_starts(b_view, b, b_modified) if b.type == "RecurringMaster" else [])
        cmp.field("calendar", name, "deleted_occurrences", a_deleted, b_deleted)
        b_by_original = {norm(k): v for k, v in b_modified.items()}
        for original, (start, end, subject) in sorted(a_modified.items(), key=lambda kv: norm(kv[0])):
            other = b_by_original.pop(norm(original), (None, None, "<not modified in B>"))
            label = f"{name}@{show(original)[:10]}"
            cmp.field("calendar", label, "modified_occurrence.start", start, other[0])
            cmp.field("calendar", label, "modified_occurrence.end", end, other[1])
            cmp.field("calendar", label, "modified_occurrence.subject", subject, other[2])
        for original, (start, end, subject) in b_by_original.items():
            cmp.field("calendar", f"{name}@{original}", "modified_occurrence.extra_in_B", None,
                      f"{show(start)} {subject}")


def task_fields(t):
    fields = [("subject", t.subject), ("body", t.body), ("start_date", t.start_date), ("due_date", t.due_date),
              ("status", t.status), ("percent_complete", t.percent_complete), ("complete_date", t.complete_date),
              ("importance", t.importance), ("reminder_is_set", t.reminder_is_set)]
    if t.reminder_is_set:
        fields.append(("reminder_due_by", t.reminder_due_by))
    fields.append(("categories", t.categories))
    return fields


def compare_tasks(cmp, a_account, b_account):
    a_items = list(a_account.tasks.all())
    b_items = list(b_account.tasks.all())
    for a in sorted(a_items, key=lambda t: t.subject or ""):
        b = match(b_items, a.subject, lambda t: t.subject)
        if b is None:
            cmp.missing("task", a.subject, task_fields(a))
            continue
        b_fields = dict(task_fields(b))
        for field, value in task_fields(a):
            cmp.field("task", a.subject, field, value, b_fields.get(field))


def known_losses(path):
    """`kind:field` keys listed under '## Known losses in the round trip' in docs/field-map.md."""
    if not path:
        return set()
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        return set()
    keys, inside = set(), False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.strip().lower() == "## known losses in the round trip"
            continue
        found = re.match(r"\s*[-*]\s+`((?:contact|calendar|task):[^`]+)`", line) if inside else None
        if found:
            keys.add(found.group(1))
    return keys


def compare(args):
    a_account = account_for(args.url, args.user, args.password, args.mailbox_a)
    b_account = account_for(args.url, args.user, args.password, args.mailbox_b)
    read_dates_in_mailbox_zone()
    cmp = Comparison(verbose=args.verbose)
    compare_contacts(cmp, a_account, b_account)
    compare_calendar(cmp, a_account, b_account)
    compare_tasks(cmp, a_account, b_account)
    percent = 100.0 * cmp.same / cmp.total if cmp.total else 0.0
    print(f"fields surviving: {cmp.same} of {cmp.total} ({percent:.1f} %)")
    known = known_losses(args.known)
    unlisted = sorted(k for k in cmp.lost if k not in known)
    for key in sorted(known):
        if key not in cmp.lost and key in cmp.survived:
            print(f"note  listed but survived: {key}")
        elif key not in cmp.lost:
            print(f"note  listed but not compared (no field of that name here): {key}")
    print("lost fields (kind:field): " + (", ".join(sorted(cmp.lost)) if cmp.lost else "none"))
    if unlisted:
        print(f"not listed as known losses in {args.known or '(no list)'}: {', '.join(unlisted)}")
    if args.lost_out:
        with open(args.lost_out, "w", encoding="utf-8") as out:
            out.write("".join(f"{k}\n" for k in sorted(cmp.lost)))
    if args.survived_out:
        with open(args.survived_out, "w", encoding="utf-8") as out:
            out.write("".join(f"{k}\n" for k in sorted(cmp.survived - set(cmp.lost))))
    return 1 if unlisted else 0


def main():
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("exchangelib").setLevel(logging.CRITICAL)   # its own warnings (cleaned values) are noise here
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("create", "compare"):
        p = sub.add_parser(name)
        p.add_argument("url")
        p.add_argument("user")
        p.add_argument("password")
        p.add_argument("mailbox_a")
        p.add_argument("--zone", default="Europe/Berlin",
                       help="the mailbox's time zone (the ews adapter's timezone:), default Europe/Berlin")
        if name == "compare":
            p.add_argument("mailbox_b")
            p.add_argument("--known", help="docs/field-map.md: its '## Known losses in the round trip' section")
            p.add_argument("--lost-out", help="write the lost kind:field keys here")
            p.add_argument("--survived-out", help="write the kind:field keys that always survived here")
            p.add_argument("--verbose", action="store_true", help="print the value of the fields that survived too")
    args = parser.parse_args()
    global MAILBOX_ZONE
    MAILBOX_ZONE = EWSTimeZone(args.zone)
    sys.exit(create(args) if args.command == "create" else compare(args))


if __name__ == "__main__":
    main()
