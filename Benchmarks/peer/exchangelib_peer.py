#!/usr/bin/env python3
"""The peer of the sync benchmark: Python's exchangelib creating the same contacts in the same
simulator with its bulk operations, so items/s of both clients are measured on one machine.

usage: exchangelib_peer.py URL USER PASSWORD MAILBOX COUNT CONCURRENCY [BATCH] [--auth basic|ntlm]
prints one JSON line: {"client": "exchangelib", "items": N, "seconds": S, "itemsPerSecond": R, ...}
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from exchangelib import (BASIC, DELEGATE, IMPERSONATION, NTLM, Account, Build, Configuration, Contact,
                         Credentials, Version)
from exchangelib.indexed_properties import EmailAddress, PhoneNumber
from exchangelib.protocol import BaseProtocol


def main():
    url, user, password, mailbox, count, concurrency = sys.argv[1:7]
    count, concurrency = int(count), int(concurrency)
    auth = NTLM if "--auth" in sys.argv and sys.argv[sys.argv.index("--auth") + 1] == "ntlm" else BASIC
    config = Configuration(
        service_endpoint=url, credentials=Credentials(user, password), auth_type=auth,
        version=Version(build=Build(14, 3)), max_connections=concurrency)
    account = Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)
    folder = account.contacts
    items = [
        Contact(folder=folder, account=account, display_name=f"Peer{i} Müller", given_name=f"Peer{i}", surname="Müller",
                company_name="Glück & Söhne",
                job_title="Makler", email_addresses=[EmailAddress(email=f"peer{i}@example.test", label="EmailAddress1")],
                phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number=f"+49 30 {100000 + i}")],
                body=f"Notiz {i} – Straße")
        for i in range(count)
    ]
    chunk = int(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[7].isdigit() else 100
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda part: account.bulk_create(folder=folder, items=part, chunk_size=chunk), chunks))
    seconds = time.perf_counter() - started
    created = sum(1 for part in results for r in part if not isinstance(r, Exception))
    errors = [str(r) for part in results for r in part if isinstance(r, Exception)][:3]
    print(json.dumps({"client": "exchangelib", "items": created, "seconds": seconds,
                      "itemsPerSecond": created / seconds if seconds else 0, "concurrency": concurrency, "errors": errors}))


if __name__ == "__main__":
    main()
