import CODBC
import Foundation

/// A prepared statement. Parameters are bound per execution; results are fetched row by row with
/// `SQLGetData` in chunks, so long texts and binaries are read without a size limit.
final class ODBCStatement {
    let sql: String
    var handle: SQLHSTMT?
    var columns: [(name: String, type: SQLSMALLINT)]?
    /// Set when an execution could not be brought back to the prepared state (a cancelled
    /// data-at-execution that the driver refused to cancel): the connection prepares the statement anew.
    var isBroken = false
    /// Set for a statement translated by an ``ODBCDialectBridge``: the original parameter bound at
    /// each position of the translated statement.
    var parameterOrder: [Int]?

    init(connection: SQLHDBC, sql: String) throws {
        self.sql = sql
        var stmt: SQLHSTMT?
        guard succeeded(SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_STMT), connection, &stmt)), let stmt else {
            throw ODBCError(
                operation: "allocate statement",
                diagnostics: ODBCError.diagnostics(type: SQL_HANDLE_DBC, handle: connection), sql: sql)
        }
        handle = stmt
        var wide = WideString.encode(sql)
        let rc = SQLPrepareW(stmt, &wide, SQLINTEGER(wide.count - 1))
        guard succeeded(rc) else {
            let error = ODBCError(
                operation: "prepare", diagnostics: ODBCError.diagnostics(type: SQL_HANDLE_STMT, handle: stmt), sql: sql)
            free()
            throw error
        }
    }

    func free() {
        if let handle { SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_STMT), handle) }
        handle = nil
    }

    deinit { textBuffer.deallocate() }

    func fail(_ operation: String) -> ODBCError {
        ODBCError(
            operation: operation, diagnostics: ODBCError.diagnostics(type: SQL_HANDLE_STMT, handle: handle), sql: sql)
    }

    /// Binds the parameters and executes. The buffers live until this returns.
    func run(_ given: [ODBCValue]) throws {
        guard let handle else { throw ODBCError(operation: "execute", diagnostics: [], sql: sql) }
        let parameters = parameterOrder.map { order in order.map { given[$0] } } ?? given
        SQLFreeStmt(handle, SQLUSMALLINT(SQL_CLOSE))
        SQLFreeStmt(handle, SQLUSMALLINT(SQL_RESET_PARAMS))
        var buffers = ParameterBuffers()
        defer { buffers.release() }
        for (index, value) in parameters.enumerated() {
            let bound = buffers.bind(value, position: index + 1)
            let rc = SQLBindParameter(
                handle, SQLUSMALLINT(index + 1), SQLSMALLINT(SQL_PARAM_INPUT), bound.cType, bound.sqlType,
                bound.columnSize,
                bound.digits, bound.pointer, bound.bufferLength, bound.indicator)
            guard succeeded(rc) else { throw fail("bind parameter \(index + 1)") }
        }
        ODBCStatistics.count()
        var rc = SQLExecute(handle)
        // Streamed parameters (`.binaryStream`) are sent now, chunk by chunk.
        if rc == SQL_NEED_DATA { rc = try sendStreams(parameters) }
        guard succeeded(rc) || rc == SQL_NO_DATA else { throw fail("execute") }
    }

    func execute(_ parameters: [ODBCValue]) throws -> Int {
        try run(parameters)
        var count: SQLLEN = 0
        SQLRowCount(handle, &count)
        SQLFreeStmt(handle, SQLUSMALLINT(SQL_CLOSE))
        return Int(count)
    }

    func query(_ parameters: [ODBCValue], _ body: (ODBCRow) throws -> Void) throws {
        try run(parameters)
        defer { SQLFreeStmt(handle, SQLUSMALLINT(SQL_CLOSE)) }
        let columns = try describe()
        let names = columns.map(\.name)
        while true {
            let rc = SQLFetch(handle)
            if rc == SQL_NO_DATA { break }
            guard succeeded(rc) else { throw fail("fetch") }
            var values: [ODBCValue] = []
            values.reserveCapacity(columns.count)
            for (index, column) in columns.enumerated() {
                values.append(try read(column: index + 1, type: column.type))
            }
            try body(ODBCRow(columns: names, values: values))
        }
    }

    func describe() throws -> [(name: String, type: SQLSMALLINT)] {
        if let columns { return columns }
        var count: SQLSMALLINT = 0
        guard succeeded(SQLNumResultCols(handle, &count)) else { throw fail("describe result") }
        var result: [(String, SQLSMALLINT)] = []
        for index in 0..<Int(count) {
            var name = [SQLWCHAR](repeating: 0, count: 256)
            var nameLength: SQLSMALLINT = 0
            var type: SQLSMALLINT = 0
            var size: SQLULEN = 0
            var digits: SQLSMALLINT = 0
            var nullable: SQLSMALLINT = 0
            let rc = SQLDescribeColW(
                handle, SQLUSMALLINT(index + 1), &name, SQLSMALLINT(name.count), &nameLength, &type, &size, &digits,
                &nullable)
            guard succeeded(rc) else { throw fail("describe column \(index + 1)") }
            result.append((WideString.decode(name, count: Int(nameLength)), type))
        }
        columns = result
        return result
    }

    func read(column: Int, type: SQLSMALLINT) throws -> ODBCValue {
        switch Int32(type) {
        case SQL_SMALLINT, SQL_INTEGER, SQL_TINYINT, SQL_BIGINT, SQL_BIT:
            var value: Int64 = 0
            var indicator: SQLLEN = 0
            guard succeeded(SQLGetData(handle, SQLUSMALLINT(column), CType.sbigint, &value, 8, &indicator)) else {
                throw fail("read column \(column)")
            }
            return indicator == SQLLEN(SQL_NULL_DATA) ? .null : .integer(value)
        case SQL_REAL, SQL_FLOAT, SQL_DOUBLE:
            var value: Double = 0
            var indicator: SQLLEN = 0
            guard succeeded(SQLGetData(handle, SQLUSMALLINT(column), CType.double, &value, 8, &indicator)) else {
                throw fail("read column \(column)")
            }
            return indicator == SQLLEN(SQL_NULL_DATA) ? .null : .double(value)
        case SQL_DECIMAL, SQL_NUMERIC:
            return try readText(column).map { .decimal($0) } ?? .null
        case SQL_TYPE_DATE, SQL_DATE:
            var value = SQL_DATE_STRUCT()
            var indicator: SQLLEN = 0
            guard
                succeeded(
                    SQLGetData(
                        handle, SQLUSMALLINT(column), CType.date, &value, SQLLEN(MemoryLayout<SQL_DATE_STRUCT>.size),
                        &indicator))
            else {
                throw fail("read column \(column)")
            }
            return indicator == SQLLEN(SQL_NULL_DATA)
                ? .null : .date(year: Int(value.year), month: Int(value.month), day: Int(value.day))
        case SQL_TYPE_TIMESTAMP, SQL_TIMESTAMP:
            var value = SQL_TIMESTAMP_STRUCT()
            var indicator: SQLLEN = 0
            guard
                succeeded(
                    SQLGetData(
                        handle, SQLUSMALLINT(column), CType.timestamp, &value,
                        SQLLEN(MemoryLayout<SQL_TIMESTAMP_STRUCT>.size), &indicator))
            else {
                throw fail("read column \(column)")
            }
            if indicator == SQLLEN(SQL_NULL_DATA) { return .null }
            return .timestamp(
                ODBCTimestamp(
                    year: Int(value.year), month: Int(value.month), day: Int(value.day), hour: Int(value.hour),
                    minute: Int(value.minute), second: Int(value.second), nanosecond: Int(value.fraction)))
        case SQL_BINARY, SQL_VARBINARY, SQL_LONGVARBINARY:
            return try readBinary(column).map { .binary($0) } ?? .null
        default:
            return try readText(column).map { .text($0) } ?? .null
        }
    }

    /// Reads a long column piece by piece with `SQLGetData` into `buffer`, calling `piece` with the
    /// bytes of each part and whether it is the last. `terminator` is the size of the terminator
    /// the driver writes after character data (2 for UTF-16, 0 for binary). Answers false for NULL.
    func getData(
        _ column: Int, as cType: SQLSMALLINT, into buffer: UnsafeMutableRawBufferPointer, terminator: Int,
        _ piece: (UnsafeRawBufferPointer, _ last: Bool) throws -> Void
    ) throws -> Bool {
        let room = buffer.count - terminator
        while true {
            var indicator: SQLLEN = 0
            let rc = SQLGetData(
                handle, SQLUSMALLINT(column), cType, buffer.baseAddress, SQLLEN(buffer.count), &indicator)
            if rc == SQL_NO_DATA { return true }
            guard succeeded(rc) else { throw fail("read column \(column)") }
            if indicator == SQLLEN(SQL_NULL_DATA) { return false }
            let count = indicator == SQLLEN(SQL_NO_TOTAL) || indicator > SQLLEN(room) ? room : Int(indicator)
            if count > 0 { try piece(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), rc == SQL_SUCCESS) }
            if rc == SQL_SUCCESS { return true }
        }
    }

    /// Reads a text column in chunks as UTF-16.
    func readText(_ column: Int) throws -> String? {
        var whole: String?
        var units: [SQLWCHAR] = []
        let present = try getData(column, as: CType.wchar, into: textBuffer, terminator: 2) { bytes, last in
            let wide = bytes.bindMemory(to: SQLWCHAR.self)
            // Most values fit in one piece: decoded straight from the buffer, without a copy.
            if last && units.isEmpty { whole = Self.decode(wide) } else { units.append(contentsOf: wide) }
        }
        guard present else { return nil }
        return whole ?? String(decoding: units, as: UTF16.self)
    }

    /// The buffer text columns are read into, allocated once per statement.
    let textBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)

    /// UTF-16 to a string; ASCII (the bulk of CRM data) is copied byte by byte, which is several
    /// times faster than the general transcoding.
    static func decode(_ units: UnsafeBufferPointer<SQLWCHAR>) -> String {
        var ascii = true
        for unit in units where unit >= 0x80 {
            ascii = false
            break
        }
        guard ascii else { return String(decoding: units, as: UTF16.self) }
        return String(unsafeUninitializedCapacity: units.count) { bytes in
            for index in 0..<units.count { bytes[index] = UInt8(truncatingIfNeeded: units[index]) }
            return units.count
        }
    }

    /// Reads a binary column in chunks.
    func readBinary(_ column: Int) throws -> Data? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var data = Data()
        let present = try getData(column, as: CType.binary, into: buffer, terminator: 0) { bytes, _ in
            data.append(contentsOf: bytes)
        }
        return present ? data : nil
    }
}

