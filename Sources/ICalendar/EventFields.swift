import ConnectorAPI
import Foundation

/// The properties of events that map one to one: busy state, sensitivity, people, alarms.
enum EventFields {
    /// `X-MICROSOFT-CDO-BUSYSTATUS` values.
    static func busyValue(_ status: BusyStatus) -> String {
        switch status {
        case .free: "FREE"
        case .tentative: "TENTATIVE"
        case .busy: "BUSY"
        case .outOfOffice: "OOF"
        case .workingElsewhere: "WORKINGELSEWHERE"
        }
    }

    /// The busy state: `X-MICROSOFT-CDO-BUSYSTATUS`, else `X-MICROSOFT-CDO-INTENDEDSTATUS`, else
    /// TRANSP (TRANSPARENT is free), else busy.
    static func busyStatus(_ event: ICalComponent) -> BusyStatus {
        for name in ["X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS"] {
            switch event.property(name)?.value.trimmingSpaces.uppercased() {
            case "FREE": return .free
            case "TENTATIVE": return .tentative
            case "BUSY": return .busy
            case "OOF": return .outOfOffice
            case "WORKINGELSEWHERE": return .workingElsewhere
            default: continue
            }
        }
        return event.property("TRANSP")?.value.trimmingSpaces.uppercased() == "TRANSPARENT" ? .free : .busy
    }

    /// CLASS:PRIVATE and CLASS:CONFIDENTIAL are private.
    static func isPrivate(_ component: ICalComponent) -> Bool {
        ["PRIVATE", "CONFIDENTIAL"].contains(component.property("CLASS")?.value.trimmingSpaces.uppercased() ?? "")
    }

    /// Every CATEGORIES property's values, in order, without empty ones.
    static func categories(_ component: ICalComponent) -> [String] {
        component.properties(named: "CATEGORIES").flatMap(\.listValues).filter { !$0.trimmingSpaces.isEmpty }
    }

    /// A CATEGORIES property, or nil for none.
    static func categoriesProperty(_ categories: [String]) -> ICalProperty? {
        guard !categories.isEmpty else { return nil }
        return ICalProperty("CATEGORIES", value: categories.map(ICalText.escape).joined(separator: ","))
    }

    /// The text of a TEXT property, nil when absent or empty.
    static func text(_ component: ICalComponent, _ name: String) -> String? {
        guard let value = component.property(name)?.textValue, !value.isEmpty else { return nil }
        return value
    }

    // MARK: People

    /// `ORGANIZER;CN=…:mailto:…`.
    static func organizerProperty(_ organizer: Attendee) -> ICalProperty {
        var parameters: [ICalParameter] = []
        if let name = organizer.name, !name.isEmpty { parameters.append(ICalParameter("CN", name)) }
        return ICalProperty("ORGANIZER", parameters: parameters, value: "mailto:" + organizer.email)
    }

    /// `ATTENDEE;CN=…;ROLE=…;PARTSTAT=…:mailto:…`; resources as `CUTYPE=RESOURCE;ROLE=NON-PARTICIPANT`.
    static func attendeeProperty(_ attendee: Attendee) -> ICalProperty {
        var parameters: [ICalParameter] = []
        if let name = attendee.name, !name.isEmpty { parameters.append(ICalParameter("CN", name)) }
        switch attendee.role {
        case .required: parameters.append(ICalParameter("ROLE", "REQ-PARTICIPANT"))
        case .optional: parameters.append(ICalParameter("ROLE", "OPT-PARTICIPANT"))
        case .resource:
            parameters.append(ICalParameter("CUTYPE", "RESOURCE"))
            parameters.append(ICalParameter("ROLE", "NON-PARTICIPANT"))
        }
        let status: String? =
            switch attendee.response {
            case .accepted, .organizer: "ACCEPTED"
            case .declined: "DECLINED"
            case .tentative: "TENTATIVE"
            case .noResponse: "NEEDS-ACTION"
            case .unknown: nil
            }
        if let status { parameters.append(ICalParameter("PARTSTAT", status)) }
        return ICalProperty("ATTENDEE", parameters: parameters, value: "mailto:" + attendee.email)
    }

