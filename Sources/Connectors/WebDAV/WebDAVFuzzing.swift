import ConnectorAPI
import ExchangeWebDAV
import Foundation
import ICalendar

/// What the WebDAV fuzz targets run (Fuzz/, scripts/fuzz.sh): the adapter's readers of what a
/// server or another client sends, with any input.
public enum WebDAVFuzzingEntryPoints {
    /// A multistatus answer as it arrives (digit-leading names repaired), and each response's
    /// properties decoded as a contact, a task and a mail.
    public static func multistatus(_ data: Data) {
        guard let responses = try? DAVMultistatus.parse(data) else { return }
        let codec = WebDAVCodec(zone: TimeZone(identifier: "Europe/Berlin")!)
        for response in responses.prefix(50) {
            _ = codec.address(response.properties)
            _ = codec.task(response.properties)
            _ = codec.mail(response.properties, attachments: [], folder: .inbox)
            _ = response.path
        }
    }

    /// An appointment's MIME or bare iCalendar: the calendar part found, read as an event and as a task.
    public static func calendar(_ data: Data) {
        let text = DAVMIME.calendarPart(of: data) ?? String(decoding: data, as: UTF8.self)
        let zone = TimeZone(identifier: "Europe/Berlin")!
        _ = try? ICalendarEvent.read(text, defaultZone: zone)
        _ = try? ICalendarTask.read(text, defaultZone: zone)
        _ = DAVDate.parse(String(decoding: data.prefix(40), as: UTF8.self))
    }
}
