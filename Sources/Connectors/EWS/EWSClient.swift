import ConnectorAPI
import EWS
import Foundation
import HTTP
import Metrics
import XML

/// Sends one EWS request and returns the HTTP status, headers and body parts as they arrive.
protocol EWSTransport: Sendable {
    /// Posts `body` for `mailbox` (sent as X-AnchorMailbox) to `url` and feeds the response body
    /// to `onBody`; returns the status and headers.
    func post(url: String, mailbox: String, body: Data, onBody: @escaping @Sendable (Data) -> Void) async throws -> (
        status: Int, headers: [String: String]
    )
    /// Lowers the number of parallel requests (after ErrorExceededConnectionCount).
    func reduceConcurrency()
    /// Posts a body made of parts (data and files sent as base64), read as it is sent.
    func post(url: String, mailbox: String, parts: [HTTPBodyPart], onBody: @escaping @Sendable (Data) -> Void)
        async throws -> (status: Int, headers: [String: String])
}

extension EWSTransport {
    /// Transports that cannot stream take the body whole.
    func post(url: String, mailbox: String, parts: [HTTPBodyPart], onBody: @escaping @Sendable (Data) -> Void)
        async throws -> (status: Int, headers: [String: String])
    {
        var body = Data()
        for part in parts {
            switch part {
            case .data(let data): body.append(data)
            case .base64File(let path):
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw EWSError.protocolError("cannot read \(path)")
                }
                body.append(Data(data.base64EncodedString().utf8))
            }
        }
        return try await post(url: url, mailbox: mailbox, body: body, onBody: onBody)
    }
}

/// How the service account reaches a mailbox.
enum EWSAccess: String, Sendable, CaseIterable {
    /// ExchangeImpersonation header: act as the mailbox owner.
    case impersonation
    /// Delegate access: the mailbox is named in every distinguished folder id.
    case delegate
}

/// A whole-request failure (SOAP fault or HTTP error), with what the caller should do.
struct EWSFault: ClassifiedError, CustomStringConvertible, Sendable {
    var code: String
    var message: String
    /// Suggested pause (BackOffMilliseconds or Retry-After).
    var backOff: Duration?
    var httpStatus: Int

    /// Credentials, rights and missing mailboxes do not fix themselves.
    var isPermanent: Bool {
        [
            "HTTP401", "HTTP403", "FormsLogin", "ErrorImpersonateUserDenied", "ErrorNonExistentMailbox",
            "ErrorAccessDenied",
            "ErrorInvalidServerVersion", "ErrorSchemaValidation",
        ].contains(code)
    }

    var isThrottling: Bool {
        ["ErrorServerBusy", "ErrorExceededConnectionCount", "HTTP503", "HTTP429"].contains(code)
    }

    /// Worth another try later: throttling, a transient item code, or a connection that failed
    /// (what ``EWSAnswerCheck/transport(_:)`` explains, except an unusable TLS setup).
    var isTransient: Bool {
        isThrottling || EWSEndpoint.transientCodes.contains(code) || EWSAnswerCheck.transientCodes.contains(code)
    }

    var description: String { "\(code): \(message)" }
}

/// One `*ResponseMessage` of a response.
struct EWSResponseMessage: Sendable {
    var success: Bool
    var code: String
    var text: String
    var element: XMLElement
    var backOff: Duration? {
        let value = element.child("MessageXml")?.children("Value").first {
            $0.attributes["Name"] == "BackOffMilliseconds"
        }?.text
        return value.flatMap(Int.init).map { .milliseconds($0) }
    }
}

/// Calls EWS operations for one mailbox: envelopes, headers, streaming parse of responses,
/// SOAP faults, and waiting out throttling.
struct EWSClient: Sendable {
    let transport: any EWSTransport
    let url: String
    let mailbox: String
    let access: EWSAccess
    let version: String
    let throttle: EWSThrottle
    let log: @Sendable (AdapterLogLevel, String) -> Void
    /// Tries of one request under transient faults before its error is passed on.
    var maxAttempts = 10
    /// The transient faults absorbed for this mailbox folder, reported at the end of a run.
    let ledger = RetryLedger()

