import EWS
import Foundation
import XML

/// A SOAP fault to answer with HTTP 500, as Exchange does for whole-request errors.
struct SimFault: Error {
    var code: String
    var message: String
    var values: [(String, String)] = []
}

/// A per-item error, answered inside a `*ResponseMessage` with `ResponseClass="Error"`.
struct SimItemError: Error {
    var code: String
    var message: String
    var values: [(String, String)] = []
    /// The property the error is about (`item:DateTimeSent`), written as `t:FieldURI` in MessageXml.
    var fieldURI: String? = nil
}

/// Writes response envelopes.
enum SimWriter {
    static let serverVersion: [(String, String)] = [
        ("MajorVersion", "14"), ("MinorVersion", "3"), ("MajorBuildNumber", "123"), ("MinorBuildNumber", "3"),
        ("Version", "Exchange2010_SP2"), ("xmlns:h", EWSNamespace.types),
    ]

    /// `<s:Envelope>` with the ServerVersionInfo header and `body` inside `s:Body`.
    static func envelope(_ body: (inout XMLWriter) -> Void) -> Data {
        var writer = XMLWriter()
        writer.element("s:Envelope", [("xmlns:s", EWSNamespace.soap)]) { w in
            w.element("s:Header") { w in
                w.start("h:ServerVersionInfo", serverVersion)
                w.end()
            }
            w.element(
                "s:Body",
                [
                    ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                    ("xmlns:xsd", "http://www.w3.org/2001/XMLSchema"),
                ], body)
        }
        return Data(writer.text.utf8)
    }

    /// A SOAP fault envelope.
    static func fault(_ fault: SimFault) -> Data {
        var writer = XMLWriter()
        writer.element("s:Envelope", [("xmlns:s", EWSNamespace.soap)]) { w in
            w.element("s:Body") { w in
                w.element("s:Fault") { w in
                    w.element("faultcode", "a:\(fault.code)", [("xmlns:a", EWSNamespace.types)])
                    w.element("faultstring", fault.message, [("xml:lang", "en-US")])
                    w.element("detail") { w in
                        w.element("e:ResponseCode", fault.code, [("xmlns:e", EWSNamespace.errors)])
                        w.element("e:Message", fault.message, [("xmlns:e", EWSNamespace.errors)])
                        if !fault.values.isEmpty {
                            w.element("t:MessageXml", [("xmlns:t", EWSNamespace.types)]) { w in
                                for (name, value) in fault.values { w.element("t:Value", value, [("Name", name)]) }
                            }
                        }
                    }
                }
            }
        }
        return Data(writer.text.utf8)
    }

    /// An operation response: `m:<Operation>Response/m:ResponseMessages/m:<Operation>ResponseMessage*`.
    static func operation(_ name: String, _ messages: [(inout XMLWriter) -> Void]) -> Data {
        envelope { w in
            w.element("m:\(name)Response", [("xmlns:m", EWSNamespace.messages), ("xmlns:t", EWSNamespace.types)]) { w in
                w.element("m:ResponseMessages") { w in
                    for message in messages { message(&w) }
                }
            }
        }
    }

    /// A successful response message with extra content.
    static func success(_ operation: String, _ content: @escaping (inout XMLWriter) -> Void) -> (inout XMLWriter) ->
        Void
    {
        { w in
            w.element("m:\(operation)ResponseMessage", [("ResponseClass", "Success")]) { w in
                w.element("m:ResponseCode", "NoError")
                content(&w)
            }
        }
    }

    /// An error response message. `emptyItems` adds the empty container operations expect.
    static func error(_ operation: String, _ error: SimItemError, container: String? = "Items") -> (inout XMLWriter) ->
        Void
    {
        { w in
            w.element("m:\(operation)ResponseMessage", [("ResponseClass", "Error")]) { w in
                w.element("m:MessageText", error.message)
                w.element("m:ResponseCode", error.code)
                w.element("m:DescriptiveLinkKey", "0")
                if !error.values.isEmpty || error.fieldURI != nil {
                    w.element("m:MessageXml") { w in
                        if let uri = error.fieldURI {
                            w.start("t:FieldURI", [("FieldURI", uri)])
                            w.end()
                        }
                        for (name, value) in error.values { w.element("t:Value", value, [("Name", name)]) }
                    }
                }
                if let container {
                    w.start("m:\(container)")
                    w.end()
                }
            }
        }
    }

    /// Writes a stored element with `t:` prefixes (all stored properties are in the types namespace).
    /// An `ExtendedFieldURI` is written in Exchange's canonical spelling, not as its writer spelled it.
    static func write(_ element: XMLElement, _ w: inout XMLWriter) {
        let prefix = element.namespace == EWSNamespace.messages ? "m:" : "t:"
        let attributes =
            element.name == "ExtendedFieldURI" ? PropertyPath.canonical(element.attributes) : element.attributes
        w.start(prefix + element.name, attributes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        if element.children.isEmpty {
            w.text(element.text)
        } else {
            for child in element.children { write(child, &w) }
        }
        w.end()
    }
}
