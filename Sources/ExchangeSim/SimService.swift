import EWS
import Foundation
import Synchronization
import XML

/// The EWS service of the simulator: validates each request against Microsoft's schemas,
/// resolves rights, and runs the operation on the in-memory mailboxes. Transport-independent:
/// `handle(body:account:)` takes the request bytes and returns the status and response bytes.
public final class SimService: @unchecked Sendable {
    var currentOptions: SimOptions
    /// The options in force (faults can be switched while running with `update`).
    public var options: SimOptions { lock.withLock { currentOptions } }

    /// Changes options while running, e.g. to switch a fault on or off.
    public func update(_ change: (inout SimOptions) -> Void) { lock.withLock { change(&currentOptions) } }
    let catalog: SchemaCatalog
    let validator: XMLSchemaValidator
    let lock = NSRecursiveLock()
    var mailboxes: [String: SimMailbox] = [:]
    /// The mailboxes' WebDAV view, made on first use.
    var davMailboxes: [String: SimDAVMailbox] = [:]
    var itemIndex: [String: String] = [:]
    /// Exception (occurrence) id → its master's id.
    var occurrenceIndex: [String: String] = [:]
    var random: SimRandom
    /// Requests handled per operation (for tests and benchmarks).
    var operationCounts: [String: Int] = [:]

    public init(options: SimOptions) throws {
        currentOptions = options
        catalog = try SchemaCatalog(
            typesXSD: options.schemaDirectory.appendingPathComponent("exchange2010_sp2/types.xsd"))
        validator = try XMLSchemaValidator(
            path: options.schemaDirectory.appendingPathComponent("validation/ews-2010sp2-envelope.xsd").path)
        random = SimRandom(seed: options.seed)
        for address in options.mailboxes { mailboxes[address.lowercased()] = SimMailbox(address: address.lowercased()) }
        if let path = options.statePath, FileManager.default.fileExists(atPath: path.path) { try load(from: path) }
        try loadDAV()
    }

    /// The number of items in a mailbox's distinguished folder (for tests and the demo).
    public func itemCount(mailbox: String, folder: String) -> Int {
        lock.withLock {
            guard let box = mailboxes[mailbox.lowercased()], let target = box.folder(distinguished: folder) else {
                return 0
            }
            return box.items.values.filter { $0.folderID == target.id }.count
        }
    }

    /// How many requests of each operation were served.
    public var counts: [String: Int] { lock.withLock { operationCounts } }

    /// Items in all mailboxes outside Deleted Items, over EWS and WebDAV (for benchmarks and soaks
    /// comparing runs).
    public var itemCount: Int {
        lock.withLock {
            mailboxes.values.reduce(0) { total, mailbox in
                total
                    + mailbox.items.values.filter { mailbox.folders[$0.folderID]?.distinguished != "deleteditems" }
                    .count
            }
                + davMailboxes.values.reduce(0) { total, mailbox in
                    total + mailbox.folders.values.filter { $0.key != "deleteditems" }.reduce(0) { $0 + $1.items.count }
                }
        }
    }

    /// Counts a fault the HTTP layer injected (`faultDropped`, `faultUnavailable`), beside the operations.
    func countFault(_ name: String) { lock.withLock { operationCounts[name, default: 0] += 1 } }

    /// Answers one request for an authenticated account.
    public func handle(body: Data, account: String) -> (status: Int, body: Data) {
        let result = respond(body: body, account: account)
        lock.withLock {
            operationCounts["bytesIn", default: 0] += body.count
            operationCounts["bytesOut", default: 0] += result.body.count
        }
        return result
    }