    /// Writes the envelope with RequestServerVersion and, for impersonation, ExchangeImpersonation.
    func envelope(_ body: (inout XMLWriter) -> Void) -> Data {
        var w = XMLWriter()
        w.element(
            "soap:Envelope",
            [("xmlns:soap", EWSNamespace.soap), ("xmlns:t", EWSNamespace.types), ("xmlns:m", EWSNamespace.messages)]
        ) { w in
            w.element("soap:Header") { w in
                w.start("t:RequestServerVersion", [("Version", version)])
                w.end()
                if access == .impersonation {
                    w.element("t:ExchangeImpersonation") { w in
                        w.element("t:ConnectingSID") { w in w.element("t:PrimarySmtpAddress", mailbox) }
                    }
                }
            }
            w.element("soap:Body", [], body)
        }
        return Data(w.text.utf8)
    }

    /// A distinguished folder reference, naming the mailbox for delegate access.
    func distinguishedFolder(_ name: String, _ w: inout XMLWriter) {
        w.element("t:DistinguishedFolderId", [("Id", name)]) { w in
            if access == .delegate { w.element("t:Mailbox") { w in w.element("t:EmailAddress", mailbox) } }
        }
    }

    /// The id of a distinguished folder (GetFolder); a refusal names the folder and the mailbox.
    func folderID(distinguished name: String) async throws -> String {
        let messages = try await call("GetFolder") { w in
            w.element("m:GetFolder") { w in
                w.element("m:FolderShape") { w in w.element("t:BaseShape", "IdOnly") }
                w.element("m:FolderIds") { w in distinguishedFolder(name, &w) }
            }
        }
        guard let message = messages.first, message.success,
            let id = message.element.child("Folders")?.children.first?.child("FolderId")?.attributes["Id"]
        else {
            throw EWSFault(
                code: messages.first?.code ?? "no response",
                message: "cannot open the \(name) folder of \(mailbox): \(messages.first?.text ?? "")", httpStatus: 200)
        }
        return id
    }

    /// The folders under a parent (FindFolder, `Shallow` or `Deep`) with their id and one more
    /// property; a refusal names what was listed and the mailbox.
    func findFolders(
        _ traversal: String, property: String, what: String, parent: @escaping (inout XMLWriter) -> Void
    ) async throws -> [XMLElement] {
        let messages = try await call("FindFolder") { w in
            w.element("m:FindFolder", [("Traversal", traversal)]) { w in
                w.element("m:FolderShape") { w in
                    w.element("t:BaseShape", "IdOnly")
                    w.element("t:AdditionalProperties") { w in
                        w.start("t:FieldURI", [("FieldURI", property)])
                        w.end()
                    }
                }
                w.element("m:ParentFolderIds") { w in parent(&w) }
            }
        }
        guard let message = messages.first, message.success else {
            throw EWSFault(
                code: messages.first?.code ?? "no response",
                message: "cannot list \(what) of \(mailbox): \(messages.first?.text ?? "")", httpStatus: 200)
        }
        return message.element.child("RootFolder")?.child("Folders")?.children ?? []
    }

    /// Sends an operation and returns its response messages, retrying throttled requests.
    func call(_ operation: String, _ body: @escaping (inout XMLWriter) -> Void) async throws -> [EWSResponseMessage] {
        try await call(operation, parts: [.data(envelope(body))], streamText: { nil })
    }

