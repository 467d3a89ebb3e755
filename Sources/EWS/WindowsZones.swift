import Foundation

/// Windows time zone ids (as EWS uses them in StartTimeZone/EndTimeZone and TimeZoneContext) and
/// their IANA equivalents, after the "001" territory of CLDR's windowsZones mapping.
public enum WindowsZones {
    /// Windows id → IANA id.
    public static let toIANA: [String: String] = [
        "Dateline Standard Time": "Etc/GMT+12", "UTC-11": "Etc/GMT+11", "Hawaiian Standard Time": "Pacific/Honolulu",
        "Alaskan Standard Time": "America/Anchorage", "Pacific Standard Time": "America/Los_Angeles",
        "US Mountain Standard Time": "America/Phoenix", "Mountain Standard Time": "America/Denver",
        "Central America Standard Time": "America/Guatemala", "Central Standard Time": "America/Chicago",
        "Canada Central Standard Time": "America/Regina", "Central Standard Time (Mexico)": "America/Mexico_City",
        "SA Pacific Standard Time": "America/Bogota", "Eastern Standard Time": "America/New_York",
        "US Eastern Standard Time": "America/Indianapolis", "Venezuela Standard Time": "America/Caracas",
        "Atlantic Standard Time": "America/Halifax", "SA Western Standard Time": "America/La_Paz",
        "Pacific SA Standard Time": "America/Santiago", "Newfoundland Standard Time": "America/St_Johns",
        "E. South America Standard Time": "America/Sao_Paulo", "Argentina Standard Time": "America/Buenos_Aires",
        "SA Eastern Standard Time": "America/Cayenne", "Greenland Standard Time": "America/Godthab",
        "UTC-02": "Etc/GMT+2", "Azores Standard Time": "Atlantic/Azores",
        "Cape Verde Standard Time": "Atlantic/Cape_Verde",
        "UTC": "Etc/UTC", "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
        "Morocco Standard Time": "Africa/Casablanca", "W. Europe Standard Time": "Europe/Berlin",
        "Central Europe Standard Time": "Europe/Budapest", "Romance Standard Time": "Europe/Paris",
        "Central European Standard Time": "Europe/Warsaw", "W. Central Africa Standard Time": "Africa/Lagos",
        "GTB Standard Time": "Europe/Bucharest", "Middle East Standard Time": "Asia/Beirut",
        "Egypt Standard Time": "Africa/Cairo", "E. Europe Standard Time": "Europe/Chisinau",
        "South Africa Standard Time": "Africa/Johannesburg", "FLE Standard Time": "Europe/Kiev",
        "Israel Standard Time": "Asia/Jerusalem", "Kaliningrad Standard Time": "Europe/Kaliningrad",
        "Jordan Standard Time": "Asia/Amman", "Arabic Standard Time": "Asia/Baghdad",
        "Turkey Standard Time": "Europe/Istanbul",
        "Arab Standard Time": "Asia/Riyadh", "Russian Standard Time": "Europe/Moscow",
        "E. Africa Standard Time": "Africa/Nairobi",
        "Iran Standard Time": "Asia/Tehran", "Arabian Standard Time": "Asia/Dubai",
        "Azerbaijan Standard Time": "Asia/Baku",
        "Georgian Standard Time": "Asia/Tbilisi", "Caucasus Standard Time": "Asia/Yerevan",
        "Afghanistan Standard Time": "Asia/Kabul",
        "West Asia Standard Time": "Asia/Tashkent", "Pakistan Standard Time": "Asia/Karachi",
        "India Standard Time": "Asia/Calcutta",
        "Sri Lanka Standard Time": "Asia/Colombo", "Nepal Standard Time": "Asia/Katmandu",
        "Central Asia Standard Time": "Asia/Almaty", "Bangladesh Standard Time": "Asia/Dhaka",
        "Myanmar Standard Time": "Asia/Rangoon", "SE Asia Standard Time": "Asia/Bangkok",
        "North Asia Standard Time": "Asia/Krasnoyarsk", "China Standard Time": "Asia/Shanghai",
        "Singapore Standard Time": "Asia/Singapore", "W. Australia Standard Time": "Australia/Perth",
        "Taipei Standard Time": "Asia/Taipei", "Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul",
        "Cen. Australia Standard Time": "Australia/Adelaide", "AUS Central Standard Time": "Australia/Darwin",
        "E. Australia Standard Time": "Australia/Brisbane", "AUS Eastern Standard Time": "Australia/Sydney",
        "West Pacific Standard Time": "Pacific/Port_Moresby", "Tasmania Standard Time": "Australia/Hobart",
        "Central Pacific Standard Time": "Pacific/Guadalcanal", "New Zealand Standard Time": "Pacific/Auckland",
        "Fiji Standard Time": "Pacific/Fiji", "Tonga Standard Time": "Pacific/Tongatapu",
    ]

