#!/usr/bin/env python3
"""exchange-sim checked by an independent client: Python's exchangelib does what Outlook-side
software does with mails and attachments, folders, contacts, recurring series (as a calendar
view too, with occurrences moved, renamed and deleted across a DST change) and a task, and reads
back what the simulator stored.

usage: exchangelib_check.py URL USER PASSWORD MAILBOX
prints one line per check and exits 1 if any failed.
"""
import base64
import datetime
import sys
from decimal import Decimal

from exchangelib import (BASIC, IMPERSONATION, Account, Build, CalendarItem, Configuration, Contact, Credentials,
                         EWSDateTime, EWSTimeZone, FileAttachment, HTMLBody, ItemAttachment, Mailbox, Message, Task,
                         Version)
from exchangelib.indexed_properties import EmailAddress
from exchangelib.recurrence import Recurrence, WeeklyPattern

failures = []


def check(name, condition, detail=""):
    print(("ok    " if condition else "FAIL  ") + name + ("" if condition else f": {detail}"))
    if not condition:
        failures.append(name)


def main():
    url, user, password, mailbox = sys.argv[1:5]
    config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                           version=Version(build=Build(14, 3)))
    account = Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)

    pdf = bytes((i * 7919 >> 3) & 0xFF for i in range(40_000))
    forwarded = Message(subject="Besichtigung Lindenstraße", body=HTMLBody("<p>Grüße, Jörg</p>"),
                        author=Mailbox(name="Jörg Kunde", email_address="joerg@kunde.test"),
                        to_recipients=[Mailbox(email_address=mailbox)])
    mail = Message(account=account, folder=account.inbox, subject="WG: Besichtigung", body="Siehe Anhang.")
    mail.attach(FileAttachment(name="Grundriss.pdf", content_type="application/pdf", content=pdf))
    mail.attach(ItemAttachment(name="Besichtigung Lindenstraße", item=forwarded))
    mail.save()
    check("a message with a file and an item attachment is saved", mail.id is not None)

    stored = account.inbox.get(id=mail.id)
    names = sorted(a.name for a in stored.attachments)
    check("GetItem lists both attachments", names == ["Besichtigung Lindenstraße", "Grundriss.pdf"], names)
    check("HasAttachments is set", stored.has_attachments is True, stored.has_attachments)
    for attachment in stored.attachments:
        if isinstance(attachment, FileAttachment):
            check("the file's bytes come back", attachment.content == pdf, len(attachment.content or b""))
        elif isinstance(attachment, ItemAttachment):
            item = attachment.item
            check("the attached item's subject comes back", item.subject == "Besichtigung Lindenstraße",
                  item.subject)
            check("the attached item's sender comes back",
                  item.author is not None and item.author.email_address == "joerg@kunde.test", item.author)
            check("the attached item's HTML body comes back", "Grüße, Jörg" in str(item.body), item.body)
            mime = item.mime_content or b""
            if isinstance(mime, str):
                mime = mime.encode()
            encoded = base64.b64encode("Besichtigung Lindenstraße".encode()).decode()
            check("the attached item's MIME form has its subject", encoded.encode() in mime, mime[:200])
        else:
            check("no other attachment kinds", False, type(attachment).__name__)

    # An attachment added to the saved message, then removed again.
    extra = FileAttachment(name="Notiz.txt", content=b"Notiz")
    stored.attach(extra)
    again = account.inbox.get(id=mail.id)
    check("an attachment added later is listed", "Notiz.txt" in [a.name for a in again.attachments])
    stored.detach(extra)
    again = account.inbox.get(id=mail.id)
    check("a detached attachment is gone", "Notiz.txt" not in [a.name for a in again.attachments])

    mail.delete()

    # Folders: the standard folders under the top of the store, with their counts.
    names = [f.name for f in account.msg_folder_root.children]
    check("the mail folders are listed", {"Posteingang", "Kalender", "Kontakte", "Aufgaben"} <= set(names), names)
    unread = Message(account=account, folder=account.inbox, subject="Ungelesen", is_read=False)
    unread.save()
    account.inbox.refresh()
    check("the Inbox counts its unread mail", account.inbox.unread_count == 1, account.inbox.unread_count)
    unread.delete()

    # A contact: created, changed, read back; SyncFolderItems reports it and then its deletion.
    list(account.contacts.sync_items())
    contact = Contact(folder=account.contacts, account=account, given_name="Erika", surname="Muster",
                      display_name="Erika Muster",
                      email_addresses=[EmailAddress(email="erika@kunde.test", label="EmailAddress1")])
    contact.save()
    contact.surname = "Musterfrau"
    contact.save(update_fields=["surname"])
    stored = account.contacts.get(id=contact.id)
    check("a contact's change is stored", stored.surname == "Musterfrau", stored.surname)
    check("a contact's e-mail address is stored",
          [e.email for e in stored.email_addresses or []] == ["erika@kunde.test"], stored.email_addresses)
    created = [change for change, _ in account.contacts.sync_items()]
    check("SyncFolderItems reports the new contact", created == ["create"], created)
    contact.delete()
    deleted = [change for change, _ in account.contacts.sync_items()]
    check("SyncFolderItems reports its deletion", deleted == ["delete"], deleted)

    # A weekly series and a task, read back.
    start = EWSDateTime(2026, 12, 1, 10, 0, tzinfo=EWSTimeZone("Europe/Berlin"))
    series = CalendarItem(folder=account.calendar, account=account, subject="Jour fixe", start=start,
                          end=start + datetime.timedelta(hours=1),
                          recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[2]), start=start.date(),
                                                number=5))
    series.save()
    stored = account.calendar.get(id=series.id)
    check("a series keeps its recurrence", stored.recurrence is not None and stored.recurrence.boundary.number == 5,
          stored.recurrence)
    check("a series keeps its start", stored.start == start, stored.start)
    # The calendar as a view: the series expanded into its occurrences, which can be changed and deleted.
    def view():
        return [o for o in account.calendar.view(start=start, end=start + datetime.timedelta(days=40))
                if o.subject.startswith("Jour fixe")]
    occurrences = view()
    check("CalendarView expands the series", [o.start.date().isoformat() for o in occurrences] ==
          ["2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22", "2026-12-29"], [o.start for o in occurrences])
    check("occurrences are typed so", {o.type for o in occurrences} == {"Occurrence"}, {o.type for o in occurrences})
    moved = occurrences[1]
    moved.subject = "Jour fixe (verschoben)"
    moved.save(update_fields=["subject"])
    occurrences[2].delete()
    after = view()
    check("a changed occurrence is an exception in the view",
          [(o.subject, o.type) for o in after][1] == ("Jour fixe (verschoben)", "Exception"),
          [(o.subject, o.type) for o in after])
    check("a deleted occurrence leaves the view", len(after) == 4, len(after))
    # Across the DST change (29 March 2026): a weekly series at 10:00 Berlin time. One occurrence moved
    # by two hours (exchangelib sends StartTimeZone/EndTimeZone with it), one renamed, one deleted.
    berlin = EWSTimeZone("Europe/Berlin")
    spring = EWSDateTime(2026, 3, 16, 10, 0, tzinfo=berlin)
    series = CalendarItem(folder=account.calendar, account=account, subject="Teamrunde", start=spring,
                          end=spring + datetime.timedelta(hours=1),
                          recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1]), start=spring.date(),
                                                number=5))
    series.save()

    def spring_view():
        return [o for o in account.calendar.view(start=spring - datetime.timedelta(days=1),
                                                  end=spring + datetime.timedelta(days=35))
                if o.subject.startswith("Teamrunde")]

    def local(o):
        return o.start.astimezone(berlin).strftime("%Y-%m-%d %H:%M")

    occurrences = spring_view()
    check("the series is at 10:00 Berlin on both sides of the DST change",
          [local(o) for o in occurrences] == ["2026-03-16 10:00", "2026-03-23 10:00", "2026-03-30 10:00",
                                              "2026-04-06 10:00", "2026-04-13 10:00"],
          [local(o) for o in occurrences])
    renamed, moved, deleted = occurrences[1], occurrences[2], occurrences[3]
    moved.start += datetime.timedelta(hours=2)
    moved.end += datetime.timedelta(hours=2)
    try:
        moved.save(update_fields=["start", "end"])
        check("an occurrence is moved (start, end and their time zones)", True)
    except Exception as error:  # the simulator refusing it is a failed check, not a crash
        check("an occurrence is moved (start, end and their time zones)", False, repr(error))
    renamed.subject = "Teamrunde (Kunde)"
    renamed.save(update_fields=["subject"])
    deleted.delete()
    after = spring_view()
    check("the view has the series less the deleted occurrence", len(after) == 4, [local(o) for o in after])
    by_original = {o.original_start.astimezone(berlin).strftime("%Y-%m-%d %H:%M") if o.original_start else local(o): o
                   for o in after}
    got = by_original.get("2026-03-30 10:00")
    check("the moved occurrence is at its new time",
          got is not None and (local(got), got.type) == ("2026-03-30 12:00", "Exception"),
          got and (local(got), got.type))
    got = by_original.get("2026-03-23 10:00")
    check("the renamed occurrence is at its own time with its new subject",
          got is not None and (local(got), got.subject, got.type) == ("2026-03-23 10:00", "Teamrunde (Kunde)",
                                                                      "Exception"),
          got and (local(got), got.subject, got.type))
    check("the other occurrences keep 10:00 Berlin across the DST change",
          [(local(o), o.type) for o in after if o.type == "Occurrence"] ==
          [("2026-03-16 10:00", "Occurrence"), ("2026-04-13 10:00", "Occurrence")],
          [(local(o), o.type) for o in after])
    check("the deleted occurrence is gone from the view",
          "2026-04-06 10:00" not in [local(o) for o in after], [local(o) for o in after])
    if got is not None:
        fetched = account.calendar.get(id=got.id)
        check("GetItem of the renamed occurrence gives its own start and original start",
              (local(fetched), fetched.original_start.astimezone(berlin).strftime("%Y-%m-%d %H:%M"),
               fetched.subject) == ("2026-03-23 10:00", "2026-03-23 10:00", "Teamrunde (Kunde)"),
              (fetched.start, fetched.original_start, fetched.subject))
    master = account.calendar.get(id=series.id)
    check("the master lists two modified and one deleted occurrence",
          (len(master.modified_occurrences or []), len(master.deleted_occurrences or [])) == (2, 1),
          (master.modified_occurrences, master.deleted_occurrences))

    task = Task(folder=account.tasks, account=account, subject="Rückruf", due_date=datetime.date(2026, 12, 3),
                status="InProgress", percent_complete=Decimal(50))
    task.save()
    stored = account.tasks.get(id=task.id)
    check("a task keeps status, percent and due date",
          (stored.status, stored.percent_complete, str(stored.due_date)) == ("InProgress", Decimal(50), "2026-12-03"),
          (stored.status, stored.percent_complete, stored.due_date))
    print(f"{len(failures)} of the checks failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