    /// Sends an operation whose body is `parts` (a file goes out as base64, read as it is sent);
    /// `streamText` makes, for each attempt, the selector of response elements whose text goes to
    /// a sink instead of memory.
    ///
    /// Transient faults are absorbed here: throttling (ErrorServerBusy as a SOAP fault, HTTP 503
    /// and 429) pauses the account for the advised time and sends the request again; a dropped
    /// connection or a timeout is retried with backoff when the operation is safe to repeat (reads,
    /// and deletions, which count an item already gone as done), or when the request never reached
    /// the server (connection refused). A write whose answer was lost is not repeated here: the
    /// engine looks its sync keys up before it tries again.
    func call(
        _ operation: String, parts: [HTTPBodyPart], streamText: @escaping () -> XMLStreamParser.TextStreamSelector?
    ) async throws -> [EWSResponseMessage] {
        var attempt = 0
        while true {
            attempt += 1
            let held = try await throttle.waitIfPaused()
            if held > .zero { ledger.addWait(held) }
            Counter(label: "connector_ews_requests_total", dimensions: [("operation", operation)]).increment()
            do {
                return try await send(parts, streamText: streamText())
            } catch let fault as EWSFault where fault.isThrottling && attempt < maxAttempts {
                Counter(label: "connector_ews_throttling_total", dimensions: [("code", fault.code)]).increment()
                let pause = fault.backOff ?? Self.backoff(attempt)
                if fault.code == "ErrorExceededConnectionCount" { transport.reduceConcurrency() }
                log(.debug, "\(operation) for \(mailbox) throttled (\(fault.code)); pausing the account for \(pause)")
                ledger.record(fault.code)
                await throttle.pause(for: pause)
            } catch let error as HTTPError
                where attempt < Self.attempts(after: error, operation: operation, maxAttempts)
            {
                let pause = Self.backoff(attempt)
                log(.debug, "\(operation) for \(mailbox) failed (\(error)); trying again in \(pause)")
                ledger.record(Self.cause(error), waited: pause)
                try await Task.sleep(for: pause)
            } catch let error as HTTPError where error.kind != .cancelled {
                // Tries used up, or not worth another: say what failed and what to check.
                throw EWSAnswerCheck.transport(error)
            }
        }
    }

    /// Operations that may be sent again when their answer was lost: they change nothing, or
    /// (DeleteItem) repeating them ends in the same state.
    static let idempotentOperations: Set<String> = [
        "GetFolder", "FindFolder", "SyncFolderItems", "GetItem", "FindItem", "GetAttachment", "ResolveNames",
        "DeleteItem", "ConvertId",
    ]

    /// How many tries a request gets when it fails in transport: a request that never reached
    /// the server (connection refused) a few, so a server that restarts is waited for but an
    /// unreachable one fails soon; a dropped connection of an operation safe to repeat six (about
    /// 8 s of backoff); a timeout of such an operation one more; anything else none.
    static func attempts(after error: HTTPError, operation: String, _ maxAttempts: Int) -> Int {
        let repeatable = idempotentOperations.contains(operation)
        switch error.kind {
        case .connect: return error.curlCode == 6 ? 1 : 4  // a name that does not resolve stays so
        case .timeout: return repeatable ? 2 : 1
        case .transport: return repeatable && error.curlCode != 0 ? min(maxAttempts, 6) : 1
        case .tls, .proxy, .cancelled: return 1
        }
    }

    /// A short name of a transport failure for the retry summary.
    static func cause(_ error: HTTPError) -> String {
        switch error.curlCode {
        case 52: "empty reply (connection dropped)"
        case 55, 56: "connection reset"
        case 18: "response cut off"
        case 28: "timeout"
        case 7: "connection refused"
        default: "\(error.kind.rawValue) error"
        }
    }

    /// 0.25 s, 0.5 s, 1 s, … up to 16 s.
    static func backoff(_ attempt: Int) -> Duration { .milliseconds(250 * (1 << min(max(attempt - 1, 0), 6))) }

