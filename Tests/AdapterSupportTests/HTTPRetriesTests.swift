import ConnectorAPI
import HTTPAdapterSupport
import Synchronization
import Testing

@Suite("HTTP retries shared by the HTTP adapters")
struct HTTPRetriesTests {
    struct Failure: HTTPRequestFailure {
        var status: Int
        var isPermanent: Bool
        var retryAfter: Duration? = nil
        var description: String { "HTTP \(status)" }
    }

    /// Answers the scripted failures one by one, then "ok".
    final class Script: Sendable {
        let failures: Mutex<[Failure]>
        let calls = Mutex(0)
        init(_ failures: [Failure]) { self.failures = Mutex(failures) }
        func attempt() throws -> String {
            calls.withLock { $0 += 1 }
            if let next = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw next }
            return "ok"
        }
    }

    @Test("transient failures are retried and booked; the answer comes back")
    func transientThenAnswer() async throws {
        let ledger = RetryLedger()
        let script = Script([Failure(status: 503, isPermanent: false), Failure(status: 0, isPermanent: false)])
        let answer = try await HTTPRetries.run(
            attempts: 4, ledger: ledger, firstPause: .milliseconds(1), failure: Failure.self
        ) { try script.attempt() }
        #expect(answer == "ok")
        #expect(script.calls.withLock { $0 } == 3)
        let statistics = ledger.take()
        #expect(statistics.retries == 2)
        #expect(statistics.causes == ["HTTP503": 1, "connection": 1])
    }

    @Test("a permanent failure is thrown at once; the last transient one when the attempts are used up")
    func permanentAndExhausted() async throws {
        let permanent = Script([Failure(status: 401, isPermanent: true)])
        await #expect(throws: Failure.self) {
            try await HTTPRetries.run(
                attempts: 4, ledger: RetryLedger(), firstPause: .milliseconds(1), failure: Failure.self
            ) {
                try permanent.attempt()
            }
        }
        #expect(permanent.calls.withLock { $0 } == 1)
        let busy = Script(Array(repeating: Failure(status: 503, isPermanent: false), count: 5))
        do {
            _ = try await HTTPRetries.run(
                attempts: 3, ledger: RetryLedger(), firstPause: .milliseconds(1), failure: Failure.self
            ) { try busy.attempt() }
            Issue.record("expected the last failure")
        } catch let failure as Failure {
            #expect(failure.status == 503)
        }
        #expect(busy.calls.withLock { $0 } == 3)
    }

    @Test("a failed write's kind follows its status")
    func writeErrors() {
        #expect(Failure(status: 412, isPermanent: true).writeError("x").kind == .conflict)
        #expect(Failure(status: 404, isPermanent: true).writeError("x").kind == .notFound)
        #expect(Failure(status: 507, isPermanent: true).writeError("x").kind == .permanent)
        let busy = Failure(status: 503, isPermanent: false, retryAfter: .seconds(5)).writeError("x")
        #expect(busy.kind == .transient && busy.retryAfter == .seconds(5) && busy.code == "HTTP503")
        #expect(Failure(status: 0, isPermanent: false).writeError("x").code == "connection")
    }
}
