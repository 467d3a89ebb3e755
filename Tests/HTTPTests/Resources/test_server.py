#!/usr/bin/env python3
"""An HTTP/1.1 server for the HTTP module's tests (Python standard library only).

Usage: test_server.py [--tls CERT KEY]. Binds 127.0.0.1 on a free port and prints
"listening on PORT" as its first line. It also answers requests in proxy form (an absolute URI
in the request line), so it can stand in for a forward proxy.

Endpoints (any method; the request body is always read first so the connection stays usable):
  /echo                     JSON: method, path, headers, body (base64), connection id
  /basic                    200 for Basic alice:s3cret-pass, else 401 with WWW-Authenticate: Basic
  /ntlm                     an NTLM handshake (type 1 -> type 2 challenge -> type 3) on one connection;
                            reports the user and domain of the type 3 message (the response is not verified)
  /negotiate                always 401 with WWW-Authenticate: Negotiate
  /gzip                     a text, gzip-encoded when the client accepts gzip
  /slow?ms=N&group=G        sleeps N ms; counts concurrent requests per group; a client that hangs up
                            during the sleep ends it early and is counted as aborted
  /stats?group=G            JSON: current, max, total and aborted of /slow for the group
  /status?code=C&retry_after=S   status C with Retry-After: S
  /big?mb=N&pause_ms=P      N MiB streamed in 64 KiB writes, pausing P ms after the first MiB
  /conn                     JSON: connection id (client address) and requests served on that connection
  /drop?mode=partial|nothing     closes the socket mid-response, or before any response
  /upload?out=PATH          writes the request body to PATH as it arrives (64 KiB reads, never held whole);
                            JSON: length, contentLength, transferEncoding
"""

import base64
import gzip
import json
import select
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

USER = "alice"
PASSWORD = "s3cret-pass"
GZIP_TEXT = ("Grüße aus dem gzip-Endpunkt, viele Male. " * 2000).encode("utf-8")

stats_lock = threading.Lock()
stats = {}  # group -> {"current", "max", "total", "aborted"}
NO_STATS = {"current": 0, "max": 0, "total": 0, "aborted": 0}


def ntlm_challenge():
    """A type 2 message as Exchange sends it, reduced: no target name, flags Unicode | NTLM |
    extended session security | target info, a fixed challenge, and target information holding
    only MsvAvEOL. With extended session security libcurl answers with NTLMv2."""
    flags = 0x00000001 | 0x00000200 | 0x00080000 | 0x00800000
    target_info = struct.pack("<HH", 0, 0)
    header = b"NTLMSSP\x00" + struct.pack("<I", 2)
    header += struct.pack("<HHI", 0, 0, 48)  # target name
    header += struct.pack("<I", flags)
    header += b"\x01\x23\x45\x67\x89\xab\xcd\xef"  # server challenge
    header += b"\x00" * 8  # reserved
    header += struct.pack("<HHI", len(target_info), len(target_info), 48)
    return header + target_info


