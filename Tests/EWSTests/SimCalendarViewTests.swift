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
}