    /// IANA id → Windows id, including common aliases of the same zone rules.
    public static let fromIANA: [String: String] = {
        var result: [String: String] = [:]
        for (windows, iana) in toIANA { result[iana] = windows }
        let aliases: [String: String] = [
            "UTC": "UTC", "Etc/GMT": "UTC", "GMT": "UTC", "Europe/Vienna": "W. Europe Standard Time",
            "Europe/Zurich": "W. Europe Standard Time", "Europe/Amsterdam": "W. Europe Standard Time",
            "Europe/Rome": "W. Europe Standard Time", "Europe/Stockholm": "W. Europe Standard Time",
            "Europe/Oslo": "W. Europe Standard Time", "Europe/Luxembourg": "W. Europe Standard Time",
            "Europe/Brussels": "Romance Standard Time", "Europe/Madrid": "Romance Standard Time",
            "Europe/Copenhagen": "Romance Standard Time", "Europe/Prague": "Central Europe Standard Time",
            "Europe/Belgrade": "Central Europe Standard Time", "Europe/Bratislava": "Central Europe Standard Time",
            "Europe/Ljubljana": "Central Europe Standard Time", "Europe/Zagreb": "Central European Standard Time",
            "Europe/Sarajevo": "Central European Standard Time", "Europe/Skopje": "Central European Standard Time",
            "Europe/Dublin": "GMT Standard Time", "Europe/Lisbon": "GMT Standard Time",
            "Europe/Athens": "GTB Standard Time",
            "Europe/Helsinki": "FLE Standard Time", "Europe/Kyiv": "FLE Standard Time",
            "Europe/Riga": "FLE Standard Time",
            "Europe/Tallinn": "FLE Standard Time", "Europe/Vilnius": "FLE Standard Time",
            "Europe/Sofia": "FLE Standard Time",
            "Asia/Kolkata": "India Standard Time", "Asia/Kathmandu": "Nepal Standard Time",
            "Asia/Yangon": "Myanmar Standard Time",
            "America/Indiana/Indianapolis": "US Eastern Standard Time",
            "America/Argentina/Buenos_Aires": "Argentina Standard Time",
            "America/Nuuk": "Greenland Standard Time", "America/Toronto": "Eastern Standard Time",
            "America/Vancouver": "Pacific Standard Time", "Australia/Melbourne": "AUS Eastern Standard Time",
        ]
        result.merge(aliases) { current, _ in current }
        return result
    }()

    /// The Windows id for an IANA zone; zones without an entry map by their current UTC offset
    /// to a zone of the same rules where one exists, else `UTC`.
    public static func windowsID(forIANA iana: String) -> String {
        if let id = fromIANA[iana] { return id }
        guard let zone = TimeZone(identifier: iana) else { return "UTC" }
        let now = Date()
        let match = toIANA.first { _, candidate in
            guard let other = TimeZone(identifier: candidate) else { return false }
            return other.secondsFromGMT(for: now) == zone.secondsFromGMT(for: now)
                && other.isDaylightSavingTime(for: now) == zone.isDaylightSavingTime(for: now)
                && other.nextDaylightSavingTimeTransition(after: now)
                    == zone.nextDaylightSavingTimeTransition(after: now)
        }
        return match?.key ?? "UTC"
    }

    /// The IANA zone of a Windows id, when known.
    public static func zone(forWindows id: String) -> TimeZone? { toIANA[id].flatMap(TimeZone.init(identifier:)) }
}
