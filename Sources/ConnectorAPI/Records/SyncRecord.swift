import Foundation

/// A canonical record of one data kind. Adapters translate their native items to and from these.
public protocol SyncRecord: Codable, Sendable, Hashable {
    /// The data kind this record type carries.
    static var kind: DataKind { get }
    /// A short human name for messages and logs (name, subject).
    var displayName: String { get }
    /// Problems that make the record unfit to write anywhere; empty when it is fine.
    func validate() -> [String]
}

/// A record of any kind, as the engine moves it between endpoints.
public enum Record: Sendable, Hashable {
    case address(Address)
    case calendar(CalendarEvent)
    case task(TaskItem)
    case mail(MailMessage)

    public init(_ record: some SyncRecord) {
        switch record {
        case let value as Address: self = .address(value)
        case let value as CalendarEvent: self = .calendar(value)
        case let value as TaskItem: self = .task(value)
        case let value as MailMessage: self = .mail(value)
        default: preconditionFailure("unknown SyncRecord type \(type(of: record))")
        }
    }

    public var kind: DataKind {
        switch self {
        case .address: .address
        case .calendar: .calendar
        case .task: .task
        case .mail: .mail
        }
    }

    /// The record as its concrete type.
    public var value: any SyncRecord {
        switch self {
        case .address(let value): value
        case .calendar(let value): value
        case .task(let value): value
        case .mail(let value): value
        }
    }

    public var displayName: String { value.displayName }

    public func validate() -> [String] { value.validate() }
}

extension Record: Codable {
    private enum CodingKeys: String, CodingKey { case kind, record }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(DataKind.self, forKey: .kind) {
        case .address: self = .address(try container.decode(Address.self, forKey: .record))
        case .calendar: self = .calendar(try container.decode(CalendarEvent.self, forKey: .record))
        case .task: self = .task(try container.decode(TaskItem.self, forKey: .record))
        case .mail: self = .mail(try container.decode(MailMessage.self, forKey: .record))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .address(let value): try container.encode(value, forKey: .record)
        case .calendar(let value): try container.encode(value, forKey: .record)
        case .task(let value): try container.encode(value, forKey: .record)
        case .mail(let value): try container.encode(value, forKey: .record)
        }
    }
}
