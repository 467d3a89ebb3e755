import Foundation

/// An instant from an ISO 8601 UTC text such as `2030-06-10T07:00:00Z`.
public func instant(_ text: String) -> Date {
    guard let date = ISO8601DateFormatter().date(from: text) else { fatalError("not an ISO 8601 instant: \(text)") }
    return date
}

/// Joins lines with CRLF, as servers send iCalendar and vCard.
public func crlf(_ lines: String) -> String {
    lines.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
}

/// The physical lines of serialized text (without their CRLF), as raw bytes.
public func physicalLines(_ text: String) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    let bytes = Array(text.utf8)
    var index = 0
    while index < bytes.count {
        if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
            lines.append(current)
            current = []
            index += 2
        } else {
            current.append(bytes[index])
            index += 1
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}
