import Foundation

/// The namespaces of Exchange 2003/2007's WebDAV properties. A property's full name is its
/// namespace followed by its local name (`urn:schemas:contacts:` + `givenName`).
public enum DAVNamespace {
    public static let dav = "DAV:"
    public static let httpmail = "urn:schemas:httpmail:"
    public static let mailheader = "urn:schemas:mailheader:"
    public static let calendar = "urn:schemas:calendar:"
    public static let contacts = "urn:schemas:contacts:"
    public static let exchange = "http://schemas.microsoft.com/exchange/"
    public static let mapi = "http://schemas.microsoft.com/mapi/"
    public static let proptag = "http://schemas.microsoft.com/mapi/proptag/"
    public static let repl = "http://schemas.microsoft.com/repl/"
    /// The namespace of the `dt` attribute that types a value (`dateTime.tz`, `int`, `mv.string` …).
    public static let datatypes = "urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/"
    /// The namespace of the `<v>` elements of a multi-valued property.
    public static let values = "xml:"
    /// PSETID_Task's named properties.
    public static let taskSet = "http://schemas.microsoft.com/mapi/id/{00062003-0000-0000-c000-000000000046}/"
    /// PSETID_Address's named properties.
    public static let addressSet = "http://schemas.microsoft.com/mapi/id/{00062004-0000-0000-c000-000000000046}/"
    /// PSETID_Common's named properties.
    public static let commonSet = "http://schemas.microsoft.com/mapi/id/{00062008-0000-0000-c000-000000000046}/"
    /// PS_PUBLIC_STRINGS: named properties of our own, by string name.
    public static let publicStrings = "http://schemas.microsoft.com/mapi/string/{00020329-0000-0000-c000-000000000046}/"
}

/// Full names of the properties the adapter and the simulator use.
public enum DAVProperty {
    // DAV:
    public static let href = "DAV:href"
    public static let displayName = "DAV:displayname"
    public static let getETag = "DAV:getetag"
    public static let getLastModified = "DAV:getlastmodified"
    public static let creationDate = "DAV:creationdate"
    public static let contentClass = "DAV:contentclass"
    public static let isFolder = "DAV:isfolder"
    public static let isHidden = "DAV:ishidden"
    public static let hasSubs = "DAV:hassubs"
    public static let objectCount = "DAV:objectcount"
    public static let getContentLength = "DAV:getcontentlength"
    public static let uid = "DAV:uid"
    // Exchange and replication
    public static let messageClass = "http://schemas.microsoft.com/exchange/outlookmessageclass"
    public static let folderClass = "http://schemas.microsoft.com/exchange/outlookfolderclass"
    public static let permanentURL = "http://schemas.microsoft.com/exchange/permanenturl"
    public static let keywords = "http://schemas.microsoft.com/exchange/keywords-utf8"
    public static let replUID = "http://schemas.microsoft.com/repl/repl-uid"
    public static let contentTag = "http://schemas.microsoft.com/repl/contenttag"
    // MAPI tags
    public static let sensitivity = "http://schemas.microsoft.com/mapi/proptag/x00360003"
    public static let urlCompName = "http://schemas.microsoft.com/mapi/proptag/x10f3001f"
    public static let articleNumber = "http://schemas.microsoft.com/mapi/proptag/x0e230003"
    public static let deliveryTime = "http://schemas.microsoft.com/mapi/proptag/x0e060040"
    public static let internetContent = "http://schemas.microsoft.com/mapi/proptag/x66590102"
    public static let attachmentFilename = "urn:schemas:httpmail:attachmentfilename"
    public static let attachmentMimeTag = "http://schemas.microsoft.com/mapi/proptag/x370e001f"
    public static let attachmentSize = "http://schemas.microsoft.com/mapi/proptag/x0e200003"
    public static let attachmentContentID = "http://schemas.microsoft.com/mapi/proptag/x3712001f"
    // httpmail / mailheader
    public static let subject = "urn:schemas:httpmail:subject"
    public static let textDescription = "urn:schemas:httpmail:textdescription"
    public static let htmlDescription = "urn:schemas:httpmail:htmldescription"
    public static let from = "urn:schemas:httpmail:from"
    public static let fromEmail = "urn:schemas:httpmail:fromemail"
    public static let fromName = "urn:schemas:httpmail:fromname"
    public static let to = "urn:schemas:mailheader:to"
    public static let cc = "urn:schemas:mailheader:cc"
    public static let date = "urn:schemas:httpmail:date"
    public static let dateReceived = "urn:schemas:httpmail:datereceived"
    public static let read = "urn:schemas:httpmail:read"
    public static let hasAttachment = "urn:schemas:httpmail:hasattachment"
    public static let messageID = "urn:schemas:mailheader:message-id"
    public static let inReplyTo = "urn:schemas:mailheader:in-reply-to"
    public static let references = "urn:schemas:mailheader:references"
    public static let importance = "urn:schemas:mailheader:importance"
    // calendar
    public static let dtStart = "urn:schemas:calendar:dtstart"
    public static let dtEnd = "urn:schemas:calendar:dtend"
    public static let location = "urn:schemas:calendar:location"
    public static let allDayEvent = "urn:schemas:calendar:alldayevent"
    public static let busyStatus = "urn:schemas:calendar:busystatus"
    public static let instanceType = "urn:schemas:calendar:instancetype"
    public static let calendarUID = "urn:schemas:calendar:uid"
    public static let rrule = "urn:schemas:calendar:rrule"
    public static let exdate = "urn:schemas:calendar:exdate"
    public static let reminderOffset = "urn:schemas:calendar:reminderoffset"
    public static let timezoneID = "urn:schemas:calendar:timezoneid"
    public static let reminderSet = "http://schemas.microsoft.com/mapi/reminderset"
    public static let reminderDelta = "http://schemas.microsoft.com/mapi/reminderdelta"
    public static let reminderTime = "http://schemas.microsoft.com/mapi/remindertimedate"
    public static let commonStart = "http://schemas.microsoft.com/mapi/commonstart"
    public static let commonEnd = "http://schemas.microsoft.com/mapi/commonend"
    // tasks (PSETID_Task)
    public static let taskStatus = DAVNamespace.taskSet + "0x8101"
    public static let taskPercentComplete = DAVNamespace.taskSet + "0x8102"
    public static let taskStartDate = DAVNamespace.taskSet + "0x8104"
    public static let taskDueDate = DAVNamespace.taskSet + "0x8105"
    public static let taskDateCompleted = DAVNamespace.taskSet + "0x810f"
    public static let taskComplete = DAVNamespace.taskSet + "0x811c"
    public static let taskRecurring = DAVNamespace.taskSet + "0x8126"
    // our own
    /// The sync key the engine stamps on every item it creates (a named property in
    /// PS_PUBLIC_STRINGS, searchable with Exchange SQL).
    public static let syncKey = DAVNamespace.publicStrings + "connector-sync-key"
}

