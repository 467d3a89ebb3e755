// Our side of the DavMail peer check (scripts/davmail-check.sh): the exchange-webdav adapter,
// signed in through Exchange 2003's forms login, writes an appointment and a contact into a
// mailbox, or reads the mailbox's appointments and contacts and prints them as JSON lines.
//
//   webdav-peer write|read EXCHANGE_URL USER PASSWORD MAILBOX
import ConnectorAPI
import Connectors
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 6, ["write", "read"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: webdav-peer write|read EXCHANGE_URL USER PASSWORD MAILBOX\n".utf8))
    exit(2)
}
let (command, url, user, password, mailbox) = (arguments[1], arguments[2], arguments[3], arguments[4], arguments[5])
let adapter = try WebDAVAdapter.type.make(
    Settings([
        "url": .string(url), "version": .string("2003"), "auth": .string("forms"), "username": .string(user),
        "password": .secret(Secret(password)), "timezone": .string("Europe/Berlin"),
    ]),
    AdapterContext(
        instanceName: "peer", baseDirectory: URL(fileURLWithPath: "."),
        log: { level, message in FileHandle.standardError.write(Data("\(level): \(message)\n".utf8)) }))
let account = WebDAVAdapter.type.account(on: "peer", ["mailbox": mailbox])

func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint {
    try await adapter.endpoint(
        for: EndpointScope(connector: "peer", kind: kind, role: .target, user: "peer", account: account))
}

func print(json: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    Swift.print(String(decoding: data, as: UTF8.self))
}

let iso = ISO8601DateFormatter()
do {
    if command == "write" {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        let start = calendar.date(from: DateComponents(year: 2030, month: 6, day: 3, hour: 14))!
        let event = CalendarEvent(
            subject: "Adapter-Termin Übergabe", location: "Südstraße 5",
            timing: .timed(start: start, end: start.addingTimeInterval(3600), timeZone: "Europe/Berlin"),
            reminderMinutes: 30)
        let contact = Address(
            givenName: "Ada", familyName: "Adapter", company: "Büro Adapter", emails: ["ada@adapter.example"],
            phones: [.mobile: "+49 171 1234567"])
        for (kind, record, key) in [
            (DataKind.calendar, Record.calendar(event), "peer-event"), (.address, .address(contact), "peer-contact"),
        ] {
            let results = try await endpoint(kind).apply([.create(syncKey: SyncKey(rawValue: key), record: record)])
            guard case .success(let id, _, _)? = results.first else {
                FileHandle.standardError.write(Data("webdav-peer: writing the \(kind) failed: \(results)\n".utf8))
                exit(1)
            }
            try print(json: ["wrote": "\(kind)", "id": id])
        }
    } else {
        for kind in [DataKind.calendar, .address] {
            let changes = try await endpoint(kind).changes(ChangeRequest(cursor: nil, known: [:]))
            for unreadable in changes.unreadable {
                try print(json: ["kind": "\(kind)", "unreadable": unreadable.name, "reason": unreadable.reason])
            }
            for change in changes.changes {
                guard case .upsert(let state) = change else { continue }
                switch state.record {
                case .calendar(let event):
                    var line: [String: Any] = ["kind": "calendar", "subject": event.subject, "id": state.id]
                    if case .timed(let start, let end, let zone) = event.timing {
                        line["start"] = iso.string(from: start)
                        line["end"] = iso.string(from: end)
                        line["zone"] = zone
                    }
                    try print(json: line)
                case .address(let address):
                    try print(json: [
                        "kind": "contact", "givenName": address.givenName ?? "", "familyName": address.familyName ?? "",
                        "emails": address.emails, "id": state.id,
                    ])
                default: break
                }
            }
        }
    }
} catch {
    FileHandle.standardError.write(Data("webdav-peer: \(error)\n".utf8))
    await adapter.shutdown()
    exit(1)
}
await adapter.shutdown()
