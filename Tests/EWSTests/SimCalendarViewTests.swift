import Foundation
import Testing
import XML

/// FindItem with a CalendarView against the simulator, each request and response checked against
/// Microsoft's schema: series are expanded into their occurrences, which GetItem, UpdateItem and
/// DeleteItem then address by the ids the view gave.
@Suite("exchange-sim: CalendarView")
struct SimCalendarViewTests {
    /// A weekly series on Tuesdays at 10:00 Berlin time (5 occurrences from 1 December 2026) and a
    /// single appointment on 3 December; answers the series' id.
    func calendar(_ sim: SimSOAP) throws -> String {
        let series = try sim.call(
            """
            <m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>\
            <t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Jour fixe</t:Subject><t:ReminderIsSet>false</t:ReminderIsSet>\
            <t:Start>2026-12-01T09:00:00Z</t:Start><t:End>2026-12-01T10:00:00Z</t:End>\
            <t:Location>Büro</t:Location><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval>\
            <t:DaysOfWeek>Tuesday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence>\
            <t:StartDate>2026-12-01</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences>\
            </t:NumberedRecurrence></t:Recurrence><t:StartTimeZone Id="W. Europe Standard Time"/>\
            <t:EndTimeZone Id="W. Europe Standard Time"/></t:CalendarItem>\
            <t:CalendarItem><t:Subject>Besichtigung</t:Subject><t:Start>2026-12-03T13:00:00Z</t:Start>\
            <t:End>2026-12-03T14:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>
            """)
        #expect(series.allSatisfy { $0.string("ResponseCode") == "NoError" })
        return try #require(series.first?.path("Items", "CalendarItem", "ItemId")?.attributes["Id"])
    }

    /// The view's items (all properties FindItem gives) and the RootFolder element.
    func view(_ sim: SimSOAP, _ start: String, _ end: String, max: Int? = nil) throws -> (
        items: [XMLElement], root: XMLElement?
    ) {
        let limit = max.map { " MaxEntriesReturned=\"\($0)\"" } ?? ""
        let root = try sim.call(
            """
            <m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>\
            <m:CalendarView\(limit) StartDate="\(start)" EndDate="\(end)"/><m:ParentFolderIds>\
            <t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>
            """
        ).first?.child("RootFolder")
        return (root?.child("Items")?.children ?? [], root)
    }