/// Splitting a full property name into namespace and local name, and the XML form of local names
/// Exchange uses (`0x8101` is not a valid XML name; on the wire it is `_x0030_x8101`).
public enum DAVPropertyName {
    /// The namespace (up to and including the last `/` or `:`) and the local name.
    public static func split(_ name: String) -> (namespace: String, local: String) {
        guard let index = name.lastIndex(where: { $0 == "/" || $0 == ":" }) else { return ("", name) }
        let after = name.index(after: index)
        return (String(name[..<after]), String(name[after...]))
    }

    /// The local name as a valid XML name: each character an XML name cannot hold there (a leading
    /// digit, `{`, a space …) as `_xHHHH_`, as Exchange and DavMail write them.
    public static func xmlLocalName(_ local: String) -> String {
        var result = ""
        for (offset, scalar) in local.unicodeScalars.enumerated() {
            let isStart = offset == 0
            if isNameCharacter(scalar, start: isStart) {
                result.unicodeScalars.append(scalar)
            } else {
                result += String(format: "_x%04X_", scalar.value)
            }
        }
        return result.isEmpty ? "_" : result
    }

    /// The local name with `_xHHHH_` escapes turned back into their characters.
    public static func decodeLocalName(_ name: String) -> String {
        guard name.utf8.contains(UInt8(ascii: "_")), name.contains("_x") else { return name }
        var result = ""
        var rest = Substring(name)
        while let range = rest.range(of: "_x") {
            result += rest[..<range.lowerBound]
            let after = rest[range.upperBound...]
            if after.count >= 5, after[after.index(after.startIndex, offsetBy: 4)] == "_",
                let value = UInt32(after.prefix(4), radix: 16), let scalar = Unicode.Scalar(value)
            {
                result.unicodeScalars.append(scalar)
                rest = after.dropFirst(5)
            } else {
                result += "_x"
                rest = after
            }
        }
        return result + rest
    }

