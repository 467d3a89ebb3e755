import Foundation
import HTTP

/// Explains answers that are not EWS before anything tries to parse them, and transport failures
/// in words an administrator can act on: an HTML page (a login form, a wrong URL), a redirect, an
/// empty or cut-off body, a body of another type, XML that is not a SOAP envelope, TLS, DNS and
/// refused connections. Each becomes an ``EWSFault`` whose message says what happened and what to
/// check; `connector-host check` shows the same text.
enum EWSAnswerCheck {
    /// The codes of connection failures that may pass by themselves (worth another try later).
    static let transientCodes: Set<String> = [
        "ConnectionRefused", "ConnectionDropped", "Timeout", "CutOff", "HostNotFound", "Transport", "Proxy",
    ]
    /// The codes of the faults made here; their message is the whole explanation.
    static let explainedCodes: Set<String> = transientCodes.union([
        "Redirect", "EmptyAnswer", "HTMLAnswer", "WrongContentType", "MalformedXML", "NotSOAP", "TLS",
    ])

    /// What to do about a forms login in front of EWS.
    static let formsAdvice =
        "set 'auth: forms' to sign in through it ('forms_login_url' when the form is not at "
        + "/owa/auth/owaauth.dll), or point 'url' at the Exchange server behind it"

    /// The fault for an answer that cannot be an EWS response, or nil when it may be one.
    /// `prefix` is the start of the body, `received` its whole length.
    static func problem(status: Int, headers: [String: String], prefix: Data, received: Int, url: String)
        -> EWSFault?
    {
        let type = headers["content-type"]?.lowercased() ?? ""
        let text = String(decoding: prefix, as: UTF8.self)
        if (300..<400).contains(status) {
            let location = headers["location"] ?? "nowhere"
            var message = "the server redirected (HTTP \(status)) to \(location) instead of answering EWS at \(url)"
            if isLoginPage(location) {
                message += ": a forms-based login (OWA, TMG or a reverse proxy) is in front of EWS; " + formsAdvice
            } else {
                message += ": check 'url' (it usually ends in /EWS/Exchange.asmx)"
            }
            return EWSFault(code: "Redirect", message: message, httpStatus: status)
        }
        if received == 0 {
            return EWSFault(
                code: status == 200 ? "EmptyAnswer" : "HTTP\(status)",
                message:
                    "the server answered HTTP \(status) with an empty body instead of an EWS response: check 'url' "
                    + "(it usually ends in /EWS/Exchange.asmx) and that a proxy in between passes SOAP requests",
                httpStatus: status)
        }
        if type.contains("html") || looksLikeHTML(text) {
            let title = htmlTitle(text).map { " \"\($0)\"" } ?? ""
            var message = "the server answered HTTP \(status) with an HTML page\(title) instead of EWS XML"
            if isLoginPage(text) {
                message +=
                    ": it is a login form, so a forms-based login (OWA, TMG or a reverse proxy) is in front of EWS; "
                    + formsAdvice
            } else {
                message += ": check 'url' (it usually ends in /EWS/Exchange.asmx)"
            }
            return EWSFault(code: status == 200 ? "HTMLAnswer" : "HTTP\(status)", message: message, httpStatus: status)
        }
        let xml =
            type.isEmpty || type.contains("xml")
            || text.drop(while: { $0.isWhitespace || $0 == "\u{FEFF}" }).hasPrefix("<")
        if !xml {
            return EWSFault(
                code: "WrongContentType",
                message:
                    "the server answered HTTP \(status) with '\(headers["content-type"] ?? "")' (\(received) bytes) "
                    + "instead of EWS XML: check 'url' (it usually ends in /EWS/Exchange.asmx)",
                httpStatus: status)
        }
        return nil
    }

    /// The explanation of a body that was XML-like but did not parse: cut off, or not XML.
    static func unreadable(
        _ error: Error, status: Int, headers: [String: String], prefix: Data, received: Int, url: String
    ) -> EWSFault {
        if let announced = headers["content-length"].flatMap(Int.init), received < announced {
            return EWSFault(
                code: "CutOff",
                message: "the answer from \(url) was cut off after \(received) of \(announced) bytes: the connection "
                    + "broke or a proxy truncated it",
                httpStatus: status)
        }
        return EWSFault(
            code: "MalformedXML",
            message: "the answer from \(url) (HTTP \(status), \(received) bytes) is not well-formed XML: \(error); "
                + "it ends early or is not EWS: check 'url' and any proxy in between",
            httpStatus: status)
    }

