// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "connector-host",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "connector-host", targets: ["connector-host"]),
        .library(name: "ConnectorAPI", targets: ["ConnectorAPI"]),
        .library(name: "ConnectorHost", targets: ["ConnectorHost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Records and protocols shared by the host and every adapter. Foundation only.
        .target(name: "ConnectorAPI"),
        // unixODBC's C API.
        .systemLibrary(name: "CODBC", path: "Sources/CODBC", providers: [.apt(["unixodbc-dev"])]),
        // A small Swift layer over ODBC: connections, prepared statements, typed values, diagnostics.
        .target(name: "ODBC", dependencies: ["CODBC"]),
        // libcurl's C API, with typed wrappers for its variadic calls.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // An HTTP client over libcurl for Exchange (EWS): pooled keep-alive connections per credential, Basic/NTLM/
        // Negotiate, TLS options, bounded concurrency, streamed bodies, cancellation.
        .target(name: "HTTP", dependencies: ["CCurl"]),
        // Adapters, one folder each; `Connectors.swift` registers them.
        .target(
            name: "Connectors",
            dependencies: ["ConnectorAPI", "ODBC"]
        ),
        // Config loading and validation, adapter registry, sync engine, state store.
        .target(
            name: "ConnectorHost",
            dependencies: [
                "ConnectorAPI",
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "connector-host",
            dependencies: [
                "ConnectorHost",
                "Connectors",
                "ODBC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks: programs that print measurements.
        .executableTarget(
            name: "odbc-read-bench", dependencies: ["Connectors", "ConnectorAPI", "ODBC"],
            path: "Benchmarks/odbc-read-bench"),
        .testTarget(name: "ConnectorAPITests", dependencies: ["ConnectorAPI"]),
        .target(name: "TestSupport", dependencies: ["ODBC"], path: "Tests/TestSupport"),
        .testTarget(name: "ODBCTests", dependencies: ["ODBC", "TestSupport"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"], resources: [.copy("Resources")]),
        .testTarget(
            name: "FlowFactTests",
            dependencies: ["ConnectorHost", "Connectors", "ConnectorAPI", "ODBC", "TestSupport"]
        ),
        .testTarget(
            name: "ConnectorHostTests",
            dependencies: ["ConnectorHost", "Connectors", "ConnectorAPI"]
        ),
    ]
)