    static func isNameCharacter(_ scalar: Unicode.Scalar, start: Bool) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "_": return true
        case "0"..."9", "-", ".": return !start
        default: return scalar.value >= 0xC0 && scalar.value != 0xD7 && scalar.value != 0xF7 && scalar.value < 0x2000
        }
    }

    static let mapiPrefix = Array("http://schemas.microsoft.com/mapi/".utf8)

    /// Friendly names under `http://schemas.microsoft.com/mapi/` that Exchange maps to named
    /// properties: the contact's e-mail addresses (PSETID_Address 0x8083, 0x8082, 0x8084 …).
    static let mapiAliases: [String: String] = {
        var aliases: [String: String] = [:]
        for (index, base) in [(1, 0x8080), (2, 0x8090), (3, 0x80A0)] {
            aliases["email\(index)emailaddress"] = DAVNamespace.addressSet + String(format: "0x%04x", base + 3)
            aliases["email\(index)addrtype"] = DAVNamespace.addressSet + String(format: "0x%04x", base + 2)
            aliases["email\(index)originaldisplayname"] = DAVNamespace.addressSet + String(format: "0x%04x", base + 4)
        }
        return aliases
    }()

    /// The canonical form of a named MAPI property given by number (`0x8101`, `0x00008101`,
    /// `33025`) as `0x8101`, or by a friendly alias (`…/mapi/email1emailaddress`), so the forms
    /// clients send name one property; other names unchanged.
    public static func canonical(_ name: String) -> String {
        // Most names are neither MAPI names nor repaired: answered without Foundation's searches
        // (this runs for every property of every answer).
        let hasPercent = name.utf8.contains(UInt8(ascii: "%"))
        guard hasPercent || name.utf8.starts(with: mapiPrefix) else { return name }
        // Braces arrive percent-encoded when the namespace went through the XML repair.
        let name =
            hasPercent
            ? name.replacingOccurrences(of: "%7B", with: "{").replacingOccurrences(of: "%7D", with: "}") : name
        let (namespace, local) = split(name)
        if namespace == DAVNamespace.mapi, let named = mapiAliases[local.lowercased()] { return named }
        guard namespace.hasPrefix("http://schemas.microsoft.com/mapi/id/") else { return name }
        let lower = local.lowercased()
        var number: UInt32?
        if lower.hasPrefix("0x") {
            number = UInt32(lower.dropFirst(2), radix: 16)
        } else if lower.allSatisfy(\.isNumber) {
            number = UInt32(lower)
        }
        guard let number else { return name }
        return namespace.lowercased() + String(format: "0x%04x", number)
    }
}

/// Exchange's element names that start with a digit (`<e:0x00008101>`, `<g:32899>`), which no
/// XML parser accepts: rewritten to the escaped form (`<e:_x0030_x00008101>`) before parsing, as
/// Evolution and DavMail do. ``DAVPropertyName/decodeLocalName(_:)`` undoes it on the parsed name.
public enum DAVXMLRepair {
    /// The document with every element name whose local part starts with a digit escaped, and the
    /// braces of namespace URIs (`…/mapi/id/{00062003-…}/`, which libxml2 refuses as URIs)
    /// percent-encoded; ``DAVPropertyName/canonical(_:)`` restores them. The document itself when
    /// it has neither (no copy).
    public static func escapeDigitLeadingNames(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        var output: [UInt8]?
        var index = 0
        var copied = 0
        var inTag = false
        var quote: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            if inTag {
                if let open = quote {
                    if byte == open {
                        quote = nil
                    } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") {
                        if output == nil { output = [] }
                        output!.append(contentsOf: bytes[copied..<index])
                        output!.append(contentsOf: Array((byte == UInt8(ascii: "{") ? "%7B" : "%7D").utf8))
                        copied = index + 1
                    }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: ">") {
                    inTag = false
                }
                index += 1
                continue
            }
            guard byte == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            var cursor = index + 1
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "!") {
                // A comment or CDATA section: skip to its end.
                let terminator: [UInt8] =
                    bytes[cursor...].starts(with: Array("![CDATA[".utf8)) ? Array("]]>".utf8) : Array("-->".utf8)
                index = find(terminator, in: bytes, from: cursor) ?? bytes.count
                continue
            }
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "/") { cursor += 1 }
            // The name: an optional prefix, then the local part.
            var localStart = cursor
            var scan = cursor
            while scan < bytes.count, !isDelimiter(bytes[scan]) {
                if bytes[scan] == UInt8(ascii: ":") { localStart = scan + 1 }
                scan += 1
            }
            if localStart < scan, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[localStart]) {
                if output == nil { output = [] }
                output!.append(contentsOf: bytes[copied..<localStart])
                output!.append(contentsOf: Array(String(format: "_x%04X_", UInt32(bytes[localStart])).utf8))
                copied = localStart + 1
            }
            index = scan
            inTag = true
        }
        guard var result = output else { return data }
        result.append(contentsOf: bytes[copied...])
        return Data(result)
    }

    static func isDelimiter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == 0x09
            || byte == 0x0A || byte == 0x0D
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], Array(bytes[index..<index + needle.count]) == needle {
                return index + needle.count
            }
            index += 1
        }
        return nil
    }
}
