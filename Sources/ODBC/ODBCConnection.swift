import CODBC
import Foundation

/// C type codes used here (some are macro expressions Swift does not import).
enum CType {
    static let char: SQLSMALLINT = 1
    static let wchar: SQLSMALLINT = -8
    static let sbigint: SQLSMALLINT = -25
    static let double: SQLSMALLINT = 8
    static let binary: SQLSMALLINT = -2
    static let date: SQLSMALLINT = 91
    static let timestamp: SQLSMALLINT = 93
}

/// The ODBC environment: one per process is enough. Freed when released.
public final class ODBCEnvironment: @unchecked Sendable {
    let handle: SQLHENV

    public init() throws {
        Self.useUTF8CharacterSet()
        var env: SQLHENV?
        guard succeeded(SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_ENV), nil, &env)), let env else {
            throw ODBCError(operation: "allocate environment", diagnostics: [])
        }
        handle = env
        let rc = SQLSetEnvAttr(
            env, SQLINTEGER(SQL_ATTR_ODBC_VERSION), UnsafeMutableRawPointer(bitPattern: UInt(SQL_OV_ODBC3)), 0)
        guard succeeded(rc) else {
            let diagnostics = ODBCError.diagnostics(type: SQL_HANDLE_ENV, handle: env)
            SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_ENV), env)
            throw ODBCError(operation: "set ODBC version 3", diagnostics: diagnostics)
        }
    }

    /// unixODBC converts statement text between UTF-16 and the "ANSI" character set of the process
    /// locale for drivers without wide-character entry points (the SQLite3 ODBC driver among them).
    /// In the C locale that set is Latin-1, which turns `Aktivitätenarten` into invalid bytes, and
    /// a later `setlocale` by another library would change it halfway through. So the character
    /// set is fixed to UTF-8 before the first ODBC call.
    static func useUTF8CharacterSet() {
        _ = setlocale(LC_CTYPE, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET))).uppercased()
        if codeset != "UTF-8" && codeset != "UTF8" {
            if setlocale(LC_CTYPE, "C.UTF-8") == nil { _ = setlocale(LC_CTYPE, "en_US.UTF-8") }
        }
    }

    /// The shared environment of this process.
    public static let shared: ODBCEnvironment = {
        do { return try ODBCEnvironment() } catch { fatalError("cannot allocate the ODBC environment: \(error)") }
    }()

    deinit { SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_ENV), handle) }
}

/// One database connection through unixODBC. Not thread-safe: use it from one task at a time.
///
/// Statements are prepared once and reused. A call that fails because the link broke reconnects
/// once and is repeated (outside transactions); `onReconnect` is told so it can be logged.
public final class ODBCConnection: @unchecked Sendable {
    let environment: ODBCEnvironment
    let connectionString: String
    var handle: SQLHDBC?
    var statements: [String: ODBCStatement] = [:]
    var inTransaction = false
    /// The translation every statement passes through, when one is installed for this connection
    /// string (see ``ODBCDialectBridges``); nil in production.
    let bridge: (any ODBCDialectBridge)?
    /// Called when a broken link was re-established (for the log). Never receives secrets.
    public var onReconnect: (@Sendable (ODBCError) -> Void)?

    /// The DBMS product name as the driver reports it (e.g. `SQLite`, `PostgreSQL`, `Microsoft SQL Server`).
    public private(set) var dbmsName = ""
    /// The driver file name (e.g. `libsqlite3odbc.so`).
    public private(set) var driverName = ""
    /// The character that quotes identifiers for this driver.
    public private(set) var identifierQuote = "\""

    /// Connects with an ODBC connection string (`Driver=…;…` or `DSN=…`). The string may hold a
    /// password: it is never part of an error or a log line.
    public init(connectionString: String, environment: ODBCEnvironment = .shared, loginTimeout: Int = 15) throws {
        self.environment = environment
        self.connectionString = connectionString
        bridge = ODBCDialectBridges.bridge(for: connectionString)
        try connect(loginTimeout: loginTimeout)
    }

    deinit { disconnect() }

