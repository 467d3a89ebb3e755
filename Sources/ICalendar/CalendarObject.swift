import ConnectorAPI
import Foundation

/// The VCALENDAR around events and tasks.
enum CalendarObject {
    /// The PRODID this library writes.
    static let productID = "-//connector-host//ICalendar//EN"

    /// An empty VCALENDAR with PRODID, VERSION 2.0 and, when given, METHOD.
    static func calendar(method: String?) -> ICalComponent {
        var calendar = ICalComponent("VCALENDAR")
        calendar.add(.text("PRODID", productID))
        calendar.add("VERSION", "2.0")
        if let method, !method.isEmpty { calendar.add("METHOD", method.uppercased()) }
        return calendar
    }

    /// The VCALENDAR of `text`; a bare VEVENT or VTODO is taken as a calendar holding it.
    ///
    /// - Throws: ``ICalendarError`` for unparsable text or another top-level component.
    static func parse(_ text: String) throws -> ICalComponent {
        let root = try ICalComponent.parse(text)
        switch root.name {
        case "VCALENDAR": return root
        case "VEVENT", "VTODO": return ICalComponent("VCALENDAR", components: [root], line: root.line)
        default: throw ICalendarError(line: root.line, "expected BEGIN:VCALENDAR, found BEGIN:\(root.name)")
        }
    }

    /// The date nearest to an instant read in UTC: the calendar date of a local midnight for every
    /// zone from UTC-12 to UTC+12, which is how all-day occurrences given as instants are dated.
    static func nearestDate(_ instant: Date) -> LocalDate {
        LocalDateTime(epochSeconds: Int(instant.timeIntervalSince1970.rounded(.down)) + 43_200).date
    }
}
