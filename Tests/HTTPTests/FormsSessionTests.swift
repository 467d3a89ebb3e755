import Foundation
import Testing

@testable import HTTP

@Suite("Forms login: what asks to sign in, which cookies count, nothing shows the password")
struct FormsSessionTests {
    @Test("440 and redirects to a logon page ask to sign in; other answers do not")
    func asksToSignIn() {
        #expect(FormsSession.asksToSignIn(HTTPResponseHead(status: 440)))
        #expect(
            FormsSession.asksToSignIn(
                HTTPResponseHead(
                    status: 302, headers: [("Location", "https://mail/exchweb/bin/auth/owalogon.asp?url=x&reason=0")])))
        #expect(
            FormsSession.asksToSignIn(
                HTTPResponseHead(status: 302, headers: [("location", "/owa/auth/logon.aspx?replaceCurrent=1")])))
        #expect(!FormsSession.asksToSignIn(HTTPResponseHead(status: 302, headers: [("Location", "/owa/")])))
        #expect(!FormsSession.asksToSignIn(HTTPResponseHead(status: 200)))
        #expect(!FormsSession.asksToSignIn(HTTPResponseHead(status: 401)))
        #expect(!FormsSession.asksToSignIn(HTTPResponseHead(status: 500)))
    }

    @Test("session cookies are read from Set-Cookie; cleared ones are dropped")
    func cookies() {
        let head = HTTPResponseHead(
            status: 302,
            headers: [
                ("Set-Cookie", "sessionid=9c1e,0x409; path=/"),
                ("Set-Cookie", "cadata=\"2,abc==\"; HttpOnly; secure; path=/"),
                ("Set-Cookie", "UserContext=; expires=Thu, 01-Jan-1970 00:00:00 GMT; path=/"),
                ("Set-Cookie", "PBack=0; path=/"),
            ])
        let cookies = FormsSession.sessionCookies(head)
        #expect(cookies.map(\.name) == ["sessionid", "cadata", "PBack"])
        #expect(cookies.first { $0.name == "cadata" }?.value == "\"2,abc==\"")
        #expect(cookies.filter { FormsSession.isSessionCookie($0.name) }.count == 2)
    }

    @Test("the login URL of a server, and no password in the session's text, dump or errors")
    func redaction() {
        #expect(
            FormsSession.loginURL(forServerOf: "https://owa.example.test:8443/EWS/Exchange.asmx")
                == "https://owa.example.test:8443/owa/auth/owaauth.dll")
        #expect(
            FormsSession.loginURL(forServerOf: "https://owa.example.test/EWS/Exchange.asmx", exchange2003: true)
                == "https://owa.example.test/exchweb/bin/auth/owaauth.dll")
        let session = FormsSession(
            client: HTTPClient(), loginURL: "https://owa.example.test/owa/auth/owaauth.dll",
            destination: "https://owa.example.test/EWS/Exchange.asmx", user: "EXAMPLE\\svc", password: "Geh3im!Pass")
        var dumped = ""
        dump(session, to: &dumped)
        for text in [
            "\(session)", String(reflecting: session), dumped,
            "\(FormsLoginError.notAccepted(user: "EXAMPLE\\svc", loginURL: session.loginURL))",
        ] {
            #expect(!text.contains("Geh3im"), "\(text)")
        }
        #expect("\(session)".contains("EXAMPLE\\svc"))
    }
}
