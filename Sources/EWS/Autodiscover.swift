import Foundation
import XML

/// Plain-old-XML Autodiscover: asks where a mailbox's EWS endpoint is.
public enum Autodiscover {
    public static let requestNamespace = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
    public static let responseSchema = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    public static let envelopeNamespace = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"

    /// The POX request for a mailbox.
    public static func request(email: String) -> Data {
        var w = XMLWriter()
        w.element("Autodiscover", [("xmlns", requestNamespace)]) { w in
            w.element("Request") { w in
                w.element("EMailAddress", email)
                w.element("AcceptableResponseSchema", responseSchema)
            }
        }
        return Data(w.text.utf8)
    }

    /// What an Autodiscover answer says.
    public enum Answer: Sendable, Equatable {
        /// The mailbox's EWS URL (internal `EXCH` preferred, else external `EXPR`).
        case ewsURL(String)
        /// Ask again for another address.
        case redirectAddress(String)
        /// Ask again at another URL.
        case redirectURL(String)
        case error(code: String, message: String)
    }

    /// Reads a POX response.
    public static func parse(_ root: XMLElement) -> Answer {
        guard let response = root.child("Response") else { return .error(code: "?", message: "no Response element") }
        if let error = response.child("Error") ?? root.descendant("Error") {
            return .error(code: error.string("ErrorCode") ?? "?", message: error.string("Message") ?? "")
        }
        guard let account = response.child("Account") else { return .error(code: "?", message: "no Account element") }
        switch account.string("Action") {
        case "redirectAddr":
            return account.string("RedirectAddr").map { .redirectAddress($0) }
                ?? .error(code: "?", message: "redirect without address")
        case "redirectUrl":
            return account.string("RedirectUrl").map { .redirectURL($0) }
                ?? .error(code: "?", message: "redirect without URL")
        default:
            let protocols = account.children("Protocol")
            let url =
                (protocols.first { $0.string("Type") == "EXCH" } ?? protocols.first { $0.string("Type") == "EXPR" })?
                .string("EwsUrl")
            return url.map { .ewsURL($0) } ?? .error(code: "?", message: "no EwsUrl in the answer")
        }
    }

    /// The POX answer a server gives for a mailbox (used by the simulator).
    public static func response(email: String, ewsURL: String?) -> Data {
        var w = XMLWriter()
        w.element("Autodiscover", [("xmlns", envelopeNamespace)]) { w in
            w.element("Response", [("xmlns", responseSchema)]) { w in
                if let ewsURL {
                    w.element("User") { w in w.element("AutoDiscoverSMTPAddress", email) }
                    w.element("Account") { w in
                        w.element("AccountType", "email")
                        w.element("Action", "settings")
                        for type in ["EXCH", "EXPR"] {
                            w.element("Protocol") { w in
                                w.element("Type", type)
                                w.element("EwsUrl", ewsURL)
                            }
                        }
                    }
                } else {
                    w.element("Error", [("Time", "00:00:00"), ("Id", "0")]) { w in
                        w.element("ErrorCode", "500")
                        w.element("Message", "The email address can't be found.")
                    }
                }
            }
        }
        return Data(w.text.utf8)
    }
}
