import ConnectorAPI
import Foundation
import Logging

/// An error that stops a run as a whole (a side unreachable), naming the side and cause.
struct RunError: Error, CustomStringConvertible {
    var description: String
    /// Whether the cause needs an administrator (bad credentials, missing rights, unknown mailbox).
    var permanent = false
    /// The run was stopped on purpose (shutdown) after a finished batch.
    var stopped = false

    init(description: String, cause: Error? = nil) {
        self.description = description
        permanent = (cause as? ClassifiedError)?.isPermanent ?? false
    }

    static let shutdown: RunError = {
        var error = RunError(
            description: "stopped for shutdown after the last finished batch; the rest follows on the next start")
        error.stopped = true
        return error
    }()
}