    @Test("a series is expanded into its occurrences in the range, by start, with the single items")
    func expansion() throws {
        let sim = try SimSOAP()
        let master = try calendar(sim)
        let (items, root) = try view(sim, "2026-12-01T00:00:00Z", "2026-12-16T00:00:00Z")
        #expect(items.map { $0.string("Subject") } == ["Jour fixe", "Besichtigung", "Jour fixe", "Jour fixe"])
        #expect(
            items.map { $0.string("Start") } == [
                "2026-12-01T09:00:00Z", "2026-12-03T13:00:00Z", "2026-12-08T09:00:00Z", "2026-12-15T09:00:00Z",
            ])
        #expect(items.map { $0.string("CalendarItemType") } == ["Occurrence", "Single", "Occurrence", "Occurrence"])
        #expect(items.map { $0.string("IsRecurring") } == ["true", "false", "true", "true"])
        #expect(items.allSatisfy { $0.child("Recurrence") == nil }, "occurrences carry no pattern")
        #expect(items[0].string("Location") == "Büro", "an occurrence has the series' properties")
        let ids = items.compactMap { $0.child("ItemId")?.attributes["Id"] }
        #expect(Set(ids).count == 4 && !ids.contains(master), "each occurrence has an id of its own")
        #expect(root?.attributes["TotalItemsInView"] == "4")
        #expect(root?.attributes["IncludesLastItemInRange"] == "true")
        // The same ids the next time.
        #expect(
            try view(sim, "2026-12-01T00:00:00Z", "2026-12-16T00:00:00Z").items.map {
                $0.child("ItemId")?.attributes["Id"]
            } == ids)
        // An item ending exactly at the range's start is outside it; MaxEntriesReturned cuts the list.
        #expect(try view(sim, "2026-12-01T10:00:00Z", "2026-12-03T13:00:00Z").items.isEmpty)
        let (cut, cutRoot) = try view(sim, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", max: 2)
        #expect(cut.count == 2)
        #expect(cutRoot?.attributes["TotalItemsInView"] == "6")
        #expect(cutRoot?.attributes["IncludesLastItemInRange"] == "false")
        // A range that ends before it starts.
        let wrong = try sim.call(
            """
            <m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>\
            <m:CalendarView StartDate="2026-12-10T00:00:00Z" EndDate="2026-12-01T00:00:00Z"/><m:ParentFolderIds>\
            <t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>
            """)
        #expect(wrong.first?.string("ResponseCode") == "ErrorCalendarEndDateIsEarlierThanStartDate")
    }

    @Test("an occurrence's id from the view is read, changed and deleted like Exchange's")
    func occurrenceIDs() throws {
        let sim = try SimSOAP()
        let master = try calendar(sim)
        let range = ("2026-12-01T00:00:00Z", "2026-12-16T00:00:00Z")
        let ids = try view(sim, range.0, range.1).items.filter { $0.string("Subject") == "Jour fixe" }.compactMap {
            $0.child("ItemId")?.attributes["Id"]
        }
        #expect(ids.count == 3)
        // GetItem on the second occurrence.
        let second = try #require(try sim.get(ids[1]))
        #expect(second.string("Start") == "2026-12-08T09:00:00Z")
        #expect(second.string("CalendarItemType") == "Occurrence")
        // Its subject changed: an exception, listed in the master and shown under the same id.
        let changeKey = second.child("ItemId")?.attributes["ChangeKey"] ?? ""
        let updated = try sim.call(
            """
            <m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone">\
            <m:ItemChanges><t:ItemChange><t:ItemId Id="\(ids[1])" ChangeKey="\(changeKey)"/><t:Updates>\
            <t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Jour fixe (verschoben)\
            </t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>
            """)
        #expect(updated.first?.string("ResponseCode") == "NoError")
        let after = try view(sim, range.0, range.1).items.filter {
            $0.string("Subject")?.hasPrefix("Jour fixe") == true
        }
        #expect(after.map { $0.string("CalendarItemType") } == ["Occurrence", "Exception", "Occurrence"])
        #expect(after[1].child("ItemId")?.attributes["Id"] == ids[1])
        #expect(after[1].string("Subject") == "Jour fixe (verschoben)")
        let modified = try sim.get(master)?.child("ModifiedOccurrences")?.children ?? []
        #expect(modified.map { $0.child("ItemId")?.attributes["Id"] } == [ids[1]])
        // The third deleted: gone from the view, listed as deleted in the master; its id is refused.
        _ = try sim.call(
            """
            <m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds>\
            <t:ItemId Id="\(ids[2])"/></m:ItemIds></m:DeleteItem>
            """)
        let remaining = try view(sim, range.0, range.1).items.compactMap { $0.string("Start") }
        #expect(!remaining.contains("2026-12-15T09:00:00Z"))
        #expect(try sim.get(master)?.child("DeletedOccurrences")?.children.count == 1)
        let gone = try sim.call(
            """
            <m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>\
            <t:ItemId Id="\(ids[2])"/></m:ItemIds></m:GetItem>
            """)
        #expect(gone.first?.string("ResponseCode") == "ErrorCalendarOccurrenceIsDeletedFromRecurrence")
    }

    /// A weekly series on Mondays at 10:00 Berlin time from 16 March 2026, 4 occurrences across the
    /// DST change of 29 March (09:00Z twice, then 08:00Z twice); answers the series' id.
    func springSeries(_ sim: SimSOAP) throws -> String {
        let series = try sim.call(
            """
            <m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>\
            <t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem>\
            <t:Subject>Teamrunde</t:Subject><t:Start>2026-03-16T10:00:00+01:00</t:Start>\
            <t:End>2026-03-16T11:00:00+01:00</t:End><t:Location>Büro</t:Location><t:Recurrence>\
            <t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence>\
            <t:NumberedRecurrence><t:StartDate>2026-03-16</t:StartDate><t:NumberOfOccurrences>4\
            </t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>\
            <t:StartTimeZone Id="W. Europe Standard Time"/><t:EndTimeZone Id="W. Europe Standard Time"/>\
            </t:CalendarItem></m:Items></m:CreateItem>
            """)
        #expect(series.first?.string("ResponseCode") == "NoError")
        return try #require(series.first?.path("Items", "CalendarItem", "ItemId")?.attributes["Id"])
    }

    /// UpdateItem of one occurrence with `updates` (SetItemField/DeleteItemField elements); the
    /// response message.
    func updateOccurrence(_ sim: SimSOAP, _ target: String, _ updates: String) throws -> XMLElement? {
        try sim.call(
            """
            <m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone">\
            <m:ItemChanges><t:ItemChange>\(target)<t:Updates>\(updates)</t:Updates></t:ItemChange></m:ItemChanges>\
            </m:UpdateItem>
            """
        ).first
    }

    func set(_ uri: String, _ value: String) -> String {
        "<t:SetItemField><t:FieldURI FieldURI=\"\(uri)\"/><t:CalendarItem>\(value)</t:CalendarItem></t:SetItemField>"
    }

    @Test("an occurrence moved with StartTimeZone and EndTimeZone (as exchangelib sends them) is an exception there")
    func movedOccurrence() throws {
        let sim = try SimSOAP()
        let master = try springSeries(sim)
        let range = ("2026-03-16T00:00:00Z", "2026-04-13T00:00:00Z")
        let before = try view(sim, range.0, range.1).items
        #expect(
            before.map { $0.string("Start") } == [
                "2026-03-16T09:00:00Z", "2026-03-23T09:00:00Z", "2026-03-30T08:00:00Z", "2026-04-06T08:00:00Z",
            ], "10:00 in Berlin on both sides of the DST change")
        let id = try #require(before[2].child("ItemId")?.attributes["Id"])
        // exchangelib's save(update_fields=["start", "end"]): local times and both time zones.
        let moved = try updateOccurrence(
            sim, "<t:ItemId Id=\"\(id)\"/>",
            set("calendar:Start", "<t:Start>2026-03-30T12:00:00+02:00</t:Start>")
                + set("calendar:StartTimeZone", #"<t:StartTimeZone Id="W. Europe Standard Time"/>"#)
                + set("calendar:End", "<t:End>2026-03-30T13:00:00+02:00</t:End>")
                + set("calendar:EndTimeZone", #"<t:EndTimeZone Id="W. Europe Standard Time"/>"#))
        #expect(moved?.string("ResponseCode") == "NoError")
        #expect(moved?.path("Items", "CalendarItem", "ItemId")?.attributes["Id"] == id)
        let after = try view(sim, range.0, range.1).items
        #expect(after.count == 4)
        #expect(after.map { $0.string("CalendarItemType") } == ["Occurrence", "Occurrence", "Exception", "Occurrence"])
        #expect(after[2].string("Start") == "2026-03-30T10:00:00Z")
        #expect(after[2].string("End") == "2026-03-30T11:00:00Z")
        #expect(after[2].child("ItemId")?.attributes["Id"] == id)
        let exception = try #require(try sim.get(id))
        #expect(exception.string("Start") == "2026-03-30T10:00:00Z")
        #expect(exception.string("End") == "2026-03-30T11:00:00Z")
        #expect(exception.string("OriginalStart") == "2026-03-30T08:00:00Z")
        #expect(exception.string("CalendarItemType") == "Exception")
        #expect(exception.string("Location") == "Büro", "the rest is the series'")
        let modified = try #require(try sim.get(master)?.child("ModifiedOccurrences")?.children.first)
        #expect(modified.string("Start") == "2026-03-30T10:00:00Z")
        #expect(modified.string("OriginalStart") == "2026-03-30T08:00:00Z")
        // Exchange 2007's MeetingTimeZone, by OccurrenceItemId, with the other properties an
        // occurrence takes: reminder, free/busy, categories, importance, sensitivity, an extended property.
        let changed = try updateOccurrence(
            sim, "<t:OccurrenceItemId RecurringMasterId=\"\(master)\" InstanceIndex=\"4\"/>",
            set(
                "calendar:MeetingTimeZone",
                #"<t:MeetingTimeZone TimeZoneName="W. Europe Standard Time"><t:BaseOffset>-PT1H</t:BaseOffset>"#
                    + "</t:MeetingTimeZone>")
                + set("calendar:Start", "<t:Start>2026-04-06T09:00:00Z</t:Start>")
                + set("calendar:End", "<t:End>2026-04-06T10:00:00Z</t:End>")
                + set("item:ReminderIsSet", "<t:ReminderIsSet>true</t:ReminderIsSet>")
                + set(
                    "item:ReminderMinutesBeforeStart", "<t:ReminderMinutesBeforeStart>30</t:ReminderMinutesBeforeStart>"
                )
                + set("calendar:LegacyFreeBusyStatus", "<t:LegacyFreeBusyStatus>Tentative</t:LegacyFreeBusyStatus>")
                + set("item:Categories", "<t:Categories><t:String>Kunde</t:String></t:Categories>")
                + set("item:Importance", "<t:Importance>High</t:Importance>")
                + set("item:Sensitivity", "<t:Sensitivity>Private</t:Sensitivity>")
                + set("calendar:IsAllDayEvent", "<t:IsAllDayEvent>false</t:IsAllDayEvent>")
                    + """
                    <t:SetItemField><t:ExtendedFieldURI PropertyTag="0x3FDE" PropertyType="Integer"/><t:CalendarItem>\
                    \(extended("0x3FDE", "Integer", "65001"))</t:CalendarItem></t:SetItemField>
                    """
                + #"<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>"#)
        #expect(changed?.string("ResponseCode") == "NoError")
        let fourthID = try #require(after[3].child("ItemId")?.attributes["Id"])
        let fourth = try #require(
            try sim.get(
                fourthID,
                additional: #"<t:ExtendedFieldURI PropertyTag="0x3FDE" PropertyType="Integer"/>"#))
        #expect(fourth.string("Start") == "2026-04-06T09:00:00Z")
        #expect(fourth.string("ReminderMinutesBeforeStart") == "30")
        #expect(fourth.string("LegacyFreeBusyStatus") == "Tentative")
        #expect(fourth.child("Categories")?.children.map(\.text) == ["Kunde"])
        #expect(fourth.string("Importance") == "High")
        #expect(fourth.string("Sensitivity") == "Private")
        #expect(fourth.child("Location") == nil, "deleted on the occurrence only")
        #expect(fourth.child("ExtendedProperty")?.string("Value") == "65001")
        #expect(try sim.get(master)?.string("Location") == "Büro")
        #expect(try sim.get(master)?.child("ModifiedOccurrences")?.children.count == 2)
    }

    @Test("an occurrence whose subject alone changed stays at its own start, in the view and in GetItem")
    func renamedOccurrence() throws {
        let sim = try SimSOAP()
        let master = try springSeries(sim)
        let range = ("2026-03-16T00:00:00Z", "2026-04-13T00:00:00Z")
        let ids = try view(sim, range.0, range.1).items.compactMap { $0.child("ItemId")?.attributes["Id"] }
        #expect(ids.count == 4)
        let renamed = try updateOccurrence(
            sim, "<t:ItemId Id=\"\(ids[1])\"/>", set("item:Subject", "<t:Subject>Teamrunde (Kunde)</t:Subject>"))
        #expect(renamed?.string("ResponseCode") == "NoError")
        let after = try view(sim, range.0, range.1).items
        #expect(
            after.map { $0.string("Start") } == [
                "2026-03-16T09:00:00Z", "2026-03-23T09:00:00Z", "2026-03-30T08:00:00Z", "2026-04-06T08:00:00Z",
            ])
        #expect(after.map { $0.string("Subject") } == ["Teamrunde", "Teamrunde (Kunde)", "Teamrunde", "Teamrunde"])
        #expect(after[1].string("CalendarItemType") == "Exception")
        #expect(after[1].string("End") == "2026-03-23T10:00:00Z")
        #expect(after[1].child("ItemId")?.attributes["Id"] == ids[1])
        let exception = try #require(try sim.get(ids[1]))
        #expect(exception.string("Subject") == "Teamrunde (Kunde)")
        #expect(exception.string("Start") == "2026-03-23T09:00:00Z")
        #expect(exception.string("End") == "2026-03-23T10:00:00Z")
        #expect(exception.string("OriginalStart") == "2026-03-23T09:00:00Z")
        #expect(exception.child("Recurrence") == nil)
        let modified = try #require(try sim.get(master)?.child("ModifiedOccurrences")?.children.first)
        #expect(modified.string("Start") == "2026-03-23T09:00:00Z")
        #expect(modified.string("End") == "2026-03-23T10:00:00Z")
        // GetItem takes the shape: IdOnly plus the subject.
        let shaped = try sim.call(
            """
            <m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
            <t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>\
            <t:ItemId Id="\(ids[1])"/></m:ItemIds></m:GetItem>
            """
        ).first?.child("Items")?.children.first
        #expect(shaped?.children.map(\.name) == ["ItemId", "Subject"])
    }

    @Test("what belongs to the series is refused on an occurrence: its pattern, its UID, computed properties")
    func seriesPropertiesRefused() throws {
        let sim = try SimSOAP()
        let master = try springSeries(sim)
        let target = "<t:OccurrenceItemId RecurringMasterId=\"\(master)\" InstanceIndex=\"2\"/>"
        let recurrence = try updateOccurrence(
            sim, target,
            set(
                "calendar:Recurrence",
                """
                <t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>\
                <t:NumberedRecurrence><t:StartDate>2026-03-23</t:StartDate><t:NumberOfOccurrences>2\
                </t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>
                """))
        #expect(recurrence?.string("ResponseCode") == "ErrorInvalidPropertyForOperation")
        #expect(recurrence?.path("MessageXml", "FieldURI")?.attributes["FieldURI"] == "calendar:Recurrence")
        let uid = try updateOccurrence(sim, target, set("calendar:UID", "<t:UID>neu</t:UID>"))
        #expect(uid?.string("ResponseCode") == "ErrorInvalidPropertyForOperation")
        let recurring = try updateOccurrence(
            sim, target,
            set("item:Subject", "<t:Subject>nie gespeichert</t:Subject>")
                + set("calendar:IsRecurring", "<t:IsRecurring>false</t:IsRecurring>"))
        #expect(recurring?.string("ResponseCode") == "ErrorInvalidPropertySet")
        // Nothing of the refused changes was kept.
        let stored = try #require(try sim.get(master))
        #expect(stored.child("ModifiedOccurrences") == nil)
        #expect(stored.path("Recurrence", "WeeklyRecurrence") != nil)
        #expect(
            try view(sim, "2026-03-16T00:00:00Z", "2026-04-13T00:00:00Z").items.allSatisfy {
                $0.string("Subject") == "Teamrunde" && $0.string("CalendarItemType") == "Occurrence"
            })
    }

    @Test("an exception's changes and deletions survive a restart from the state file")
    func exceptionPersistence() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: state) }
        let sim = try SimSOAP(statePath: state)
        let master = try springSeries(sim)
        let changed = try updateOccurrence(
            sim, "<t:OccurrenceItemId RecurringMasterId=\"\(master)\" InstanceIndex=\"3\"/>",
            set("item:Subject", "<t:Subject>Teamrunde (Kunde)</t:Subject>")
                + #"<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>"#)
        #expect(changed?.string("ResponseCode") == "NoError")
        let id = try #require(changed?.path("Items", "CalendarItem", "ItemId")?.attributes["Id"])
        let reloaded = try SimSOAP(statePath: state)
        let exception = try #require(try reloaded.get(id))
        #expect(exception.string("Subject") == "Teamrunde (Kunde)")
        #expect(exception.string("Start") == "2026-03-30T08:00:00Z")
        #expect(exception.child("Location") == nil)
        #expect(try reloaded.get(master)?.string("Location") == "Büro")
    }
}