    func send(_ parts: [HTTPBodyPart], streamText: XMLStreamParser.TextStreamSelector?) async throws
        -> [EWSResponseMessage]
    {
        let collector = ResponseCollector(streamText: streamText)
        let onBody: @Sendable (Data) -> Void = { chunk in collector.feed(chunk) }
        let (status, headers) =
            if parts.count == 1, case .data(let request) = parts[0] {
                try await transport.post(url: url, mailbox: mailbox, body: request, onBody: onBody)
            } else {
                try await transport.post(url: url, mailbox: mailbox, parts: parts, onBody: onBody)
            }
        if status == 503 || status == 429 {
            let seconds = headers["retry-after"].flatMap(Int.init) ?? 5
            throw EWSFault(
                code: "HTTP\(status)", message: "the server is unavailable (HTTP \(status))",
                backOff: .seconds(seconds), httpStatus: status)
        }
        if status == 401 {
            throw EWSFault(
                code: "HTTP401",
                message: "authentication failed (HTTP 401): check the service account's user name and password",
                httpStatus: status)
        }
        if status == 403 {
            throw EWSFault(code: "HTTP403", message: "access forbidden (HTTP 403)", httpStatus: status)
        }
        // An answer that is not EWS is explained before anyone tries to parse it.
        let (prefix, received) = collector.start
        if let problem = EWSAnswerCheck.problem(
            status: status, headers: headers, prefix: prefix, received: received, url: url)
        {
            throw problem
        }
        let root: XMLElement
        do {
            root = try collector.finish()
        } catch {
            throw EWSAnswerCheck.unreadable(
                error, status: status, headers: headers, prefix: prefix, received: received, url: url)
        }
        guard root.name == "Envelope" else { throw EWSAnswerCheck.notSOAP(root: root.name, status: status, url: url) }
        if let fault = root.child("Body")?.child("Fault") {
            let detail = fault.child("detail")
            let code =
                detail?.string("ResponseCode") ?? fault.string("faultcode")?.split(separator: ":").last.map(String.init)
                ?? "SOAPFault"
            let backOff = detail?.child("MessageXml")?.children("Value").first {
                $0.attributes["Name"] == "BackOffMilliseconds"
            }?.text
            throw EWSFault(
                code: code, message: fault.string("faultstring") ?? detail?.string("Message") ?? "SOAP fault",
                backOff: backOff.flatMap(Int.init).map { .milliseconds($0) }, httpStatus: status)
        }
        guard status == 200 else {
            throw EWSFault(code: "HTTP\(status)", message: "unexpected HTTP status \(status)", httpStatus: status)
        }
        return collector.messages
    }
}

/// Parses a response as it streams in; each `*ResponseMessage` is delivered as its own small tree.
final class ResponseCollector: @unchecked Sendable {
    let lock = NSLock()
    var messages: [EWSResponseMessage] = []
    var parser: XMLStreamParser!
    var failure: Error?

    init(streamText: XMLStreamParser.TextStreamSelector? = nil) {
        parser = XMLStreamParser(
            deliver: { path in path.count == 5 && path[3] == "ResponseMessages" },
            onElement: { [unowned self] element, _ in
                self.messages.append(
                    EWSResponseMessage(
                        success: element.attributes["ResponseClass"] != "Error",
                        code: element.string("ResponseCode") ?? "",
                        text: element.string("MessageText") ?? "", element: element))
            }, streamText: streamText ?? { _ in nil })
    }

    /// The first bytes of the body and its length so far, to explain an answer that is not EWS.
    var start: (prefix: Data, received: Int) { lock.withLock { (prefix, received) } }
    private var prefix = Data()
    private var received = 0

    func feed(_ chunk: Data) {
        lock.withLock {
            received += chunk.count
            if prefix.count < 4096 { prefix.append(chunk.prefix(4096 - prefix.count)) }
            guard failure == nil else { return }
            do { try parser.feed(chunk) } catch { failure = error }
        }
    }

    func finish() throws -> XMLElement {
        try lock.withLock {
            if let failure { throw EWSError.protocolError("the response is not valid XML: \(failure)") }
            do {
                return try parser.finish()
            } catch {
                throw EWSError.protocolError("the response is not valid XML: \(error)")
            }
        }
    }
}

/// Pauses every request of one account while the server asks for it (ErrorServerBusy).
actor EWSThrottle {
    var until: ContinuousClock.Instant?
    /// How often the account was paused (for logs and metrics).
    private(set) var pauses = 0

    func pause(for duration: Duration) {
        let end = ContinuousClock.now.advanced(by: duration)
        if until.map({ end > $0 }) ?? true { until = end }
        pauses += 1
    }

    /// Waits while the account is paused; answers how long it waited.
    @discardableResult
    func waitIfPaused() async throws -> Duration {
        let start = ContinuousClock.now
        while let until, until > ContinuousClock.now {
            try await Task.sleep(until: until, clock: .continuous)
        }
        return ContinuousClock.now - start
    }
}