    func respond(body: Data, account: String) -> (status: Int, body: Data) {
        let errors = validator.validate(body)
        if let first = errors.first {
            return (
                500,
                SimWriter.fault(
                    SimFault(
                        code: "ErrorSchemaValidation",
                        message: "The request failed schema validation: \(first.message)",
                        values: [("LineNumber", "\(first.line)"), ("LinePosition", "0"), ("Violation", first.message)]))
            )
        }
        let envelope: XMLElement
        do {
            envelope = try XMLStreamParser.parse(body)
        } catch {
            return (
                500, SimWriter.fault(SimFault(code: "ErrorInvalidRequest", message: "The request is invalid: \(error)"))
            )
        }
        guard let operation = envelope.child("Body")?.children.first else {
            return (
                500, SimWriter.fault(SimFault(code: "ErrorInvalidRequest", message: "The request has no operation."))
            )
        }
        return lock.withLock {
            operationCounts[operation.name, default: 0] += 1
            if options.busyRate > 0, random.unit() < options.busyRate {
                operationCounts["ErrorServerBusy", default: 0] += 1
                return (
                    500,
                    SimWriter.fault(
                        SimFault(
                            code: "ErrorServerBusy",
                            message: "The server cannot service this request right now. Try again later.",
                            values: [("BackOffMilliseconds", "\(options.backOffMilliseconds)")]))
                )
            }
            do {
                let context = try self.context(envelope.child("Header"), account: account)
                let response = try dispatch(operation, context)
                save()
                return (200, response)
            } catch let fault as SimFault {
                return (500, SimWriter.fault(fault))
            } catch {
                return (500, SimWriter.fault(SimFault(code: "ErrorInternalServerError", message: "\(error)")))
            }
        }
    }

    // MARK: Rights

    struct Context {
        var account: String
        var impersonated: String?
    }

    func context(_ header: XMLElement?, account: String) throws -> Context {
        var context = Context(account: account.lowercased(), impersonated: nil)
        if let connecting = header?.child("ExchangeImpersonation")?.child("ConnectingSID") {
            guard
                let address =
                    (connecting.string("PrimarySmtpAddress") ?? connecting.string("SmtpAddress")
                    ?? connecting.string("PrincipalName"))?.lowercased()
            else {
                throw SimFault(
                    code: "ErrorImpersonationFailed",
                    message: "Impersonation failed: no usable address in ConnectingSID.")
            }
            guard options.impersonation.contains(context.account), !options.impersonationDenied.contains(address) else {
                throw SimFault(
                    code: "ErrorImpersonateUserDenied",
                    message: "The account does not have permission to impersonate the requested user.")
            }
            guard mailboxes[address] != nil else {
                throw SimFault(
                    code: "ErrorNonExistentMailbox", message: "The SMTP address has no mailbox associated with it.")
            }
            context.impersonated = address
        }
        return context
    }

    /// The mailbox an operation acts on, after the rights check.
    func mailbox(_ address: String?, _ context: Context) throws -> SimMailbox {
        let target = (address ?? context.impersonated ?? context.account).lowercased()
        guard let mailbox = mailboxes[target] else {
            throw SimItemError(
                code: "ErrorNonExistentMailbox",
                message: "The SMTP address \(target) has no mailbox associated with it.")
        }
        let allowed =
            target == context.account || target == context.impersonated || options.delegates.contains(context.account)
        guard allowed else {
            throw SimItemError(code: "ErrorAccessDenied", message: "Access is denied. Check credentials and try again.")
        }
        return mailbox
    }

    /// Resolves a `DistinguishedFolderId` or `FolderId`.
    func folder(_ reference: XMLElement, _ context: Context) throws -> (SimMailbox, SimFolder) {
        switch reference.name {
        case "DistinguishedFolderId":
            let mailbox = try self.mailbox(reference.child("Mailbox")?.string("EmailAddress"), context)
            guard let name = reference.attributes["Id"], let folder = mailbox.folder(distinguished: name) else {
                throw SimItemError(
                    code: "ErrorFolderNotFound", message: "The specified folder could not be found in the store.")
            }
            return (mailbox, folder)
        case "FolderId":
            guard let id = reference.attributes["Id"], let address = Self.mailboxOfFolder(id) else {
                throw SimItemError(code: "ErrorInvalidIdMalformed", message: "Id is malformed.")
            }
            let mailbox = try self.mailbox(address, context)
            guard let folder = mailbox.folders[id] else {
                throw SimItemError(
                    code: "ErrorFolderNotFound", message: "The specified folder could not be found in the store.")
            }
            return (mailbox, folder)
        default:
            throw SimItemError(code: "ErrorInvalidRequest", message: "Unexpected folder reference \(reference.name).")
        }
    }

    static func mailboxOfFolder(_ id: String) -> String? {
        guard let data = Data(base64Encoded: id), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("AQMkF:")
        else { return nil }
        let parts = text.split(separator: ":", maxSplits: 2)
        return parts.count == 3 ? String(parts[1]) : nil
    }

