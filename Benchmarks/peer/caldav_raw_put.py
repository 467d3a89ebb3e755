#!/usr/bin/env python3
"""Radicale's own pace: a minimal CalDAV/CardDAV client that PUTs items, nothing else.

Used by Benchmarks/caldav-bench. It takes the items connector-host wrote in its initial sync,
straight from the first Radicale's storage folder (collection-root/<user>/<collection>/<name>), and
PUTs the same bodies under the same names, with If-None-Match: *, into the same, empty collections
of a second Radicale. So both fill collections of the same sizes with the same content, and the
ratio "our sync / raw PUT pace" measures the client, not the data.

Each collection is one unit of work. With --parallel N, N threads each take a collection at a time
(as connector-host runs a few jobs at once, each job one user's collection); --parallel 1 is
strictly sequential. One http.client connection per thread (Radicale closes it after each answer;
http.client opens the next one).

    caldav_raw_put.py URL SOURCE_FOLDER PASSWORD PARALLEL [USER ...]

The last line printed is JSON: items, seconds, itemsPerSecond, parallel, statuses, connectionErrors
(a PUT whose connection dropped is sent again, on a new connection). Exits 1 when an item was not
created.
"""

import base64
import http.client
import json
import os
import queue
import sys
import threading
import time
import urllib.parse


def units(source, users):
    """(user, collection, [(name, body, content type)]) per collection, in a stable order."""
    result = []
    for user in users:
        home = os.path.join(source, user)
        for collection in sorted(os.listdir(home)):
            folder = os.path.join(home, collection)
            if collection.startswith(".") or not os.path.isdir(folder):
                continue
            items = []
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if name.startswith(".") or not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    body = handle.read()
                kind = "text/vcard" if name.endswith(".vcf") else "text/calendar"
                items.append((name, body, kind))
            result.append((user, collection, items))
    return result


def main():
    url, source, password, parallel = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    users = sys.argv[5:]
    parsed = urllib.parse.urlsplit(url)
    work = queue.Queue()
    total = 0
    for unit in units(source, users):
        total += len(unit[2])
        work.put(unit)
    statuses = {}
    errors = []
    lock = threading.Lock()

    def worker():
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
        while True:
            try:
                user, collection, items = work.get_nowait()
            except queue.Empty:
                break
            auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            for name, body, kind in items:
                path = f"/{urllib.parse.quote(user)}/{urllib.parse.quote(collection)}/{urllib.parse.quote(name)}"
                headers = {
                    "Authorization": auth,
                    "Content-Type": f"{kind}; charset=utf-8",
                    "If-None-Match": "*",
                    "User-Agent": "caldav_raw_put.py",
                }
                status = "failed"
                for attempt in range(3):
                    try:
                        connection.request("PUT", path, body, headers)
                        response = connection.getresponse()
                        response.read()
                        status = str(response.status)
                        break
                    except (OSError, http.client.HTTPException) as error:
                        # A dropped connection: a new one, and the PUT again (412 if it got through).
                        connection.close()
                        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
                        with lock:
                            errors.append(f"PUT {path}: {error!r}")
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, parallel))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - start
    print(
        json.dumps(
            {
                "items": total,
                "seconds": seconds,
                "itemsPerSecond": total / seconds if seconds > 0 else 0,
                "parallel": parallel,
                "statuses": statuses,
                "connectionErrors": len(errors),
            }
        )
    )
    for error in errors[:5]:
        print(error, file=sys.stderr)
    # Every item must have been created (201; 412 only after a retried PUT that had got through).
    if statuses.get("201", 0) + statuses.get("412", 0) != total or (statuses.get("412", 0) and not errors):
        sys.exit(1)


if __name__ == "__main__":
    main()
