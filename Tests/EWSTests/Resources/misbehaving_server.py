"""A web server that answers EWS requests the way misconfigured or broken servers do.

Each path is one misbehaviour; the tests point the ews adapter's url at it. Prints
"listening on PORT" once it accepts connections. Loopback only.
"""
import http.server
import socket
import sys

LOGIN_PAGE = b"""<!DOCTYPE html>
<html><head><title>Outlook Web App</title></head>
<body><form action="/owa/auth/owaauth.dll" method="POST">
<input type="text" name="username"><input type="password" name="password">
</form></body></html>"""

NOT_FOUND_PAGE = b"<html><head><title>404 - File or directory not found.</title></head><body>Server Error</body></html>"

SOAP_START = (b'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
              b'<s:Body><m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
              b'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, content_type, body, headers=()):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        if path == "/login-page/EWS/Exchange.asmx":
            self.answer(200, "text/html; charset=utf-8", LOGIN_PAGE)
        elif path == "/redirect/EWS/Exchange.asmx":
            self.answer(302, "text/html", b"<html><body>Object moved</body></html>",
                        [("Location", "https://mail.example.test/owa/auth/logon.aspx?url=https%3a%2f%2fmail.example.test%2fEWS%2fExchange.asmx&reason=0")])
        elif path == "/wrong-path/EWS/Exchange.asmx":
            self.answer(404, "text/html", NOT_FOUND_PAGE)
        elif path == "/empty/EWS/Exchange.asmx":
            self.answer(200, "text/xml; charset=utf-8", b"")
        elif path == "/json/EWS/Exchange.asmx":
            self.answer(200, "application/json", b'{"error": "not here"}')
        elif path == "/not-soap/EWS/Exchange.asmx":
            self.answer(200, "text/xml", b'<?xml version="1.0"?><status><ok>true</ok></status>')
        elif path == "/truncated-xml/EWS/Exchange.asmx":
            # Complete at the HTTP level, cut in the middle of the XML.
            self.answer(200, "text/xml; charset=utf-8", SOAP_START + b"<m:GetFolderResponseMessage Respon")
        elif path == "/cut-off/EWS/Exchange.asmx":
            # Announces more than it sends, then closes.
            body = SOAP_START
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body) + 5000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif path == "/soap-fault/EWS/Exchange.asmx":
            body = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                    b'<s:Fault><faultcode>s:Server</faultcode><faultstring>The proxy could not reach the mailbox server.'
                    b'</faultstring></s:Fault></s:Body></s:Envelope>')
            self.answer(500, "text/xml; charset=utf-8", body)
        else:
            self.answer(404, "text/plain", b"unknown test path")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
