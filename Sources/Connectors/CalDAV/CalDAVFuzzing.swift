import ConnectorAPI
import Foundation
import VCard

/// What the CalDAV fuzz target runs (Fuzz/, scripts/fuzz.sh): the adapter's readers of what a
/// CalDAV/CardDAV server sends, with any input.
public enum CalDAVFuzzingEntryPoints {
    /// A multistatus answer (a sync-collection REPORT, a multiget, a PROPFIND) as it arrives, and
    /// each response's calendar or address data decoded as the adapter would; the whole input also
    /// as a bare vCard and iCalendar object.
    public static func response(_ data: Data) {
        let codec = CalDAVCodec(zone: TimeZone(identifier: "Europe/Berlin")!, vcardVersion: .v3)
        let text = String(decoding: data, as: UTF8.self)
        for kind in [DataKind.address, .calendar, .task] { _ = try? codec.decode(text, kind: kind) }
        _ = try? VCardContact.read(text)
        guard let multistatus = try? CalDAVMultistatus.parse(data) else { return }
        _ = multistatus.syncToken
        for response in multistatus.responses.prefix(50) {
            _ = response.text(DAVName.getETag)
            for name in [DAVName.calendarData, DAVName.addressData] {
                guard let payload = response.text(name) else { continue }
                for kind in [DataKind.address, .calendar, .task] { _ = try? codec.decode(payload, kind: kind) }
            }
        }
    }
}
