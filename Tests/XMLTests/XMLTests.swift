import Foundation
import TestSupport
import Testing

@testable import XML

@Suite("XML over libxml2")
struct XMLTests {
    @Test("parses namespaces, attributes and text")
    func parse() throws {
        let root = try XMLStreamParser.parse(
            """
            <?xml version="1.0" encoding="utf-8"?>
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:t">
              <s:Body><t:Item Id="a&amp;b" ChangeKey="k1"><t:Subject>Grüße &lt;ß&gt; 😀</t:Subject></t:Item></s:Body>
            </s:Envelope>
            """)
        #expect(root.name == "Envelope")
        #expect(root.namespace == "http://schemas.xmlsoap.org/soap/envelope/")
        let item = try #require(root.path("Body", "Item"))
        #expect(item.attributes["Id"] == "a&b")
        #expect(item.namespace == "urn:t")
        #expect(item.string("Subject") == "Grüße <ß> 😀")
        #expect(item.line == 3)
    }

    @Test("selected subtrees are delivered one by one and not kept")
    func streaming() throws {
        var delivered: [String] = []
        let parser = XMLStreamParser(
            deliver: { $0.count == 3 && $0.last == "Item" },
            onElement: { element, _ in delivered.append(element.string("Name") ?? "") })
        let items = (0..<1000).map {
            "<Item><Name>n\($0)</Name><Body>\(String(repeating: "x", count: 100))</Body></Item>"
        }.joined()
        let document = Data("<Root><Items>\(items)</Items></Root>".utf8)
        // Feed in odd-sized chunks, as a network would.
        var offset = 0
        while offset < document.count {
            let end = min(offset + 777, document.count)
            try parser.feed(document[offset..<end])
            offset = end
        }
        let root = try parser.finish()
        #expect(delivered.count == 1000)
        #expect(delivered.first == "n0" && delivered.last == "n999")
        #expect(root.child("Items")?.children.isEmpty == true)
    }

    @Test("a 20 MB response streams through without being kept")
    func large() throws {
        var count = 0
        var bytes = 0
        let parser = XMLStreamParser(
            deliver: { $0.last == "Item" },
            onElement: { element, _ in
                count += 1
                bytes += element.text.utf8.count
            })
        try parser.feed(Data("<Root>".utf8))
        let chunk = Data((0..<1000).map { _ in "<Item>\(String(repeating: "ä", count: 5000))</Item>" }.joined().utf8)
        for _ in 0..<2 { try parser.feed(chunk) }
        try parser.feed(Data("</Root>".utf8))
        let root = try parser.finish()
        #expect(count == 2000)
        #expect(bytes == 2000 * 10_000)
        #expect(root.children.isEmpty)
    }

    @Test("malformed XML is reported with its line")
    func malformed() {
        do {
            _ = try XMLStreamParser.parse("<a>\n<b>\n</a>")
            Issue.record("expected an error")
        } catch let error as XMLParseError {
            #expect(error.line == 3)
            #expect(error.message.contains("mismatch") || error.message.contains("Opening and ending tag"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("external entities (XXE) are never resolved")
    func xxe() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("xxe-\(UUID().uuidString)")
        try "TOP-SECRET".write(to: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: secret) }
        let payloads = [
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://\(secret.path)\">]><r>&x;</r>",
            "<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\"><r>a</r>",
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY % p SYSTEM \"file://\(secret.path)\"> %p;]><r/>",
        ]
        for payload in payloads {
            var text = ""
            do {
                let root = try XMLStreamParser.parse(payload)
                text = root.text
                Issue.record("a document with a DTD was accepted")
            } catch let error as XMLParseError {
                #expect(
                    error.message.contains("not allowed") || error.message.contains("DTD")
                        || error.message.contains("Entity"))
            }
            #expect(!text.contains("TOP-SECRET"))
        }
    }

    @Test("entity expansion bombs are refused")
    func billionLaughs() {
        let bomb = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>
            """
        #expect(throws: XMLParseError.self) { try XMLStreamParser.parse(bomb) }
        #expect(throws: XMLParseError.self) { try XMLStreamParser.parse("<r>&undefined;</r>") }
    }

    @Test("the writer escapes markup and drops characters XML 1.0 forbids")
    func writer() throws {
        var writer = XMLWriter()
        let nasty = "a<b>&\"c\" 'd'\u{0}\u{1}\u{B}\u{C}\u{1F}\u{FFFE}\u{FFFF} ok\tä😀\r\nend"
        writer.element("t:Root", [("xmlns:t", "urn:t"), ("Attr", nasty)]) { w in
            w.element("t:Text", nasty)
            w.element("t:Empty", "")
        }
        let root = try XMLStreamParser.parse(writer.text)
        let clean = "a<b>&\"c\" 'd' ok\tä😀\r\nend"
        #expect(root.attributes["Attr"] == clean)
        #expect(root.string("Text") == clean)
        #expect(writer.text.contains("<t:Empty/>"))
        #expect(!writer.text.contains("\u{0}"))
        // Values that need nothing come back as they are; one forbidden character among umlauts goes.
        #expect(XMLWriter.escape("Müller & Söhne", attribute: false) == "Müller &amp; Söhne")
        #expect(XMLWriter.escape("Grüße, 10 € \u{F8FF}", attribute: true) == "Grüße, 10 € \u{F8FF}")
        #expect(XMLWriter.escape("Grüße\u{FFFE}\u{FFFF}!", attribute: true) == "Grüße!")
        #expect(XMLWriter.escape("line\nbreak", attribute: true) == "line&#10;break")
    }

    @Test("EWS samples validate against Microsoft's schemas; a bad element order does not")
    func schemaValidation() throws {
        let validator = try XMLSchemaValidator(
            path: Schemas.directory.appendingPathComponent("validation/ews-2010sp2-envelope.xsd").path)
        let samples = Schemas.directory.appendingPathComponent("validation/samples")
        let files = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".xml") }
            .sorted()
        #expect(files.count >= 20)
        for file in files {
            let data = try Data(contentsOf: samples.appendingPathComponent(file))
            let errors = validator.validate(data)
            // The fast streaming pass agrees with the tree pass: it never passes an invalid sample.
            #expect(validator.validatesStreaming(data) == errors.isEmpty, "\(file)")
            if file.contains("BAD") {
                #expect(!errors.isEmpty, "\(file) should be invalid")
                #expect(errors.first?.message.contains("not expected") == true)
                #expect((errors.first?.line ?? 0) > 0)
            } else {
                #expect(errors.isEmpty, "\(file): \(errors)")
            }
        }
        #expect(validator.validate(Data("<nope".utf8)).count == 1)
        #expect(!validator.validatesStreaming(Data("<nope".utf8)))
    }
}