    /// The explanation of XML that is not a SOAP envelope (another service at the URL).
    static func notSOAP(root: String, status: Int, url: String) -> EWSFault {
        EWSFault(
            code: "NotSOAP",
            message: "the answer from \(url) (HTTP \(status)) is XML with root element <\(root)>, not a SOAP envelope: "
                + "the URL serves something else than EWS; check 'url' (it usually ends in /EWS/Exchange.asmx)",
            httpStatus: status)
    }

    /// A transport failure explained: what failed and what to check. Only refused connections,
    /// unresolvable names and TLS problems get their own words; the rest keeps libcurl's.
    static func transport(_ error: HTTPError) -> EWSFault {
        let host = URLComponents(string: error.url)?.host ?? error.url
        let port = URLComponents(string: error.url)?.port.map { ":\($0)" } ?? ""
        switch (error.kind, error.curlCode) {
        case (.connect, 6):
            return EWSFault(
                code: "HostNotFound",
                message:
                    "the server name \(host) cannot be resolved (DNS): check 'url' and the DNS settings of this server "
                    + "[\(error.message)]",
                httpStatus: 0)
        case (.connect, _):
            return EWSFault(
                code: "ConnectionRefused",
                message: "cannot connect to \(host)\(port): nothing answers there (connection refused or unreachable); "
                    + "check that the server is up, the port in 'url' and the firewall [\(error.message)]",
                httpStatus: 0)
        case (.tls, _):
            return EWSFault(
                code: "TLS",
                message:
                    "the TLS connection to \(host)\(port) failed: \(error.message). If the server's certificate is "
                    + "signed by your own CA, give that CA (PEM) with 'ca_file'; check that 'url' uses the name "
                    + "the certificate is issued for",
                httpStatus: 0)
        case (.timeout, _):
            return EWSFault(
                code: "Timeout",
                message:
                    "\(host)\(port) did not answer in time (\(error.message)): check the network, or raise 'timeout' "
                    + "for a slow server",
                httpStatus: 0)
        case (.proxy, _):
            return EWSFault(
                code: "Proxy",
                message: "the proxy failed or refused the connection to \(host): \(error.message); check 'proxy'",
                httpStatus: 0)
        case (_, 18):
            return EWSFault(
                code: "CutOff",
                message:
                    "the answer from \(host)\(port) was cut off: \(error.message) (the connection broke or a proxy truncated it)",
                httpStatus: 0)
        case (_, 52):
            return EWSFault(
                code: "ConnectionDropped",
                message:
                    "\(host)\(port) closed the connection without an answer (\(error.message)), again after retries",
                httpStatus: 0)
        default:
            return EWSFault(code: "Transport", message: "\(error)", httpStatus: 0)
        }
    }

    static func looksLikeHTML(_ text: String) -> Bool {
        let start = text.drop(while: { $0.isWhitespace || $0 == "\u{FEFF}" }).prefix(200).lowercased()
        return start.hasPrefix("<!doctype html") || start.hasPrefix("<html") || start.contains("<html")
    }

    /// Whether a URL or page is a forms-based login (OWA 2003–2016, TMG/ISA, generic forms).
    static func isLoginPage(_ text: String) -> Bool {
        let lower = text.lowercased()
        return [
            "owaauth.dll", "logon.aspx", "/owa/auth", "cookieauth.dll", "/exchweb/bin/auth", "type=\"password\"",
            "type='password'", "/adfs/ls",
        ].contains { lower.contains($0) }
    }

    /// The page's `<title>`, whitespace collapsed, at most 80 characters.
    static func htmlTitle(_ text: String) -> String? {
        guard let open = text.range(of: "<title", options: .caseInsensitive),
            let close = text.range(of: ">", range: open.upperBound..<text.endIndex),
            let end = text.range(of: "</title", options: .caseInsensitive, range: close.upperBound..<text.endIndex)
        else { return nil }
        let title = text[close.upperBound..<end.lowerBound].split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return title.isEmpty ? nil : String(title.prefix(80))
    }
}
