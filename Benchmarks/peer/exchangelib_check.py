#!/usr/bin/env python3
"""exchange-sim checked by an independent client: Python's exchangelib does what Outlook-side
software does with mails and attachments, folders, contacts, a recurring series (as a calendar
view too) and a task, and reads back what the simulator stored.

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