    func item(_ id: String?, _ context: Context) throws -> (SimMailbox, SimItem) {
        guard let id, let address = itemIndex[id] else {
            throw SimItemError(code: "ErrorItemNotFound", message: "The specified object was not found in the store.")
        }
        let mailbox = try self.mailbox(address, context)
        guard let item = mailbox.items[id] else {
            throw SimItemError(code: "ErrorItemNotFound", message: "The specified object was not found in the store.")
        }
        return (mailbox, item)
    }

    // MARK: Dispatch

    func dispatch(_ operation: XMLElement, _ context: Context) throws -> Data {
        switch operation.name {
        case "GetFolder": return try getFolder(operation, context)
        case "FindFolder": return try findFolder(operation, context)
        case "CreateFolder": return try createFolder(operation, context)
        case "SyncFolderItems": return try syncFolderItems(operation, context)
        case "GetItem": return try getItem(operation, context)
        case "CreateItem": return try createItem(operation, context)
        case "UpdateItem": return try updateItem(operation, context)
        case "DeleteItem": return try deleteItem(operation, context)
        case "MoveItem": return try moveItem(operation, context)
        case "FindItem": return try findItem(operation, context)
        case "CreateAttachment": return try createAttachment(operation, context)
        case "GetAttachment": return try getAttachment(operation, context)
        case "DeleteAttachment": return try deleteAttachment(operation, context)
        default:
            throw SimFault(code: "ErrorInvalidRequest", message: "The simulator does not implement \(operation.name).")
        }
    }

    /// Runs `body` per input and turns per-item errors into error messages; after a stop-class
    /// error the remaining inputs get ErrorBatchProcessingStopped, as Exchange does.
    func perItem<T>(
        _ inputs: [T], operation: String, container: String? = "Items",
        _ body: (T, Int) throws -> (inout XMLWriter) -> Void
    ) -> [(inout XMLWriter) -> Void] {
        var messages: [(inout XMLWriter) -> Void] = []
        var stopped = false
        for (index, input) in inputs.enumerated() {
            if stopped {
                messages.append(
                    SimWriter.error(
                        operation,
                        SimItemError(
                            code: "ErrorBatchProcessingStopped",
                            message: "The batch was stopped because of an earlier error."),
                        container: container))
                continue
            }
            if inputs.count > 1, options.busyRate > 0, random.unit() < options.busyRate / 2 {
                operationCounts["ErrorServerBusy", default: 0] += 1
                messages.append(
                    SimWriter.error(
                        operation,
                        SimItemError(
                            code: "ErrorServerBusy",
                            message: "The server cannot service this request right now. Try again later.",
                            values: [("BackOffMilliseconds", "\(options.backOffMilliseconds)")]), container: container))
                stopped = true
                continue
            }
            do {
                messages.append(SimWriter.success(operation, try body(input, index)))
            } catch let error as SimItemError {
                messages.append(SimWriter.error(operation, error, container: container))
            } catch {
                messages.append(
                    SimWriter.error(
                        operation, SimItemError(code: "ErrorInternalServerError", message: "\(error)"),
                        container: container))
            }
        }
        return messages
    }

    // MARK: Folders

    static func folderElement(_ folderClass: String) -> String {
        switch folderClass {
        case "IPF.Contact": "ContactsFolder"
        case "IPF.Appointment": "CalendarFolder"
        case "IPF.Task": "TasksFolder"
        default: "Folder"
        }
    }

    func writeFolder(_ folder: SimFolder, _ mailbox: SimMailbox, idOnly: Bool, _ w: inout XMLWriter) {
        w.element("t:\(Self.folderElement(folder.folderClass))") { w in
            w.start("t:FolderId", [("Id", folder.id), ("ChangeKey", folder.changeKey)])
            w.end()
            guard !idOnly else { return }
            if let parent = folder.parentID {
                w.start("t:ParentFolderId", [("Id", parent), ("ChangeKey", mailbox.folders[parent]?.changeKey ?? "")])
                w.end()
            }
            w.element("t:FolderClass", folder.folderClass)
            w.element("t:DisplayName", folder.displayName)
            w.element("t:TotalCount", "\(mailbox.items.values.filter { $0.folderID == folder.id }.count)")
            w.element("t:ChildFolderCount", "\(mailbox.folders.values.filter { $0.parentID == folder.id }.count)")
            // FolderType (mail and task folders, not calendar or contacts folders): unread messages.
            if Self.folderElement(folder.folderClass) == "Folder"
                || Self.folderElement(folder.folderClass) == "TasksFolder"
            {
                let unread = mailbox.items.values.filter {
                    $0.folderID == folder.id && $0.elementName == "Message"
                        && $0.properties.first { $0.name == "IsRead" }?.text == "false"
                }
                w.element("t:UnreadCount", "\(unread.count)")
            }
        }
    }

