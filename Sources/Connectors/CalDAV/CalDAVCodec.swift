import ConnectorAPI
import Foundation
import ICalendar
import VCard

/// An item read from a collection: its record, UID and the sync key stamped on it.
struct CalDAVDecoded: Sendable {
    var record: Record
    var uid: String?
    var syncKey: SyncKey?
}

/// Records to and from iCalendar (events, tasks) and vCard (addresses), with the sync key as the
/// `X-CONNECTOR-SYNCKEY` property. An update keeps what the item held beyond the record: the
/// properties of the old VEVENT/VTODO the record does not map (CREATED, URL, X- properties …,
/// with SEQUENCE counted up) and a vCard's unknown properties (PHOTO, NICKNAME …).
struct CalDAVCodec: Sendable {
    /// The property that carries the sync key.
    static let syncKeyProperty = "X-CONNECTOR-SYNCKEY"

    /// The zone floating times and task dates are read in.
    let zone: TimeZone
    /// The vCard version of new cards (an update keeps the card's own version).
    let vcardVersion: VCardVersion

    /// `.ics` or `.vcf`.
    static func fileExtension(_ kind: DataKind) -> String { kind == .address ? ".vcf" : ".ics" }

    /// The Content-Type of a PUT.
    static func contentType(_ kind: DataKind) -> String {
        kind == .address ? "text/vcard; charset=utf-8" : "text/calendar; charset=utf-8"
    }

    /// The component a calendar item of the kind holds.
    static func component(_ kind: DataKind) -> String { kind == .task ? "VTODO" : "VEVENT" }

    /// Properties of a VEVENT or VTODO the record writes itself (or that must not be carried to
    /// a rewritten item); every other property of the old master is kept on an update.
    static let mappedProperties: Set<String> = [
        "UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "DUE", "SUMMARY", "LOCATION", "DESCRIPTION", "CLASS",
        "CATEGORIES", "TRANSP", "STATUS", "PERCENT-COMPLETE", "COMPLETED", "PRIORITY", "ORGANIZER", "ATTENDEE",
        "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "SEQUENCE", "LAST-MODIFIED",
        "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-ALLDAYEVENT", "X-MICROSOFT-CDO-TASKSTATUS",
    ]

    /// The text of a record: a VCALENDAR or a vCard with `uid`, the sync key when given, and what
    /// `previous` (the item's current text, for an update) held beyond the record.
    func encode(_ record: Record, uid: String, syncKey: SyncKey?, previous: String?) throws -> String {
        switch record {
        case .address(let address):
            let old = try previous.map(VCardContact.read)
            var extra = old?.unknown ?? []
            if let syncKey {
                extra.removeAll { $0.name == Self.syncKeyProperty }
                extra.append(ICalProperty.text(Self.syncKeyProperty, syncKey.rawValue))
            }
            return VCardContact.write(address, uid: uid, version: old?.version ?? vcardVersion, extra: extra)
        case .calendar(let event):
            let text = ICalendarEvent.write(event, uid: uid, stamp: Date())
            return try stamp(text, component: "VEVENT", syncKey: syncKey, previous: previous)
        case .task(let task):
            let text = ICalendarTask.write(task, uid: uid, stamp: Date())
            return try stamp(text, component: "VTODO", syncKey: syncKey, previous: previous)
        case .mail:
            throw CalDAVCodecError("mail is not a CalDAV/CardDAV kind")
        }
    }

    /// Adds the sync key and the old master's unmapped properties to the master component of
    /// `text`, and counts SEQUENCE up from the old one.
    func stamp(_ text: String, component: String, syncKey: SyncKey?, previous: String?) throws -> String {
        var calendar = try ICalComponent.parse(text)
        guard let index = Self.masterIndex(calendar, component) else { return text }
        var master = calendar.components[index]
        if let previous, let old = try? ICalComponent.parse(previous),
            let oldIndex = Self.masterIndex(old, component)
        {
            let oldMaster = old.components[oldIndex]
            for property in oldMaster.properties where !Self.mappedProperties.contains(property.name) {
                if syncKey != nil, property.name == Self.syncKeyProperty { continue }
                master.add(property)
            }
            if let sequence = oldMaster.property("SEQUENCE").flatMap({
                Int($0.value.trimmingCharacters(in: .whitespaces))
            }) {
                master.add("SEQUENCE", String(sequence + 1))
            }
        }
        if let syncKey { master.add(.text(Self.syncKeyProperty, syncKey.rawValue)) }
        calendar.components[index] = master
        return calendar.serialized()
    }

    /// The index of the first component of that name without RECURRENCE-ID (else the first).
    static func masterIndex(_ calendar: ICalComponent, _ name: String) -> Int? {
        calendar.components.firstIndex { $0.name == name && $0.property("RECURRENCE-ID") == nil }
            ?? calendar.components.firstIndex { $0.name == name }
    }

    /// The record of an item's text; nil when the item is not of the kind (a VTODO in a
    /// calendar of events, a vCard in a calendar).
    ///
    /// - Throws: the parser's error for text that cannot be read as the kind.
    func decode(_ text: String, kind: DataKind) throws -> CalDAVDecoded? {
        switch kind {
        case .address:
            guard text.range(of: "BEGIN:VCARD", options: .caseInsensitive) != nil else { return nil }
            let parsed = try VCardContact.read(text)
            let key = parsed.unknown.first { $0.name == Self.syncKeyProperty }?.textValue
            return CalDAVDecoded(
                record: .address(parsed.address), uid: parsed.uid, syncKey: key.map(SyncKey.init(rawValue:)))
        case .calendar, .task:
            let name = Self.component(kind)
            let calendar = try ICalComponent.parse(text)
            let root = calendar.name == "VCALENDAR" ? calendar : ICalComponent("VCALENDAR", components: [calendar])
            guard let index = Self.masterIndex(root, name) else { return nil }
            let key = root.components[index].property(Self.syncKeyProperty)?.textValue
            let syncKey = key.flatMap { $0.isEmpty ? nil : SyncKey(rawValue: $0) }
            if kind == .task {
                let parsed = try ICalendarTask.read(text, defaultZone: zone)
                return CalDAVDecoded(record: .task(parsed.task), uid: parsed.uid, syncKey: syncKey)
            }
            let parsed = try ICalendarEvent.read(text, defaultZone: zone)
            return CalDAVDecoded(record: .calendar(parsed.event), uid: parsed.uid, syncKey: syncKey)
        case .mail:
            return nil
        }
    }
}

/// A record the codec cannot write.
struct CalDAVCodecError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
