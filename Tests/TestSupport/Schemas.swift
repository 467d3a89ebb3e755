import Foundation
import XML

/// Microsoft's EWS schema set beside the project (`../shared/ews-schema`, or `EWS_SCHEMAS`).
/// It is referenced by path and never copied into the project.
public enum Schemas {
    public static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["EWS_SCHEMAS"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/ews-schema")
    }

    /// A validator for the Exchange 2010 SP2 set, compiled once.
    public static let validator: XMLSchemaValidator = {
        do {
            return try XMLSchemaValidator(
                path: directory.appendingPathComponent("validation/ews-2010sp2-envelope.xsd").path)
        } catch {
            fatalError("the EWS schemas are needed for these tests (set EWS_SCHEMAS): \(error)")
        }
    }()
}
