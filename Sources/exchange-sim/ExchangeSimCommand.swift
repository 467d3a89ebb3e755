import ArgumentParser
import ExchangeSim
import Foundation

/// `exchange-sim`: an EWS server that behaves like Exchange 2010 SP2, for tests and demos.
@main
struct ExchangeSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-sim",
        abstract:
            "An Exchange simulator: EWS as Exchange 2010 SP2 answers it and WebDAV as Exchange 2003/2007 do; mailboxes, Basic/NTLM/forms login, impersonation, throttling faults."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port; 0 picks a free one.") var port = 0
    @Option(name: .customLong("mailbox"), help: "A mailbox (repeat for more).") var mailboxes: [String] = []
    @Option(name: .customLong("account"), help: "A login as NAME:PASSWORD (repeat for more).") var accounts: [String] =
        []
    @Option(help: "Authentication: basic, ntlm, forms2003 or forms2007 (Outlook Web Access's forms login).")
    var auth = "basic"
    @Option(help: "Seconds a forms-login session lasts before requests get 440 Login Timeout.")
    var formsSessionSeconds = 86400
    @Option(name: .customLong("impersonation"), help: "An account that may impersonate every mailbox (repeat).")
    var impersonation: [String] = []
    @Option(name: .customLong("deny-impersonation"), help: "A mailbox outside the impersonation scope (repeat).")
    var impersonationDenied: [String] = []
    @Option(name: .customLong("delegate"), help: "An account with delegate access to every mailbox (repeat).")
    var delegates: [String] = []
    @Option(help: "Folder with Microsoft's EWS schemas (types.xsd, validation/…).") var schemas = "../shared/ews-schema"
    @Option(name: .customLong("latency-ms"), help: "Latency added to every request.") var latency = 0
    @Option(name: .customLong("busy-rate"), help: "Share of requests answered with ErrorServerBusy (0–1).")
    var busyRate = 0.0
    @Option(name: .customLong("backoff-ms"), help: "BackOffMilliseconds sent with ErrorServerBusy.") var backOff = 100
    @Option(
        name: .customLong("max-concurrency"),
        help: "Parallel requests per account before ErrorExceededConnectionCount (0: no limit).")
    var maxConcurrency = 0
    @Option(name: .customLong("unavailable-rate"), help: "Share of requests answered with HTTP 503.")
    var unavailableRate = 0.0
    @Option(name: .customLong("drop-rate"), help: "Share of requests whose connection is dropped.") var dropRate = 0.0
    @Option(help: "Save the mailboxes to this file and load them from it.") var state: String?
    @Option(help: "Seed of the injected faults, so a run can be repeated.") var seed: UInt64?
    @Option(
        name: .customLong("forms-session-requests"),
        help: "Requests a forms-login session takes before 440 Login Timeout (0: no limit); expiry by count, for tests."
    )
    var formsSessionRequests = 0
    @Option(
        name: .customLong("protocol"),
        help: "ews (/EWS/Exchange.asmx), webdav (/exchange/<alias>/, as Exchange 2003/2007) or both (as Exchange 2007)."
    )
    var protocolName = "ews"
    @Option(name: .customLong("dav-language"), help: "WebDAV folder names: de (Posteingang, Kalender …) or en.")
    var davLanguage = "de"
    @Option(
        name: .customLong("dav-quota-exceeded"), help: "A mailbox whose WebDAV writes answer 507 (repeat).")
    var davQuotaExceeded: [String] = []
    @Flag(
        name: .customLong("dav-escaped-names"),
        help: "Write MAPI property names as _x0030_x8101 instead of Exchange's digit-leading <e:0x8101>.")
    var davEscapedNames = false

    func run() async throws {
        var options = SimOptions(schemaDirectory: URL(fileURLWithPath: schemas))
        options.host = host
        options.port = port
        options.mailboxes = mailboxes
        options.accounts = try accounts.map { entry in
            guard let colon = entry.firstIndex(of: ":") else {
                throw ValidationError("--account needs NAME:PASSWORD, got '\(entry.prefix(40))'")
            }
            return SimAccount(name: String(entry[..<colon]), password: String(entry[entry.index(after: colon)...]))
        }
        guard let mode = SimOptions.Auth(rawValue: auth) else {
            throw ValidationError("--auth must be basic, ntlm, forms2003 or forms2007")
        }
        options.auth = mode
        options.formsSessionLifetime = .seconds(formsSessionSeconds)
        options.impersonation = Set(impersonation.map { $0.lowercased() })
        options.delegates = Set(delegates.map { $0.lowercased() })
        options.impersonationDenied = Set(impersonationDenied.map { $0.lowercased() })
        options.latency = .milliseconds(latency)
        options.busyRate = busyRate
        options.backOffMilliseconds = backOff
        options.maxConcurrency = maxConcurrency
        options.unavailableRate = unavailableRate
        options.dropRate = dropRate
        options.statePath = state.map { URL(fileURLWithPath: $0) }
        if let seed { options.seed = seed }
        switch protocolName {
        case "ews": options.protocols = [.ews]
        case "webdav": options.protocols = [.webdav]
        case "both": options.protocols = [.ews, .webdav]
        default: throw ValidationError("--protocol is ews, webdav or both, not '\(protocolName)'")
        }
        options.formsSessionRequests = formsSessionRequests
        options.davLanguage = davLanguage
        options.davQuotaExceeded = Set(davQuotaExceeded.map { $0.lowercased() })
        options.davDigitNames = !davEscapedNames
        let service: SimService
        do {
            service = try SimService(options: options)
        } catch {
            FileHandle.standardError.write(Data("exchange-sim: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let server = SimServer(service: service)
        let url = try await server.start()
        // The first URL printed is the EWS one (scripts and benchmarks take it); WebDAV's follows.
        FileHandle.standardOutput.write(Data("listening on \(url)\n".utf8))
        if options.protocols.contains(.webdav) {
            let base = url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/exchange/")
            FileHandle.standardOutput.write(Data("WebDAV on \(base)\n".utf8))
        }
        let signals = AsyncStream<Void> { continuation in
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
                source.setEventHandler { continuation.yield() }
                source.resume()
                sources.append(source)
            }
        }
        for await _ in signals { break }
        await server.stop()
    }
}

nonisolated(unsafe) var sources: [DispatchSourceSignal] = []
