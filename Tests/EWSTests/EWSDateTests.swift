import EWS
import Foundation
import ODBC
import Testing

/// Date text without Foundation's formatters: checked against Calendar for many instants.
@Suite("EWS and ODBC date text")
struct EWSDateTests {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    func reference(_ date: Date) -> String {
        let c = Self.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    @Test func formatAndParseAgreeWithCalendar() {
        var state: UInt64 = 42
        var instants: [Double] = [0, -1, 86_399, 86_400, 951_782_400, 4_102_444_800, -2_208_988_800, 1_709_251_199.75]
        for _ in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            instants.append(Double(Int64(truncatingIfNeeded: state >> 16) % 8_000_000_000) - 2_000_000_000)
        }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            let text = EWSDate.format(date)
            #expect(text == reference(date), "\(seconds)")
            #expect(EWSDate.parse(text) == Date(timeIntervalSince1970: seconds.rounded(.down)), "\(text)")
        }
    }

    @Test func parseHandlesOffsetsFractionsAndNonsense() {
        #expect(EWSDate.parse("2026-03-29T03:30:00+02:00") == EWSDate.parse("2026-03-29T01:30:00Z"))
        #expect(EWSDate.parse("2026-03-29T01:30:00-05:30") == EWSDate.parse("2026-03-29T07:00:00Z"))
        #expect(EWSDate.parse("2024-02-29T23:59:59.5Z")?.timeIntervalSince1970 == 1_709_251_199.5)
        #expect(EWSDate.parse("2026-03-29T01:30:00") == EWSDate.parse("2026-03-29T01:30:00Z"))
        #expect(EWSDate.parse("2026-13-01T00:00:00Z") == nil)
        #expect(EWSDate.parse("2026-1-01T00:00:00Z") == nil)
        #expect(EWSDate.parse("soon") == nil)
        #expect(EWSDate.format(LocalDateParts(year: 987, month: 3, day: 7)) == "0987-03-07")
    }

    @Test func odbcTimestampText() {
        #expect(
            ODBCTimestamp(year: 2026, month: 3, day: 9, hour: 7, minute: 5, second: 3, nanosecond: 45_000_000)
                .description
                == "2026-03-09 07:05:03.045")
        #expect(ODBCTimestamp(year: 12, month: 1, day: 1).description == "0012-01-01 00:00:00.000")
    }
}
