import ConnectorAPI
import EWS
import Foundation
import XML

extension EWSRecordCodec {
    /// Writes the `t:Updates` changes that set the named fields of `record` (one property per change).
    func writeUpdates(_ record: Record, fields: Set<String>, _ w: inout XMLWriter) {
        let item = Self.elementName(record.kind)
        func set(_ uri: String, _ content: (inout XMLWriter) -> Void) {
            w.element("t:SetItemField") { w in
                w.start("t:FieldURI", [("FieldURI", uri)])
                w.end()
                w.element("t:\(item)", [], content)
            }
        }
        func setIndexed(_ uri: String, _ index: String, _ content: (inout XMLWriter) -> Void) {
            w.element("t:SetItemField") { w in
                w.start("t:IndexedFieldURI", [("FieldURI", uri), ("FieldIndex", index)])
                w.end()
                w.element("t:\(item)", [], content)
            }
        }
        func delete(_ uri: String, index: String? = nil) {
            w.element("t:DeleteItemField") { w in
                if let index {
                    w.start("t:IndexedFieldURI", [("FieldURI", uri), ("FieldIndex", index)])
                } else {
                    w.start("t:FieldURI", [("FieldURI", uri)])
                }
                w.end()
            }
        }
        func text(_ uri: String, _ name: String, _ value: String?) {
            if let value, !value.isEmpty { set(uri) { $0.element("t:\(name)", value) } } else { delete(uri) }
        }
        func extended(_ property: Extended, _ value: String?) {
            if let value, !value.isEmpty {
                w.element("t:SetItemField") { w in
                    property.writeURI(&w)
                    w.element("t:\(item)") { w in property.write(value, &w) }
                }
            } else {
                w.element("t:DeleteItemField") { w in property.writeURI(&w) }
            }
        }
        func body(_ value: String?) {
            if let value, !value.isEmpty {
                set("item:Body") { $0.element("t:Body", value, [("BodyType", "Text")]) }
            } else {
                delete("item:Body")
            }
        }
        func categories(_ values: [String]) {
            if values.isEmpty {
                delete("item:Categories")
            } else {
                set("item:Categories") { writeCategories(values, &$0) }
            }
        }
        let sorted = fields.sorted()

        switch record {
        case .address(let a):
            for field in sorted {
                switch field {
                case "salutation": extended(Self.salutation, a.salutation)
                case "title": extended(Self.title, a.title)
                case "givenName": text("contacts:GivenName", "GivenName", a.givenName)
                case "middleName": text("contacts:MiddleName", "MiddleName", a.middleName)
                case "familyName": text("contacts:Surname", "Surname", a.familyName)
                case "company": text("contacts:CompanyName", "CompanyName", a.company)
                case "department": text("contacts:Department", "Department", a.department)
                case "jobTitle": text("contacts:JobTitle", "JobTitle", a.jobTitle)
                case "webPage": text("contacts:BusinessHomePage", "BusinessHomePage", a.webPage)
                case "notes": body(a.notes)
                case "categories": categories(a.categories)
                case "birthday":
                    if let date = a.birthday {
                        set("contacts:Birthday") { $0.element("t:Birthday", Self.birthday(date)) }
                    } else {
                        delete("contacts:Birthday")
                    }
                case "emails":
                    for index in 1...3 {
                        let key = "EmailAddress\(index)"
                        if index <= a.emails.count {
                            setIndexed("contacts:EmailAddress", key) { w in
                                w.element("t:EmailAddresses") { w in
                                    w.element("t:Entry", a.emails[index - 1], [("Key", key)])
                                }
                            }
                        } else {
                            delete("contacts:EmailAddress", index: key)
                        }
                    }
                case "phones":
                    for (kind, key) in Self.phoneKeys {
                        if let number = a.phones[kind] {
                            setIndexed("contacts:PhoneNumber", key) { w in
                                w.element("t:PhoneNumbers") { w in w.element("t:Entry", number, [("Key", key)]) }
                            }
                        } else {
                            delete("contacts:PhoneNumber", index: key)
                        }
                    }
                case "businessAddress", "homeAddress", "otherAddress":
                    let key = field == "businessAddress" ? "Business" : field == "homeAddress" ? "Home" : "Other"
                    let address =
                        field == "businessAddress"
                        ? a.businessAddress : field == "homeAddress" ? a.homeAddress : a.otherAddress
                    let parts: [(String, String?)] = [
                        ("Street", address?.street), ("City", address?.city), ("State", address?.state),
                        ("CountryOrRegion", address?.country), ("PostalCode", address?.postalCode),
                    ]
                    for (part, value) in parts {
                        if let value, !value.isEmpty {
                            setIndexed("contacts:PhysicalAddress:\(part)", key) { w in
                                w.element("t:PhysicalAddresses") { w in writeAddressEntry(key, address!, only: part, &w)
                                }
                            }
                        } else {
                            delete("contacts:PhysicalAddress:\(part)", index: key)
                        }
                    }
                default: break
                }
            }
            if !fields.isDisjoint(with: ["givenName", "familyName", "company"]) {
                text("contacts:FileAs", "FileAs", Self.fileAs(a))
            }
            // The display name is made of the title and all three names: set only when the update
            // knows them all (a side that does not know the middle name leaves Outlook's as it is).
            if fields.isSuperset(of: ["title", "givenName", "middleName", "familyName"]) {
                text("contacts:DisplayName", "DisplayName", Self.displayName(a))
            }
        case .calendar(let e):
            for field in sorted {
                switch field {
                case "subject": text("item:Subject", "Subject", e.subject)
                case "body": body(e.body)
                case "location": text("calendar:Location", "Location", e.location)
                case "categories": categories(e.categories)
                case "isPrivate":
                    set("item:Sensitivity") { $0.element("t:Sensitivity", e.isPrivate ? "Private" : "Normal") }
                case "busyStatus":
                    set("calendar:LegacyFreeBusyStatus") {
                        $0.element("t:LegacyFreeBusyStatus", Self.busy(e.busyStatus))
                    }
                case "reminderMinutes":
                    set("item:ReminderIsSet") {
                        $0.element("t:ReminderIsSet", e.reminderMinutes == nil ? "false" : "true")
                    }
                    if let minutes = e.reminderMinutes {
                        set("item:ReminderMinutesBeforeStart") {
                            $0.element("t:ReminderMinutesBeforeStart", "\(minutes)")
                        }
                    }
                case "timing":
                    let (start, end, allDay) = startEnd(e.timing)
                    let zoneID = windowsZone(e.timing)
                    set("calendar:Start") { $0.element("t:Start", EWSDate.format(start)) }
                    set("calendar:End") { $0.element("t:End", EWSDate.format(end)) }
                    set("calendar:IsAllDayEvent") { $0.element("t:IsAllDayEvent", allDay ? "true" : "false") }
                    set("calendar:StartTimeZone") { w in
                        w.start("t:StartTimeZone", [("Id", zoneID)])
                        w.end()
                    }
                    set("calendar:EndTimeZone") { w in
                        w.start("t:EndTimeZone", [("Id", zoneID)])
                        w.end()
                    }
                case "attendees":
                    for (name, role) in [
                        ("RequiredAttendees", Attendee.Role.required), ("OptionalAttendees", .optional),
                        ("Resources", .resource),
                    ] {
                        let list = e.attendees.filter { $0.role == role }
                        if list.isEmpty {
                            delete("calendar:\(name)")
                        } else {
                            set("calendar:\(name)") { writeAttendees(name, list, &$0) }
                        }
                    }
                case "recurrence":
                    if let recurrence = e.recurrence {
                        set("calendar:Recurrence") { Self.ewsRecurrence(recurrence).write(&$0) }
                    } else {
                        delete("calendar:Recurrence")
                    }
                default: break
                }
            }
        case .task(let t):
            for field in sorted {
                switch field {
                case "subject": text("item:Subject", "Subject", t.subject)
                case "body": body(t.body)
                case "categories": categories(t.categories)
                case "importance": set("item:Importance") { $0.element("t:Importance", Self.importance(t.importance)) }
                case "reminderAt":
                    set("item:ReminderIsSet") { $0.element("t:ReminderIsSet", t.reminderAt == nil ? "false" : "true") }
                    if let reminder = t.reminderAt {
                        set("item:ReminderDueBy") { $0.element("t:ReminderDueBy", EWSDate.format(reminder)) }
                    }
                case "status":
                    set("task:Status") { $0.element("t:Status", Self.status(t.status)) }
                case "percentComplete":
                    set("task:PercentComplete") {
                        $0.element("t:PercentComplete", "\(t.status == .completed ? 100 : t.percentComplete)")
                    }
                case "completedAt":
                    if t.status == .completed, let done = t.completedAt {
                        set("task:CompleteDate") { $0.element("t:CompleteDate", EWSDate.format(done)) }
                    }
                case "dueDate":
                    if let due = t.dueDate {
                        set("task:DueDate") { $0.element("t:DueDate", taskDate(due)) }
                    } else {
                        delete("task:DueDate")
                    }
                case "startDate":
                    if let start = t.startDate {
                        set("task:StartDate") { $0.element("t:StartDate", taskDate(start)) }
                    } else {
                        delete("task:StartDate")
                    }
                case "recurrence":
                    if let recurrence = t.recurrence {
                        set("task:Recurrence") { Self.ewsRecurrence(recurrence).write(&$0) }
                    } else {
                        delete("task:Recurrence")
                    }
                default: break
                }
            }
        case .mail(let m):
            for field in sorted where field == "isRead" {
                set("message:IsRead") { $0.element("t:IsRead", m.isRead ? "true" : "false") }
            }
        }
    }

    /// Whether `writeUpdates` writes anything for these fields (an update of only unsupported fields is skipped).
    static func writable(_ kind: DataKind) -> Set<String> {
        switch kind {
        case .address:
            [
                "salutation", "title", "givenName", "middleName", "familyName", "company", "department", "jobTitle",
                "webPage",
                "notes", "categories", "birthday", "emails", "phones", "businessAddress", "homeAddress", "otherAddress",
            ]
        case .calendar:
            [
                "subject", "body", "location", "categories", "isPrivate", "busyStatus", "reminderMinutes", "timing",
                "attendees", "recurrence",
            ]
        case .task:
            [
                "subject", "body", "categories", "importance", "reminderAt", "status", "percentComplete", "completedAt",
                "dueDate", "startDate", "recurrence",
            ]
        case .mail: ["isRead"]
        }
    }
}