/// Memory for bound parameters, released after the execution.
struct ParameterBuffers {
    struct Bound {
        var cType: SQLSMALLINT
        var sqlType: SQLSMALLINT
        var columnSize: SQLULEN
        var digits: SQLSMALLINT
        var pointer: UnsafeMutableRawPointer?
        var bufferLength: SQLLEN
        var indicator: UnsafeMutablePointer<SQLLEN>
    }

    var allocations: [UnsafeMutableRawPointer] = []

    mutating func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        allocations.append(pointer)
        return pointer
    }

    mutating func indicator(_ value: SQLLEN) -> UnsafeMutablePointer<SQLLEN> {
        let pointer = allocate(MemoryLayout<SQLLEN>.size).bindMemory(to: SQLLEN.self, capacity: 1)
        pointer.pointee = value
        return pointer
    }

    /// The buffers for `value` as parameter number `position` (1-based).
    mutating func bind(_ value: ODBCValue, position: Int) -> Bound {
        switch value {
        case .null:
            return Bound(
                cType: CType.wchar, sqlType: SQLSMALLINT(SQL_WVARCHAR), columnSize: 1, digits: 0, pointer: nil,
                bufferLength: 0, indicator: indicator(SQLLEN(SQL_NULL_DATA)))
        case .integer(let number):
            let pointer = allocate(8)
            pointer.storeBytes(of: number, as: Int64.self)
            return Bound(
                cType: CType.sbigint, sqlType: SQLSMALLINT(SQL_BIGINT), columnSize: 19, digits: 0, pointer: pointer,
                bufferLength: 8, indicator: indicator(8))
        case .double(let number):
            let pointer = allocate(8)
            pointer.storeBytes(of: number, as: Double.self)
            return Bound(
                cType: CType.double, sqlType: SQLSMALLINT(SQL_DOUBLE), columnSize: 15, digits: 0, pointer: pointer,
                bufferLength: 8, indicator: indicator(8))
        case .text(let text), .decimal(let text):
            let units = Array(text.utf16)
            let bytes = units.count * 2
            let pointer = allocate(bytes + 2)
            units.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
            pointer.storeBytes(of: 0, toByteOffset: bytes, as: UInt16.self)
            let long = units.count > 4000
            return Bound(
                cType: CType.wchar, sqlType: SQLSMALLINT(long ? SQL_WLONGVARCHAR : SQL_WVARCHAR),
                columnSize: SQLULEN(max(units.count, 1)),
                digits: 0, pointer: pointer, bufferLength: SQLLEN(bytes + 2), indicator: indicator(SQLLEN(bytes)))
        case .binary(let data):
            let pointer = allocate(data.count)
            data.withUnsafeBytes {
                if let base = $0.baseAddress { pointer.copyMemory(from: base, byteCount: data.count) }
            }
            return Bound(
                cType: CType.binary, sqlType: SQLSMALLINT(SQL_LONGVARBINARY), columnSize: SQLULEN(max(data.count, 1)),
                digits: 0,
                pointer: pointer, bufferLength: SQLLEN(data.count), indicator: indicator(SQLLEN(data.count)))
        case .binaryStream(let source):
            // Data at execution: the value pointer is only a token that SQLParamData hands back (the
            // parameter's position), and the indicator announces the length (SQL_LEN_DATA_AT_EXEC(n)),
            // which some drivers (SQL_NEED_LONG_DATA_LEN = "Y": the SQLite3 ODBC driver) require and the
            // others accept. SQL_LONGVARBINARY as for `.binary`: with psqlODBC's default settings
            // it goes into a BYTEA column (the tests round-trip it), not into a large object.
            return Bound(
                cType: CType.binary, sqlType: SQLSMALLINT(SQL_LONGVARBINARY),
                columnSize: SQLULEN(max(source.length, 1)), digits: 0,
                pointer: UnsafeMutableRawPointer(bitPattern: position), bufferLength: 0,
                indicator: indicator(SQLLEN(SQL_LEN_DATA_AT_EXEC_OFFSET) - SQLLEN(source.length)))
        case .date(let year, let month, let day):
            let pointer = allocate(MemoryLayout<SQL_DATE_STRUCT>.size)
            pointer.storeBytes(
                of: SQL_DATE_STRUCT(year: SQLSMALLINT(year), month: SQLUSMALLINT(month), day: SQLUSMALLINT(day)),
                as: SQL_DATE_STRUCT.self)
            return Bound(
                cType: CType.date, sqlType: SQLSMALLINT(SQL_TYPE_DATE), columnSize: 10, digits: 0, pointer: pointer,
                bufferLength: SQLLEN(MemoryLayout<SQL_DATE_STRUCT>.size),
                indicator: indicator(SQLLEN(MemoryLayout<SQL_DATE_STRUCT>.size)))
        case .timestamp(let stamp):
            let pointer = allocate(MemoryLayout<SQL_TIMESTAMP_STRUCT>.size)
            let value = SQL_TIMESTAMP_STRUCT(
                year: SQLSMALLINT(stamp.year), month: SQLUSMALLINT(stamp.month), day: SQLUSMALLINT(stamp.day),
                hour: SQLUSMALLINT(stamp.hour),
                minute: SQLUSMALLINT(stamp.minute), second: SQLUSMALLINT(stamp.second),
                fraction: SQLUINTEGER((stamp.nanosecond / 1_000_000) * 1_000_000))
            pointer.storeBytes(of: value, as: SQL_TIMESTAMP_STRUCT.self)
            return Bound(
                cType: CType.timestamp, sqlType: SQLSMALLINT(SQL_TYPE_TIMESTAMP), columnSize: 23, digits: 3,
                pointer: pointer,
                bufferLength: SQLLEN(MemoryLayout<SQL_TIMESTAMP_STRUCT>.size),
                indicator: indicator(SQLLEN(MemoryLayout<SQL_TIMESTAMP_STRUCT>.size)))
        }
    }

    mutating func release() {
        for pointer in allocations { pointer.deallocate() }
        allocations.removeAll()
    }
}
