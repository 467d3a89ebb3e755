import ConnectorAPI
import Foundation
import Testing

/// A setting declared once serves its spec, its default and its reading.
@Suite("Typed settings")
struct SettingTests {
    struct Declared {
        let url = Setting<String?>.url("url", required: true, doc: "server")
        let size = Setting<Int>.integer("batch_size", in: 1...500, default: 50, doc: "items")
        let timeout = Setting<Duration>.duration("timeout", default: "2m", positive: true, doc: "timeout")
        let types = Setting<[String]>.list("types", default: ["Termin"], doc: "types")
        let mode = Setting<String>.oneOf("mode", ["a", "b"], default: "b", doc: "mode")
        let insecure = Setting<Bool>.boolean("insecure", default: false, doc: "tls")
        let zone = Setting<TimeZone>.timeZone("timezone", default: "Europe/Berlin", doc: "zone")
        let notASetting = 42
    }

    @Test("the spec lists every declared setting in order, with types, defaults and required flags")
    func spec() {
        let spec = ConfigSpec(declaredIn: Declared())
        #expect(spec.settings.map(\.name) == ["url", "batch_size", "timeout", "types", "mode", "insecure", "timezone"])
        #expect(spec["timezone"]?.type == .timeZone && spec["timezone"]?.defaultValue == "Europe/Berlin")
        #expect(spec["url"]?.required == true && spec["url"]?.type == .url)
        #expect(spec["batch_size"]?.defaultValue == "50" && spec["batch_size"]?.type == .integer(1...500))
        #expect(spec["timeout"]?.defaultValue == "2m" && spec["timeout"]?.type == .positiveDuration)
        #expect(spec["types"]?.defaultValue == "Termin")
        #expect(spec["insecure"]?.defaultValue == "false")
    }

    @Test("absent settings read as their declared default; given ones as given")
    func reading() {
        let declared = Declared()
        let empty = Settings()
        #expect(empty[declared.url] == nil)
        #expect(empty[declared.size] == 50)
        #expect(empty[declared.timeout] == .seconds(120))
        #expect(empty[declared.types] == ["Termin"])
        #expect(empty[declared.mode] == "b")
        #expect(empty[declared.insecure] == false)
        #expect(empty[declared.zone].identifier == "Europe/Berlin")
        let given = Settings([
            "url": .string("https://x.example/y"), "batch_size": .integer(7), "timeout": .duration(.seconds(5)),
            "types": .list([.string("A"), .string("B")]), "mode": .string("a"), "insecure": .boolean(true),
            "timezone": .string("Asia/Tokyo"),
        ])
        #expect(given[declared.url] == "https://x.example/y")
        #expect(given[declared.size] == 7)
        #expect(given[declared.timeout] == .seconds(5))
        #expect(given[declared.types] == ["A", "B"])
        #expect(given[declared.mode] == "a")
        #expect(given[declared.insecure])
        #expect(given[declared.zone].identifier == "Asia/Tokyo")
    }

    @Test("durations are parsed one way for defaults and for YAML")
    func durations() {
        #expect(SettingValue.duration(parsing: "250ms") == .milliseconds(250))
        #expect(SettingValue.duration(parsing: "90s") == .seconds(90))
        #expect(SettingValue.duration(parsing: "30d") == .seconds(30 * 86400))
        #expect(SettingValue.duration(parsing: "-1s") == nil)
        #expect(SettingValue.duration(parsing: "5 minutes") == nil)
    }
}

@Suite("Setting groups")
struct SettingGroupTests {
    struct Shared: DeclaredSettingGroup {
        let proxy = Setting<String?>.string("proxy", doc: "A proxy.")
        let timeout = Setting<Duration>.duration("timeout", default: "120s", positive: true, doc: "A timeout.")
    }

    struct Declared {
        let url = Setting<String?>.url("url", required: true, doc: "The server.")
        let shared = Shared()
        let batchSize = Setting<Int>.integer("batch_size", in: 1...500, default: 50, doc: "Items per request.")
    }

    @Test("a group's settings are declared at its place, and read through it")
    func groupFlattened() {
        let declared = Declared()
        let spec = ConfigSpec(declaredIn: declared)
        #expect(spec.settings.map(\.name) == ["url", "proxy", "timeout", "batch_size"])
        let settings = Settings(["proxy": .string("http://proxy:3128")])
        #expect(settings[declared.shared.proxy] == "http://proxy:3128")
        #expect(settings[declared.shared.timeout] == .seconds(120))
    }
}