    /// The address of a `mailto:` value (any case), or a bare address; nil for other URIs.
    static func email(_ value: String) -> String? {
        let text = value.trimmingSpaces
        if text.lowercased().hasPrefix("mailto:") {
            let address = String(text.dropFirst(7)).trimmingSpaces
            return address.isEmpty ? nil : address
        }
        return text.contains("@") && !text.contains(":") ? text : nil
    }

    /// The organizer, with the response `organizer`.
    static func organizer(_ event: ICalComponent) -> Attendee? {
        guard let property = event.property("ORGANIZER"), let address = email(property.value) else { return nil }
        return Attendee(email: address, name: nonEmpty(property.parameter("CN")), role: .required, response: .organizer)
    }

    /// The attendees with an e-mail address; the organizer's own entry answers `organizer` unless it
    /// declined or is tentative.
    static func attendees(_ event: ICalComponent, organizer: Attendee?) -> [Attendee] {
        event.properties(named: "ATTENDEE").compactMap { property in
            guard let address = email(property.value) else { return nil }
            let role: Attendee.Role
            if ["RESOURCE", "ROOM"].contains(property.parameter("CUTYPE")?.uppercased() ?? "")
                || property.parameter("ROLE")?.uppercased() == "NON-PARTICIPANT"
            {
                role = .resource
            } else if property.parameter("ROLE")?.uppercased() == "OPT-PARTICIPANT" {
                role = .optional
            } else {
                role = .required
            }
            var response: Attendee.Response =
                switch property.parameter("PARTSTAT")?.uppercased() {
                case "ACCEPTED": .accepted
                case "DECLINED": .declined
                case "TENTATIVE": .tentative
                case "NEEDS-ACTION": .noResponse
                default: .unknown
                }
            if let organizer, organizer.email.caseInsensitiveCompare(address) == .orderedSame,
                response == .accepted || response == .unknown
            {
                response = .organizer
            }
            return Attendee(email: address, name: nonEmpty(property.parameter("CN")), role: role, response: response)
        }
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingSpaces.isEmpty else { return nil }
        return text
    }
}

/// VALARM components: relative and absolute triggers.
enum Alarm {
    /// When an alarm fires.
    enum Trigger {
        /// Seconds after (negative: before) the start, or the end when `fromEnd`.
        case relative(seconds: Int, fromEnd: Bool)
        case absolute(Date)
    }

    /// The triggers of a component's VALARMs in order, skipping `ACTION:NONE` and unreadable ones;
    /// floating absolute triggers are read in `zone`.
    static func triggers(_ component: ICalComponent, zone: TimeZone) -> [Trigger] {
        component.components(named: "VALARM").compactMap { alarm in
            guard alarm.property("ACTION")?.value.trimmingSpaces.uppercased() != "NONE",
                let trigger = alarm.property("TRIGGER")
            else { return nil }
            if trigger.parameter("VALUE")?.uppercased() == "DATE-TIME" || ValueFormat.dateTime(trigger.value) != nil {
                guard let value = ValueFormat.dateTime(trigger.value.trimmingSpaces) else { return nil }
                return .absolute(
                    value.isUTC ? value.value.utcInstant : FoundationZone(zone: zone).instant(for: value.value))
            }
            guard let duration = ValueFormat.duration(trigger.value) else { return nil }
            return .relative(
                seconds: duration.days * 86_400 + duration.seconds,
                fromEnd: trigger.parameter("RELATED")?.uppercased() == "END")
        }
    }

    /// A display alarm `minutes` before the start (`TRIGGER:-PT15M`).
    static func before(minutes: Int) -> ICalComponent {
        display(ICalProperty("TRIGGER", value: minutes == 0 ? "PT0M" : "-PT\(minutes)M"))
    }

    /// A display alarm at an instant (`TRIGGER;VALUE=DATE-TIME:…Z`).
    static func at(_ instant: Date) -> ICalComponent {
        display(
            ICalProperty("TRIGGER", parameters: [ICalParameter("VALUE", "DATE-TIME")], value: ValueFormat.utc(instant)))
    }

    private static func display(_ trigger: ICalProperty) -> ICalComponent {
        var alarm = ICalComponent("VALARM")
        alarm.add("ACTION", "DISPLAY")
        alarm.add(.text("DESCRIPTION", "Reminder"))
        alarm.add(trigger)
        return alarm
    }
}
