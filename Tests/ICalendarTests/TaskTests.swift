import ConnectorAPI
import Foundation
import ICalendar
import TestSupport
import Testing

@Suite("iCalendar tasks (VTODO)")
struct TaskTests {
    let stamp = instant("2030-01-02T03:04:05Z")

    @Test(
        "a task with every field reads back the same",
        arguments: [
            TaskStatus.notStarted, .inProgress, .completed, .waitingOnOthers, .deferred,
        ])
    func roundTrip(_ status: TaskStatus) throws {
        let task = TaskItem(
            subject: "Exposé senden, bitte; heute", body: "Zeile 1\nZeile 2 \\ Ende",
            startDate: LocalDate(year: 2030, month: 3, day: 29), dueDate: LocalDate(year: 2030, month: 4, day: 2),
            status: status, percentComplete: status == .completed ? 100 : 40,
            completedAt: status == .completed ? instant("2030-04-01T15:30:00Z") : nil, importance: .high,
            reminderAt: instant("2030-04-01T07:00:00Z"), categories: ["Kunde", "A, B"],
            recurrence: Recurrence(
                pattern: .weekly(interval: 1, days: [.friday], firstDayOfWeek: .monday),
                range: .endDate(
                    start: LocalDate(year: 2030, month: 3, day: 29), end: LocalDate(year: 2030, month: 6, day: 28))))
        let text = ICalendarTask.write(task, uid: "task-1", stamp: stamp)
        let parsed = try ICalendarTask.read(text, defaultZone: zone("Europe/Berlin"))
        #expect(parsed.task == task)
        #expect(parsed.uid == "task-1")
        #expect(text.contains("BEGIN:VTODO\r\n"))
        #expect(text.contains("DTSTART;VALUE=DATE:20300329\r\n"))
        #expect(text.contains("DUE;VALUE=DATE:20300402\r\n"))
        #expect(text.contains("PRIORITY:1\r\n"))
        #expect(text.contains("TRIGGER;VALUE=DATE-TIME:20300401T070000Z\r\n"))
        #expect(text.contains("RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=FR;WKST=MO;UNTIL=20300628\r\n"))
        let expectedStatus =
            switch status {
            case .notStarted: "STATUS:NEEDS-ACTION"
            case .inProgress, .waitingOnOthers, .deferred: "STATUS:IN-PROCESS"
            case .completed: "STATUS:COMPLETED"
            }
        #expect(text.contains(expectedStatus + "\r\n"))
        if status == .completed { #expect(text.contains("COMPLETED:20300401T153000Z\r\n")) }
    }

    @Test("a minimal task: no dates, normal importance, nothing optional written")
    func minimal() throws {
        let task = TaskItem(subject: "Anrufen", importance: .low)
        let text = ICalendarTask.write(task, uid: "m", stamp: stamp)
        #expect(!text.contains("DTSTART"))
        #expect(!text.contains("VALARM"))
        #expect(text.contains("PRIORITY:9\r\n"))
        #expect(try ICalendarTask.read(text, defaultZone: zone("UTC")).task == task)
    }

    @Test("PRIORITY 1–4 is high, 0 and 5 normal, 6–9 low; CANCELLED is deferred; dates as UTC times")
    func readingOtherWriters() throws {
        func task(_ lines: String) throws -> TaskItem {
            let text =
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20300101T000000Z\nEND:VEVENT\nBEGIN:VTODO\n\(lines)\n"
                + "END:VTODO\nEND:VCALENDAR"
            return try ICalendarTask.read(text, defaultZone: zone("America/New_York")).task
        }
        for (priority, importance) in [
            (1, Importance.high), (4, .high), (0, .normal), (5, .normal), (6, .low), (9, .low),
        ] {
            #expect(try task("PRIORITY:\(priority)").importance == importance, "PRIORITY:\(priority)")
        }
        #expect(try task("STATUS:CANCELLED").status == .deferred)
        #expect(try task("STATUS:IN-PROCESS\nPERCENT-COMPLETE:30").status == .inProgress)
        #expect(try task("COMPLETED:20300105T101010Z").status == .completed)
        #expect(try task("PERCENT-COMPLETE:20").status == .inProgress)
        #expect(try task("SUMMARY:x").status == .notStarted)
        // DavMail-like dates at 00:00 UTC and Exchange-like local midnights in UTC keep their calendar date.
        let dated = try task("DTSTART:20300601T000000Z\nDUE;TZID=Europe/Berlin:20300610T000000")
        #expect(dated.startDate == LocalDate(year: 2030, month: 6, day: 1))
        #expect(dated.dueDate == LocalDate(year: 2030, month: 6, day: 10))
        // A relative alarm counts from the start at midnight in the default zone (EDT, UTC-4).
        let reminded = try task(
            "DTSTART;VALUE=DATE:20300601\nBEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT2H\nEND:VALARM")
        #expect(reminded.reminderAt == instant("2030-06-01T02:00:00Z"))
        #expect(throws: ICalendarError.self) { try task("DUE;VALUE=DATE:20300601\nRRULE:FREQ=MINUTELY") }
        #expect(throws: ICalendarError.self) { try task("RRULE:FREQ=DAILY") }
    }

    @Test("a calendar without VTODO is an error")
    func noTodo() {
        #expect(throws: ICalendarError.self) {
            try ICalendarTask.read("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR", defaultZone: zone("UTC"))
        }
    }
}