    func connect(loginTimeout: Int = 15) throws {
        var dbc: SQLHDBC?
        guard succeeded(SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_DBC), environment.handle, &dbc)), let dbc else {
            throw ODBCError(
                operation: "allocate connection",
                diagnostics: ODBCError.diagnostics(type: SQL_HANDLE_ENV, handle: environment.handle))
        }
        SQLSetConnectAttrW(
            dbc, SQLINTEGER(SQL_ATTR_LOGIN_TIMEOUT), UnsafeMutableRawPointer(bitPattern: UInt(loginTimeout)), 0)
        var wide = WideString.encode(connectionString)
        var out = [SQLWCHAR](repeating: 0, count: 1024)
        var outLength: SQLSMALLINT = 0
        let rc = SQLDriverConnectW(
            dbc, nil, &wide, SQLSMALLINT(wide.count - 1), &out, SQLSMALLINT(out.count), &outLength,
            SQLUSMALLINT(SQL_DRIVER_NOPROMPT))
        guard succeeded(rc) else {
            let diagnostics = ODBCError.diagnostics(type: SQL_HANDLE_DBC, handle: dbc)
            SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_DBC), dbc)
            throw ODBCError(operation: "connect", diagnostics: Self.redacted(diagnostics, connectionString))
        }
        handle = dbc
        dbmsName = info(SQLUSMALLINT(SQL_DBMS_NAME))
        driverName = info(SQLUSMALLINT(SQL_DRIVER_NAME))
        let quote = info(SQLUSMALLINT(SQL_IDENTIFIER_QUOTE_CHAR))
        identifierQuote = quote.trimmingCharacters(in: .whitespaces).isEmpty ? "\"" : quote
        if let bridge {
            dbmsName = bridge.dbmsName
            identifierQuote = bridge.identifierQuote
        }
        if inTransaction && !locksWhenBeginning { try setAutocommit(false) }
    }

    /// Removes any part of the connection string a driver may have echoed into a message.
    static func redacted(_ diagnostics: [ODBCDiagnostic], _ connectionString: String) -> [ODBCDiagnostic] {
        let secrets = connectionString.split(separator: ";").compactMap { part -> String? in
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2,
                ["pwd", "password"].contains(pair[0].trimmingCharacters(in: .whitespaces).lowercased())
            else { return nil }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: " {}"))
            return value.isEmpty ? nil : value
        }
        return diagnostics.map { diagnostic in
            var copy = diagnostic
            for secret in secrets { copy.message = copy.message.replacingOccurrences(of: secret, with: "<redacted>") }
            return copy
        }
    }

    func info(_ type: SQLUSMALLINT) -> String {
        guard let handle else { return "" }
        var buffer = [SQLWCHAR](repeating: 0, count: 256)
        var length: SQLSMALLINT = 0
        guard succeeded(SQLGetInfoW(handle, type, &buffer, SQLSMALLINT(buffer.count * 2), &length)) else { return "" }
        return WideString.decode(buffer, count: Int(length) / 2)
    }

    func disconnect() {
        for statement in statements.values { statement.free() }
        statements.removeAll()
        if let handle {
            SQLDisconnect(handle)
            SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_DBC), handle)
        }
        handle = nil
    }

    /// Whether the driver reports the connection as dead (SQL_ATTR_CONNECTION_DEAD).
    public var isDead: Bool {
        guard let handle else { return true }
        var value: SQLUINTEGER = 0
        var length: SQLINTEGER = 0
        let rc = SQLGetConnectAttrW(
            handle, SQLINTEGER(SQL_ATTR_CONNECTION_DEAD), &value, SQLINTEGER(MemoryLayout<SQLUINTEGER>.size), &length)
        return succeeded(rc) && value == SQLUINTEGER(SQL_CD_TRUE)
    }

    /// Closes the connection. Further calls reconnect.
    public func close() { disconnect() }

    func connectionHandle() throws -> SQLHDBC {
        if let handle { return handle }
        try connect()
        return handle!
    }

    /// The prepared statement for `sql`, prepared on first use.
    func statement(_ sql: String) throws -> ODBCStatement {
        if let statement = statements[sql] {
            if !statement.isBroken { return statement }
            statement.free()
            statements[sql] = nil
        }
        let statement: ODBCStatement
        if let bridge {
            let translation = try bridge.translate(sql)
            statement = try ODBCStatement(connection: try connectionHandle(), sql: translation.sql)
            statement.parameterOrder = translation.parameterOrder
        } else {
            statement = try ODBCStatement(connection: try connectionHandle(), sql: sql)
        }
        statements[sql] = statement
        return statement
    }

    /// Runs `body`; if the link broke and no transaction is open, reconnects once and runs it again
    /// (unless `retryIf` says the attempt already had effects that must not be repeated).
    func withReconnect<T>(retryIf: () -> Bool = { true }, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ODBCError where !inTransaction && retryIf() && (error.isConnectionLost || isDead) {
            onReconnect?(error)
            disconnect()
            try connect()
            return try body()
        }
    }

    /// Executes a statement with bound parameters; returns the number of rows affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [ODBCValue] = []) throws -> Int {
        try withReconnect { try statement(sql).execute(parameters) }
    }

    /// Executes a query and calls `body` for each row as it is fetched (rows are not collected).
    public func query(_ sql: String, _ parameters: [ODBCValue] = [], _ body: (ODBCRow) throws -> Void) throws {
        try withReconnect { try statement(sql).query(parameters, body) }
    }

    /// Executes a query and returns all rows; for small results.
    public func rows(_ sql: String, _ parameters: [ODBCValue] = []) throws -> [ODBCRow] {
        var rows: [ODBCRow] = []
        try query(sql, parameters) { rows.append($0) }
        return rows
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    ///
    /// A transaction here is for writing. On SQLite it takes the write lock when it begins
    /// (`BEGIN IMMEDIATE`, waiting up to the driver's `Timeout` for another writer): a transaction
    /// that read first and then wrote while another connection was writing would deadlock with it,
    /// and SQLite ends that with "database is locked" after the timeout instead of waiting.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "nested transactions are not supported")
        if handle != nil && isDead {
            // The link broke since the last call: reconnect before the transaction, not inside it.
            onReconnect?(
                ODBCError(
                    operation: "begin transaction",
                    diagnostics: [ODBCDiagnostic(sqlState: "08S01", nativeCode: 0, message: "the connection is dead")]))
            disconnect()
        }
        _ = try connectionHandle()
        let immediate = locksWhenBeginning
        if immediate {
            // With autocommit on, the driver leaves the transaction to these statements.
            try execute("BEGIN IMMEDIATE")
        } else {
            try setAutocommit(false)
        }
        inTransaction = true
        defer {
            inTransaction = false
            if !immediate { try? setAutocommit(true) }
        }
        do {
            let result = try body()
            if immediate { try execute("COMMIT") } else { try endTransaction(commit: true) }
            return result
        } catch {
            if immediate { _ = try? execute("ROLLBACK") } else { try? endTransaction(commit: false) }
            throw error
        }
    }

    /// Whether transactions begin with the write lock (SQLite; see ``transaction(_:)``).
    var locksWhenBeginning: Bool { bridge == nil && dbmsName == "SQLite" }

    func setAutocommit(_ on: Bool) throws {
        guard let handle else { return }
        let value = on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF
        let rc = SQLSetConnectAttrW(
            handle, SQLINTEGER(SQL_ATTR_AUTOCOMMIT), UnsafeMutableRawPointer(bitPattern: UInt(value)),
            SQLINTEGER(SQL_IS_UINTEGER))
        guard succeeded(rc) else {
            throw ODBCError(
                operation: "set autocommit", diagnostics: ODBCError.diagnostics(type: SQL_HANDLE_DBC, handle: handle))
        }
    }

    func endTransaction(commit: Bool) throws {
        guard let handle else { throw ODBCError(operation: commit ? "commit" : "rollback", diagnostics: []) }
        let rc = SQLEndTran(SQLSMALLINT(SQL_HANDLE_DBC), handle, SQLSMALLINT(commit ? SQL_COMMIT : SQL_ROLLBACK))
        guard succeeded(rc) else {
            throw ODBCError(
                operation: commit ? "commit" : "rollback",
                diagnostics: ODBCError.diagnostics(type: SQL_HANDLE_DBC, handle: handle))
        }
    }

    /// Quotes an identifier for this driver after checking it: letters (any script), digits and
    /// `_`, starting with a letter or `_`, at most 128 characters. Throws for anything else.
    public func quote(_ identifier: String) throws -> String {
        try Self.checkIdentifier(identifier)
        let open = identifierQuote == "[" ? "[" : identifierQuote
        let close = identifierQuote == "[" ? "]" : identifierQuote
        return open + identifier + close
    }

    /// Validates an identifier taken from configuration.
    public static func checkIdentifier(_ identifier: String) throws {
        // ASCII (nearly every name) is checked without Foundation's character sets.
        func isDigit(_ c: Unicode.Scalar) -> Bool {
            c.isASCII ? ("0"..."9").contains(c) : CharacterSet.decimalDigits.contains(c)
        }
        func isAllowed(_ c: Unicode.Scalar) -> Bool {
            c.isASCII
                ? ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_"
                : CharacterSet.letters.contains(c) || CharacterSet.decimalDigits.contains(c)
        }
        let scalars = identifier.unicodeScalars
        let valid =
            !identifier.isEmpty && identifier.count <= 128 && scalars.allSatisfy(isAllowed)
            && !(scalars.first.map(isDigit) ?? true)
        if !valid { throw ODBCIdentifierError(identifier: identifier) }
    }
}

/// An identifier from the configuration that cannot be used safely in SQL.
public struct ODBCIdentifierError: Error, CustomStringConvertible {
    public var identifier: String
    public var description: String {
        "'\(identifier)' is not a valid table or column name (letters, digits and _ only, starting with a letter)"
    }
}
