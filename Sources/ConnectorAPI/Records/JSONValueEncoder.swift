import Foundation

/// Encodes an `Encodable` value straight into a ``JSONValue`` tree, without going through JSON text.
///
/// It yields the same tree as encoding with `JSONEncoder` (dates as seconds since 1970, data as
/// base64) and decoding
/// the text as `JSONValue`, at a fraction of the cost; the engine hashes and compares every record
/// it sees through this path.
struct JSONValueEncoder {
    func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try Self.box(value, codingPath: [])
    }

    static func box<T: Encodable>(_ value: T, codingPath: [CodingKey]) throws -> JSONValue {
        // Comparing types is a pointer comparison; a failed dynamic cast (`as Date` on a nested
        // struct) costs a runtime lookup, six of them for every nested value.
        if T.self == String.self { return .string(value as! String) }
        if T.self == Date.self { return .number((value as! Date).timeIntervalSince1970) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if T.self == Int.self { return .number(Double(value as! Int)) }
        if T.self == Double.self { return .number(value as! Double) }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        let encoder = ValueEncoder(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.node.resolved
    }
}

/// A node of the tree being built; containers hand out references so nested writes land in place.
final class ValueNode {
    var value: JSONValue?
    var object: [String: ValueNode]?
    var array: [ValueNode]?

    var resolved: JSONValue {
        if let object { return .object(object.mapValues(\.resolved)) }
        if let array { return .array(array.map(\.resolved)) }
        return value ?? .object([:])
    }

    func makeObject() {
        if object == nil { object = [:] }
    }

    func makeArray() {
        if array == nil { array = [] }
    }
}

final class ValueEncoder: Encoder {
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any] = [:]
    let node: ValueNode

    init(codingPath: [CodingKey], node: ValueNode = ValueNode()) {
        self.codingPath = codingPath
        self.node = node
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedValueContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedValueContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }
}

struct KeyedValueContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: ValueNode
    let codingPath: [CodingKey]

    private func set(_ value: JSONValue, _ key: Key) {
        let child = ValueNode()
        child.value = value
        node.object![key.stringValue] = child
    }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(.number(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.number(Double(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.number(Double(value)), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try JSONValueEncoder.box(value, codingPath: codingPath + [key]), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = ValueNode()
        child.makeObject()
        node.object![key.stringValue] = child
        return KeyedEncodingContainer(KeyedValueContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = ValueNode()
        child.makeArray()
        node.object![key.stringValue] = child
        return UnkeyedValueContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder {
        let child = ValueNode()
        node.object!["super"] = child
        return ValueEncoder(codingPath: codingPath, node: child)
    }

    mutating func superEncoder(forKey key: Key) -> Encoder {
        let child = ValueNode()
        node.object![key.stringValue] = child
        return ValueEncoder(codingPath: codingPath + [key], node: child)
    }
}

struct IndexKey: CodingKey {
    var stringValue: String { "Index \(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

struct UnkeyedValueContainer: UnkeyedEncodingContainer {
    let node: ValueNode
    let codingPath: [CodingKey]
    var count: Int { node.array!.count }

    private func append(_ value: JSONValue) {
        let child = ValueNode()
        child.value = value
        node.array!.append(child)
    }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(.number(value)) }
    mutating func encode(_ value: Int) throws { append(.number(Double(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try JSONValueEncoder.box(value, codingPath: codingPath + [IndexKey(count)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = ValueNode()
        child.makeObject()
        let path = codingPath + [IndexKey(count)]
        node.array!.append(child)
        return KeyedEncodingContainer(KeyedValueContainer<NestedKey>(node: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let child = ValueNode()
        child.makeArray()
        let path = codingPath + [IndexKey(count)]
        node.array!.append(child)
        return UnkeyedValueContainer(node: child, codingPath: path)
    }

    mutating func superEncoder() -> Encoder {
        let child = ValueNode()
        let path = codingPath + [IndexKey(count)]
        node.array!.append(child)
        return ValueEncoder(codingPath: path, node: child)
    }
}

struct SingleValueContainer: SingleValueEncodingContainer {
    let node: ValueNode
    let codingPath: [CodingKey]

    mutating func encodeNil() throws { node.value = .null }
    mutating func encode(_ value: Bool) throws { node.value = .bool(value) }
    mutating func encode(_ value: String) throws { node.value = .string(value) }
    mutating func encode(_ value: Double) throws { node.value = .number(value) }
    mutating func encode(_ value: Float) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: Int) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: Int8) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: Int16) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: Int32) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: Int64) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: UInt) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: UInt8) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: UInt16) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: UInt32) throws { node.value = .number(Double(value)) }
    mutating func encode(_ value: UInt64) throws { node.value = .number(Double(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        node.value = try JSONValueEncoder.box(value, codingPath: codingPath)
    }
}