    /// The folder properties are written unless the shape is IdOnly without additional properties
    /// (asked-for properties beyond those written are left out, not refused).
    static func folderIDOnly(_ operation: XMLElement) -> Bool {
        operation.path("FolderShape", "BaseShape")?.text == "IdOnly"
            && operation.path("FolderShape", "AdditionalProperties") == nil
    }

    func getFolder(_ operation: XMLElement, _ context: Context) throws -> Data {
        let idOnly = Self.folderIDOnly(operation)
        let references = operation.child("FolderIds")?.children ?? []
        return SimWriter.operation(
            "GetFolder",
            perItem(references, operation: "GetFolder", container: "Folders") { reference, _ in
                let (mailbox, folder) = try self.folder(reference, context)
                return { w in w.element("m:Folders") { w in self.writeFolder(folder, mailbox, idOnly: idOnly, &w) } }
            })
    }

    func findFolder(_ operation: XMLElement, _ context: Context) throws -> Data {
        let idOnly = Self.folderIDOnly(operation)
        let deep = operation.attributes["Traversal"] == "Deep"
        let parents = operation.child("ParentFolderIds")?.children ?? []
        return SimWriter.operation(
            "FindFolder",
            perItem(parents, operation: "FindFolder", container: nil) { reference, _ in
                let (mailbox, parent) = try self.folder(reference, context)
                var found: [SimFolder] = []
                var queue = [parent.id]
                while let next = queue.first {
                    queue.removeFirst()
                    let children = mailbox.folders.values.filter { $0.parentID == next }.sorted {
                        $0.displayName < $1.displayName
                    }
                    found += children
                    if deep { queue += children.map(\.id) }
                }
                return { w in
                    w.element(
                        "m:RootFolder", [("TotalItemsInView", "\(found.count)"), ("IncludesLastItemInRange", "true")]
                    ) { w in
                        w.element("t:Folders") { w in
                            for folder in found { self.writeFolder(folder, mailbox, idOnly: idOnly, &w) }
                        }
                    }
                }
            })
    }

    func createFolder(_ operation: XMLElement, _ context: Context) throws -> Data {
        guard let parentReference = operation.child("ParentFolderId")?.children.first else {
            throw SimFault(code: "ErrorInvalidRequest", message: "ParentFolderId is missing.")
        }
        let folders = operation.child("Folders")?.children ?? []
        return SimWriter.operation(
            "CreateFolder",
            perItem(folders, operation: "CreateFolder", container: "Folders") { element, _ in
                let (mailbox, parent) = try self.folder(parentReference, context)
                let name = element.string("DisplayName") ?? "Neuer Ordner"
                if mailbox.folders.values.contains(where: {
                    $0.parentID == parent.id && $0.displayName.lowercased() == name.lowercased()
                }) {
                    throw SimItemError(
                        code: "ErrorFolderExists", message: "A folder with the specified name already exists.")
                }
                let folderClass =
                    element.string("FolderClass")
                    ?? [
                        "ContactsFolder": "IPF.Contact", "CalendarFolder": "IPF.Appointment", "TasksFolder": "IPF.Task",
                    ][element.name]
                    ?? "IPF.Note"
                let folder = SimFolder(
                    id: SimIDs.folder(mailbox.address, UUID().uuidString), changeKey: SimIDs.changeKey(1),
                    distinguished: nil,
                    displayName: name, folderClass: folderClass, parentID: parent.id)
                mailbox.folders[folder.id] = folder
                return { w in w.element("m:Folders") { w in self.writeFolder(folder, mailbox, idOnly: true, &w) } }
            })
    }
}

/// A small deterministic generator for fault injection.
struct SimRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}