def ntlm_field(message, offset, unicode):
    length, _, start = struct.unpack_from("<HHI", message, offset)
    raw = message[start : start + length]
    return raw.decode("utf-16-le") if unicode else raw.decode("latin-1"), length


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.requests_on_connection = 0
        self.ntlm_legs = 0

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def dispatch(self):
        self.requests_on_connection += 1
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        if url.path == "/upload":
            self.body = None  # read by the route, in pieces
        else:
            self.body = self.rfile.read(length) if length else b""
        self.query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        route = getattr(self, "route_" + url.path.strip("/"), None)
        if route is None:
            self.reply(404, b"not found")
        else:
            route()

    def connection_id(self):
        return "%s:%d" % self.client_address[:2]

    def reply(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, value, headers=()):
        self.reply(status, json.dumps(value).encode("utf-8"), "application/json", headers)

    def route_echo(self):
        self.reply_json(
            200,
            {
                "method": self.command,
                "path": self.path,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body": base64.b64encode(self.body).decode("ascii"),
                "connection": self.connection_id(),
            },
        )

    def route_basic(self):
        expected = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        if self.headers.get("Authorization") == expected:
            self.reply_json(200, {"user": USER, "body": base64.b64encode(self.body).decode("ascii")})
        else:
            self.reply(401, b"unauthorized", headers=[("WWW-Authenticate", 'Basic realm="x"')])

    def route_ntlm(self):
        self.ntlm_legs += 1
        authorization = self.headers.get("Authorization") or ""
        if not authorization.startswith("NTLM "):
            self.reply(401, b"unauthorized", headers=[("WWW-Authenticate", "NTLM")])
            return
        message = base64.b64decode(authorization[5:])
        kind = struct.unpack_from("<I", message, 8)[0] if message[:8] == b"NTLMSSP\x00" else 0
        if kind == 1:
            self.ntlm_negotiated = True
            challenge = base64.b64encode(ntlm_challenge()).decode()
            self.reply(401, b"challenge", headers=[("WWW-Authenticate", "NTLM " + challenge)])
        elif kind == 3:
            flags = struct.unpack_from("<I", message, 60)[0]
            unicode = bool(flags & 1)
            domain, _ = ntlm_field(message, 28, unicode)
            user, _ = ntlm_field(message, 36, unicode)
            _, nt_length = ntlm_field(message, 20, False)
            self.reply_json(
                200,
                {
                    "user": user,
                    "domain": domain,
                    "ntResponseLength": nt_length,
                    "negotiatedOnThisConnection": getattr(self, "ntlm_negotiated", False),
                    "legsOnThisConnection": self.ntlm_legs,
                    "body": base64.b64encode(self.body).decode("ascii"),
                },
            )
        else:
            self.reply(400, b"bad NTLM message")

    def route_negotiate(self):
        self.reply(
            401,
            json.dumps({"authorization": self.headers.get("Authorization")}).encode(),
            "application/json",
            headers=[("WWW-Authenticate", "Negotiate")],
        )

    def route_gzip(self):
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            self.reply(200, gzip.compress(GZIP_TEXT), headers=[("Content-Encoding", "gzip"), ("X-Encoded", "gzip")])
        else:
            self.reply(200, GZIP_TEXT, headers=[("X-Encoded", "identity")])

    def route_slow(self):
        group = self.query.get("group", "default")
        with stats_lock:
            entry = stats.setdefault(group, dict(NO_STATS))
            entry["current"] += 1
            entry["total"] += 1
            entry["max"] = max(entry["max"], entry["current"])
        try:
            hung_up = self.sleep_unless_hung_up(int(self.query.get("ms", "100")) / 1000)
        finally:
            with stats_lock:
                entry["current"] -= 1
        if hung_up:
            with stats_lock:
                entry["aborted"] += 1
            self.close_connection = True
            return
        self.reply(200, b"slept")

    def sleep_unless_hung_up(self, seconds):
        """Sleeps, watching the socket: True as soon as the client closes its end (it sends
        nothing else while it waits for the answer, so readable means closed)."""
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            time.sleep(seconds)
            return False
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, _, _ = select.select([sock], [], [], min(remaining, 0.05))
            if readable:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
                time.sleep(min(remaining, 0.05))

    def route_stats(self):
        with stats_lock:
            entry = dict(stats.get(self.query.get("group", "default"), NO_STATS))
        self.reply_json(200, entry)

    def route_status(self):
        headers = []
        if "retry_after" in self.query:
            headers.append(("Retry-After", self.query["retry_after"]))
        self.reply(int(self.query.get("code", "200")), b"status", headers=headers)

    def route_big(self):
        total = int(self.query.get("mb", "1")) * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        pause = int(self.query.get("pause_ms", "0")) / 1000
        chunk = bytes(range(256)) * 256  # 64 KiB
        sent = 0
        while sent < total:
            piece = chunk[: min(len(chunk), total - sent)]
            self.wfile.write(piece)
            sent += len(piece)
            if pause and sent == 1024 * 1024:
                self.wfile.flush()
                time.sleep(pause)

    def route_upload(self):
        remaining = int(self.headers.get("Content-Length") or 0)
        written = 0
        with open(self.query["out"], "wb") as out:
            while remaining > 0:
                piece = self.rfile.read(min(65536, remaining))
                if not piece:
                    break
                out.write(piece)
                written += len(piece)
                remaining -= len(piece)
        self.reply_json(
            200,
            {
                "length": written,
                "contentLength": self.headers.get("Content-Length"),
                "transferEncoding": self.headers.get("Transfer-Encoding"),
            },
        )

    def route_conn(self):
        self.reply_json(200, {"connection": self.connection_id(), "requests": self.requests_on_connection})

    def route_drop(self):
        if self.query.get("mode", "partial") == "partial":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that time out or cancel leave broken pipes behind; expected here


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
