// swift-tools-version:6.0
import PackageDescription

/// The adapters built into connector-host: a folder under `Sources/Connectors/` and a target each,
/// with what it needs beyond `ConnectorAPI` and `AdapterSupport`. A new adapter is one line here,
/// its folder, and its registration in `Sources/Connectors/Connectors.swift`.
let adapters: [(target: String, folder: String, dependencies: [Target.Dependency])] = [
    ("MemoryConnector", "Memory", []),
    ("FlowFactConnector", "FlowFact", ["ODBC", .product(name: "Metrics", package: "swift-metrics")]),
    (
        "EWSConnector", "EWS",
        ["EWS", "XML", "HTTP", "HTTPAdapterSupport", .product(name: "Metrics", package: "swift-metrics")]
    ),
    ("WebDAVConnector", "WebDAV", ["ExchangeWebDAV", "ICalendar", "HTTP", "HTTPAdapterSupport"]),
    ("CalDAVConnector", "CalDAV", ["ExchangeWebDAV", "ICalendar", "VCard", "HTTP", "HTTPAdapterSupport", "XML"]),
]

let package = Package(
    name: "connector-host",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "connector-host", targets: ["connector-host"]),
        .executable(name: "exchange-sim", targets: ["exchange-sim"]),
        .executable(name: "connector-dev", targets: ["connector-dev"]),
        .library(name: "ConnectorAPI", targets: ["ConnectorAPI"]),
        .library(name: "ConnectorHost", targets: ["ConnectorHost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Records and protocols shared by the host and every adapter. Foundation only.
        .target(name: "ConnectorAPI"),
        // unixODBC's C API.
        .systemLibrary(name: "CODBC", path: "Sources/CODBC", providers: [.apt(["unixodbc-dev"])]),
        // A small Swift layer over ODBC: connections, prepared statements, typed values, diagnostics.
        .target(name: "ODBC", dependencies: ["CODBC"]),
        // libxml2's C API.
        .systemLibrary(
            name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // Streaming XML reading, escaping writer and XSD validation over libxml2.
        .target(name: "XML", dependencies: ["CLibXML2"]),
        // EWS protocol pieces shared by the Exchange adapter and the simulator.
        .target(name: "EWS", dependencies: ["XML"]),
        // Exchange 2003/2007 WebDAV pieces shared by the exchange-webdav adapter and the simulator:
        // property names and typed values, multistatus, Exchange SQL, request bodies, MIME.
        .target(name: "ExchangeWebDAV", dependencies: ["XML"]),
        // iCalendar (RFC 5545) <-> CalendarEvent and TaskItem. EWS only for WindowsZones (Windows <-> IANA names).
        .target(name: "ICalendar", dependencies: ["ConnectorAPI", "EWS"]),
        // vCard 3.0/4.0 (RFC 2426, RFC 6350) <-> Address, on ICalendar's content lines.
        .target(name: "VCard", dependencies: ["ConnectorAPI", "ICalendar"]),
        // The Exchange simulator: an EWS server that behaves like Exchange 2010 SP2.
        .target(
            name: "ExchangeSim",
            dependencies: [
                "EWS", "XML", "NTLM", "ExchangeWebDAV", "ICalendar", "ConnectorAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "exchange-sim",
            dependencies: ["ExchangeSim", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // libcurl's C API, with typed wrappers for its variadic calls.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // An HTTP client over libcurl for Exchange (EWS): pooled keep-alive connections per credential, Basic/NTLM/
        // Negotiate, TLS options, bounded concurrency, streamed bodies, cancellation.
        .target(name: "HTTP", dependencies: ["CCurl"]),
        // What adapters share beside the API: spool folders, chunking, cursor coding.
        .target(name: "AdapterSupport", dependencies: ["ConnectorAPI"]),
        // What HTTP adapters share: the settings of how they reach their server.
        .target(name: "HTTPAdapterSupport", dependencies: ["ConnectorAPI", "HTTP"]),
        // The adapters, one folder and one target each (the `adapters` table above).
    ]
        + adapters.map { adapter in
            .target(
                name: adapter.target, dependencies: ["ConnectorAPI", "AdapterSupport"] + adapter.dependencies,
                path: "Sources/Connectors/\(adapter.folder)")
        } + [
            // The umbrella: registers the built-in adapters (`Connectors.swift`) and re-exports them.
            .target(
                name: "Connectors",
                dependencies: ["ConnectorAPI"] + adapters.map { .target(name: $0.target) },
                path: "Sources/Connectors", exclude: adapters.map(\.folder), sources: ["Connectors.swift"]),
            // Development only, never linked by connector-host: the tables and seeder of a FlowFact-like
            // database for the demo, the tests and the benchmarks.
            .target(name: "FlowFactDevelopment", dependencies: ["ConnectorAPI", "FlowFactConnector", "ODBC"]),
            // Config loading and validation, adapter registry, sync engine, state store.
            .target(
                name: "ConnectorHost",
                dependencies: [
                    "ConnectorAPI",
                    .product(name: "Yams", package: "Yams"),
                    .product(name: "GRDB", package: "GRDB.swift"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                ]
            ),
            .executableTarget(
                name: "connector-host",
                dependencies: [
                    "ConnectorHost",
                    "Connectors",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                    .product(name: "Logging", package: "swift-log"),
                ]
            ),
            // The developer's tool: the demo (exchange-sim and a seeded FlowFact-like database in
            // process) and `flowfact init/seed`.
            .executableTarget(
                name: "connector-dev",
                dependencies: [
                    "ConnectorHost", "Connectors", "FlowFactDevelopment", "ODBC", "ExchangeSim", "ExchangeWebDAV",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Logging", package: "swift-log"),
                ]
            ),
            // Benchmarks: programs that print measurements.
            .target(name: "BenchSupport", dependencies: ["HTTP"], path: "Benchmarks/BenchSupport"),
            .executableTarget(
                name: "sync-bench",
                dependencies: [
                    "BenchSupport", "ConnectorHost", "Connectors", "FlowFactDevelopment", "ConnectorAPI", "ODBC",
                    "HTTP",
                    .product(name: "Logging", package: "swift-log"),
                ],
                path: "Benchmarks/sync-bench"),
            // FlowFact ↔ caldav ↔ Radicale (scripts/caldav-bench.sh).
            .executableTarget(
                name: "caldav-bench",
                dependencies: [
                    "BenchSupport", "ConnectorHost", "Connectors", "FlowFactDevelopment", "ConnectorAPI", "ODBC",
                    "HTTP",
                    .product(name: "Logging", package: "swift-log"),
                ],
                path: "Benchmarks/caldav-bench"),
            .executableTarget(
                name: "mail-bench",
                dependencies: [
                    "BenchSupport", "ConnectorHost", "Connectors", "FlowFactDevelopment", "ConnectorAPI", "ODBC",
                    .product(name: "Logging", package: "swift-log"),
                ],
                path: "Benchmarks/mail-bench"),
            .executableTarget(
                name: "soak",
                dependencies: [
                    "BenchSupport", "ConnectorHost", "Connectors", "FlowFactDevelopment", "ConnectorAPI", "ODBC",
                ],
                path: "Benchmarks/soak"),
            // Our side of the DavMail peer check (scripts/davmail-check.sh).
            .executableTarget(
                name: "webdav-peer", dependencies: ["Connectors", "ConnectorAPI"], path: "Benchmarks/peer/webdav-peer"),
            .executableTarget(
                name: "odbc-read-bench", dependencies: ["Connectors", "FlowFactDevelopment", "ConnectorAPI", "ODBC"],
                path: "Benchmarks/odbc-read-bench"),
            // Fuzz targets (scripts/fuzz.sh builds them with libFuzzer and AddressSanitizer; built
            // normally they replay a corpus).
            .target(
                name: "FuzzSupport", dependencies: ["XML", "Connectors", "ConnectorHost"], path: "Fuzz/FuzzSupport"),
            .executableTarget(name: "fuzz-xml", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-xml"),
            .executableTarget(name: "fuzz-ews-response", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-ews-response"),
            .executableTarget(name: "fuzz-config", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-config"),
            .executableTarget(name: "fuzz-mail-text", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-mail-text"),
            .executableTarget(
                name: "fuzz-webdav-response", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-webdav-response"),
            .executableTarget(name: "fuzz-icalendar", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-icalendar"),
            .executableTarget(
                name: "fuzz-caldav-response", dependencies: ["FuzzSupport"], path: "Fuzz/fuzz-caldav-response"),
            // Server side of NTLM (NTLMv2) authentication over HTTP.
            .target(name: "NTLM", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
            .testTarget(name: "ConnectorAPITests", dependencies: ["ConnectorAPI"]),
            .testTarget(
                name: "AdapterSupportTests", dependencies: ["AdapterSupport", "HTTPAdapterSupport", "ConnectorAPI"]),
            .testTarget(name: "ICalendarTests", dependencies: ["ICalendar", "ConnectorAPI", "TestSupport"]),
            .testTarget(name: "VCardTests", dependencies: ["VCard", "ICalendar", "ConnectorAPI", "TestSupport"]),
            .target(
                name: "TestSupport", dependencies: ["ODBC", "XML"], path: "Tests/TestSupport",
                exclude: ["tsql_bridge.py", "dav_proxy.py"]),
            // The endpoint conformance suite every adapter runs (vdirsyncer's storage tests are the model).
            .target(name: "EndpointConformance", dependencies: ["ConnectorAPI"], path: "Tests/Conformance"),
            .testTarget(name: "ODBCTests", dependencies: ["ODBC", "TestSupport"]),
            .testTarget(name: "XMLTests", dependencies: ["XML", "TestSupport"]),
            .testTarget(
                name: "EWSTests",
                dependencies: [
                    "Connectors", "EWSConnector", "FlowFactDevelopment", "ConnectorAPI", "ConnectorHost", "EWS",
                    "ExchangeSim",
                    "XML", "ODBC", "TestSupport", "EndpointConformance",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "NIOCore", package: "swift-nio"),
                ],
                resources: [.copy("Resources")]
            ),
            .testTarget(name: "HTTPTests", dependencies: ["HTTP"], resources: [.copy("Resources")]),
            .testTarget(
                name: "FlowFactTests",
                dependencies: [
                    "ConnectorHost", "Connectors", "FlowFactConnector", "FlowFactDevelopment", "ConnectorAPI", "ODBC",
                    "TestSupport", "EndpointConformance",
                ]
            ),
            .testTarget(
                name: "ConnectorHostTests",
                dependencies: [
                    "ConnectorHost", "Connectors", "ConnectorAPI", "TestSupport", "FuzzSupport", "EndpointConformance",
                    .product(name: "GRDB", package: "GRDB.swift"),
                ]
            ),
            .testTarget(
                name: "WebDAVTests",
                dependencies: [
                    "ExchangeWebDAV", "ExchangeSim", "Connectors", "WebDAVConnector", "ConnectorAPI", "ConnectorHost",
                    "FlowFactDevelopment", "ODBC", "TestSupport", "EndpointConformance", "HTTP", "ICalendar",
                ]
            ),
            // The caldav adapter against Radicale and Xandikos (apt: radicale, xandikos), under the conformance suite.
            .testTarget(
                name: "CalDAVTests",
                dependencies: [
                    "Connectors", "CalDAVConnector", "ConnectorAPI", "AdapterSupport", "ConnectorHost",
                    "FlowFactDevelopment", "ODBC", "TestSupport", "EndpointConformance", "HTTP",
                ]
            ),
            // HTTP: the HTTP client's NTLM against this server, with a streamed request body.
            .testTarget(name: "NTLMTests", dependencies: ["NTLM", "HTTP"]),
        ]
)
