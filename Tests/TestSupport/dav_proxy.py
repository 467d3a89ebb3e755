#!/usr/bin/env python3
"""A reverse proxy in front of a real CalDAV/CardDAV server (Radicale, Xandikos) that makes it
behave as other servers do, for the caldav adapter's tests:

  --no-sync       answers every sync-collection REPORT with 403 DAV:supported-report, as a server
                  without WebDAV-Sync (RFC 6578) does, so clients list etags with PROPFIND;
  --page N        answers sync-collection REPORTs in parts of at most N members: a truncated part
                  carries a 507 response for the collection and a token for the next part (RFC 6578
                  section 3.6), as servers with a result limit do;
  --race-dir DIR  before it forwards a PUT or DELETE of an item, writes the file DIR/<name> (the
                  item's last path segment) to the item as another client would (with the request's
                  credentials), then removes the file: "another client wrote between read and write".

Every request is forwarded as it came (method, path, headers, body). One line per request is
printed: `METHOD path -> status`. The proxy never resolves anything in the XML it reads; it only
counts and cuts <response> elements."""

import argparse
import http.client
import os
import re
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"accept-encoding", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}
RESPONSE = re.compile(rb"<(?:[A-Za-z0-9_]+:)?response\b.*?</(?:[A-Za-z0-9_]+:)?response>", re.S)
ROOT = re.compile(rb"<(?![?!])(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_-]+)")
TOKEN = re.compile(rb"<((?:[A-Za-z0-9_]+:)?)sync-token>(.*?)</(?:[A-Za-z0-9_]+:)?sync-token>", re.S)


class State:
    def __init__(self, options):
        self.options = options
        self.lock = threading.Lock()
        # Remaining parts: token handed out -> (responses still to send, the server's final token).
        self.parts = {}


def make_handler(state, upstream):
    parsed = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def __getattr__(self, name):
            if name.startswith("do_"):
                return self.handle_any
            raise AttributeError(name)

        def upstream(self, method, path, headers, body):
            connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            result = (answer.status, answer.reason, answer.getheaders(), data)
            connection.close()
            return result

        def reply(self, status, reason, headers, body):
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() not in HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(f"{self.command}{self.report} {self.path} -> {status}", flush=True)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            # A REPORT is logged with its kind: REPORT[sync-collection], REPORT[calendar-multiget] …
            root = ROOT.search(body) if self.command == "REPORT" else None
            self.report = f"[{root.group(1).decode()}]" if root else ""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            options = state.options
            is_sync = self.command == "REPORT" and b"sync-collection" in body
            if is_sync and options.no_sync:
                error = b'<?xml version="1.0" encoding="utf-8"?><D:error xmlns:D="DAV:"><D:supported-report/></D:error>'
                return self.reply(403, "Forbidden", [("Content-Type", "application/xml; charset=utf-8")], error)
            if is_sync and options.page:
                return self.paged(headers, body)
            if options.race_dir and self.command in ("PUT", "DELETE"):
                self.race(headers)
            status, reason, answer_headers, data = self.upstream(self.command, self.path, headers, body)
            self.reply(status, reason, answer_headers, data)

        def race(self, headers):
            name = urllib.parse.unquote(self.path.rstrip("/").rsplit("/", 1)[-1])
            hook = os.path.join(state.options.race_dir, name)
            with state.lock:
                if not os.path.exists(hook):
                    return
                with open(hook, "rb") as f:
                    text = f.read()
                os.remove(hook)
            put = {k: v for k, v in headers.items() if k.lower() in ("authorization",)}
            put["Content-Type"] = "text/vcard; charset=utf-8" if name.endswith(".vcf") else "text/calendar; charset=utf-8"
            status = self.upstream("PUT", self.path, put, text)[0]
            print(f"race: another client's PUT {self.path} -> {status}", flush=True)

        def paged(self, headers, body):
            size = state.options.page
            match = TOKEN.search(body)
            sent = match.group(2).strip() if match else b""
            with state.lock:
                pending = state.parts.pop(sent, None)
            if pending is None:
                status, reason, answer_headers, data = self.upstream(self.command, self.path, headers, body)
                if status != 207:
                    return self.reply(status, reason, answer_headers, data)
                responses = RESPONSE.findall(data)
                found = TOKEN.search(data)
                final = found.group(2).strip() if found else b""
                prefix = found.group(1) if found else b"D:"
                head = data[: data.find(b">", data.find(b"multistatus")) + 1]
                pending = (responses, final, prefix, head, answer_headers)
            responses, final, prefix, head, answer_headers = pending
            part, rest = responses[:size], responses[size:]
            members = len(part)
            if rest:
                token = ("http://proxy.test/part/" + uuid.uuid4().hex).encode()
                with state.lock:
                    state.parts[token] = (rest, final, prefix, head, answer_headers)
                href = self.path.encode()
                part = part + [
                    b"<" + prefix + b"response><" + prefix + b"href>" + href + b"</" + prefix + b"href><" + prefix
                    + b"status>HTTP/1.1 507 Insufficient Storage</" + prefix + b"status></" + prefix + b"response>"
                ]
            else:
                token = final
            close = b"</" + head[head.rfind(b"<") + 1 :].split(b" ")[0].split(b">")[0] + b">"
            data = (
                head + b"".join(part) + b"<" + prefix + b"sync-token>" + token + b"</" + prefix + b"sync-token>"
                + close
            )
            print(f"part of {members} responses, {len(rest)} left", flush=True)
            self.reply(207, "Multi-Status", answer_headers, data)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-sync", action="store_true")
    parser.add_argument("--page", type=int, default=0)
    parser.add_argument("--race-dir", default="")
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", options.port), make_handler(State(options), options.upstream))
    server.daemon_threads = True
    print(f"listening on {options.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
