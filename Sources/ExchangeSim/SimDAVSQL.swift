import ExchangeWebDAV
import Foundation

/// The subset of Exchange SQL that WebDAV clients send in a `SEARCH` (DavMail, Evolution, K-9 and
/// our adapter): `SELECT "<uri>" [AS alias], … | *`, `FROM SCOPE('shallow|deep traversal of
/// "<url>"')` or `FROM "<url>"`, `WHERE` with `AND`/`OR`/`NOT`, comparisons, `LIKE`, `IS [NOT] NULL`,
/// booleans, numbers, strings, `CAST("…" as 'dateTime.tz')`, and `ORDER BY … [ASC|DESC]`. Keywords
/// are case-insensitive; string comparisons are too, as Exchange's are.
struct SimSQLQuery {
    struct Column: Equatable {
        /// The stored name (canonical).
        var property: String
        var alias: String?
        /// The name as the query wrote it, which the answer uses.
        var raw: String
    }

    enum Literal: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case date(Date)
    }

    indirect enum Condition: Equatable {
        case and([Condition])
        case or([Condition])
        case not(Condition)
        case compare(String, String, Literal)
        case like(String, String, negated: Bool)
        case isNull(String, negated: Bool)
        case constant(Bool)
    }

    var columns: [Column]
    var selectAll: Bool
    /// The scope's URL as written (absolute or a path; empty for the request's URL).
    var scope: String
    var deep: Bool
    var condition: Condition?
    var order: [(property: String, descending: Bool)]

    static func == (lhs: SimSQLQuery, rhs: SimSQLQuery) -> Bool {
        lhs.columns == rhs.columns && lhs.scope == rhs.scope && lhs.condition == rhs.condition
    }
}

/// A syntax error, with the position and what was found.
struct SimSQLError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Parses Exchange SQL into a ``SimSQLQuery``.
struct SimSQLParser {
    enum Token: Equatable {
        case identifier(String)  // "quoted"
        case string(String)  // 'quoted'
        case number(Double)
        case word(String)  // keywords and aliases, as written
        case symbol(String)
    }

    var tokens: [Token] = []
    var position = 0

    static func parse(_ text: String) throws -> SimSQLQuery {
        var parser = SimSQLParser()
        parser.tokens = try tokenize(text)
        return try parser.query()
    }

    static func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        func quoted(_ quote: Character) throws -> String {
            var value = ""
            index += 1
            while true {
                guard index < characters.count else { throw SimSQLError(message: "unterminated \(quote)…\(quote)") }
                let character = characters[index]
                index += 1
                if character == quote {
                    if index < characters.count, characters[index] == quote {
                        value.append(quote)
                        index += 1
                        continue
                    }
                    return value
                }
                value.append(character)
            }
        }
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character == "\"" {
                tokens.append(.identifier(try quoted("\"")))
            } else if character == "'" {
                tokens.append(.string(try quoted("'")))
            } else if character.isNumber
                || (character == "-" && index + 1 < characters.count && characters[index + 1].isNumber)
            {
                var end = index + 1
                while end < characters.count, characters[end].isNumber || characters[end] == "." { end += 1 }
                guard let value = Double(String(characters[index..<end])) else {
                    throw SimSQLError(message: "bad number \(String(characters[index..<end]))")
                }
                tokens.append(.number(value))
                index = end
            } else if character.isLetter || character == "_" {
                var end = index + 1
                while end < characters.count,
                    characters[end].isLetter || characters[end].isNumber || characters[end] == "_"
                {
                    end += 1
                }
                tokens.append(.word(String(characters[index..<end])))
                index = end
            } else {
                let two = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
                if ["<>", "!=", "<=", ">="].contains(two) {
                    tokens.append(.symbol(two))
                    index += 2
                } else if "(),=<>*".contains(character) {
                    tokens.append(.symbol(String(character)))
                    index += 1
                } else {
                    throw SimSQLError(message: "unexpected character '\(character)'")
                }
            }
        }
        return tokens
    }

    var current: Token? { position < tokens.count ? tokens[position] : nil }

    mutating func next() -> Token? {
        defer { position += 1 }
        return current
    }

    mutating func accept(_ word: String) -> Bool {
        if current == .symbol(word) || (current.map { Self.isWord($0, word) } ?? false) {
            position += 1
            return true
        }
        return false
    }

    /// Whether the token is the keyword (in any case).
    static func isWord(_ token: Token, _ keyword: String) -> Bool {
        if case .word(let text) = token { return text.uppercased() == keyword }
        return false
    }

    mutating func expect(_ word: String) throws {
        guard accept(word) else { throw SimSQLError(message: "expected \(word), found \(describe(current))") }
    }

    func describe(_ token: Token?) -> String {
        switch token {
        case nil: "the end"
        case .identifier(let value): "\"\(value)\""
        case .string(let value): "'\(value)'"
        case .number(let value): "\(value)"
        case .word(let value), .symbol(let value): value
        }
    }

    mutating func query() throws -> SimSQLQuery {
        try expect("SELECT")
        var columns: [SimSQLQuery.Column] = []
        var selectAll = false
        if accept("*") {
            selectAll = true
        } else {
            repeat {
                guard case .identifier(let property) = next() else {
                    throw SimSQLError(
                        message: "expected a quoted property name in SELECT, found \(describe(tokens[position - 1]))")
                }
                var alias: String?
                if accept("AS") {
                    switch next() {
                    case .word(let word): alias = word
                    case .identifier(let name): alias = name
                    default: throw SimSQLError(message: "expected an alias after AS")
                    }
                }
                columns.append(.init(property: DAVPropertyName.canonical(property), alias: alias, raw: property))
            } while accept(",")
        }
        try expect("FROM")
        var scope = ""
        var deep = false
        let from = next()
        switch from {
        case .identifier(let url): scope = url
        case let token? where Self.isWord(token, "SCOPE"):
            try expect("(")
            guard case .string(let text) = next() else { throw SimSQLError(message: "expected SCOPE('…')") }
            try expect(")")
            (scope, deep) = try Self.scope(text)
        default: throw SimSQLError(message: "expected a scope after FROM, found \(describe(from))")
        }
        var condition: SimSQLQuery.Condition?
        if accept("WHERE") { condition = try orCondition() }
        var order: [(String, Bool)] = []
        if accept("GROUP") {
            try expect("BY")
            repeat {
                guard case .identifier = next() else { throw SimSQLError(message: "expected a property in GROUP BY") }
            } while accept(",")
        }
        if accept("ORDER") {
            try expect("BY")
            repeat {
                guard case .identifier(let property) = next() else {
                    throw SimSQLError(message: "expected a quoted property name in ORDER BY")
                }
                var descending = false
                if accept("DESC") { descending = true } else { _ = accept("ASC") }
                order.append((DAVPropertyName.canonical(property), descending))
            } while accept(",")
        }
        guard current == nil else { throw SimSQLError(message: "unexpected \(describe(current)) after the query") }
        return SimSQLQuery(
            columns: columns, selectAll: selectAll, scope: scope, deep: deep, condition: condition, order: order)
    }

    /// `shallow traversal of "/exchange/jdoe/Inbox/"` → the URL and whether it is deep. A scope
    /// without a depth is deep, as Exchange treats it.
    static func scope(_ text: String) throws -> (String, Bool) {
        guard let open = text.firstIndex(of: "\""), let close = text.lastIndex(of: "\""), open < close else {
            throw SimSQLError(message: "expected a quoted URL in SCOPE('\(text)')")
        }
        let url = String(text[text.index(after: open)..<close])
        let depth = text[..<open].lowercased()
        return (url, !depth.contains("shallow"))
    }

    mutating func orCondition() throws -> SimSQLQuery.Condition {
        var parts = [try andCondition()]
        while accept("OR") { parts.append(try andCondition()) }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    mutating func andCondition() throws -> SimSQLQuery.Condition {
        var parts = [try notCondition()]
        while accept("AND") { parts.append(try notCondition()) }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    mutating func notCondition() throws -> SimSQLQuery.Condition {
        if accept("NOT") { return .not(try notCondition()) }
        if accept("(") {
            let inner = try orCondition()
            try expect(")")
            return inner
        }
        return try predicate()
    }

    mutating func predicate() throws -> SimSQLQuery.Condition {
        let token = next()
        if let token, Self.isWord(token, "TRUE") { return .constant(true) }
        if let token, Self.isWord(token, "FALSE") { return .constant(false) }
        switch token {
        case .identifier(let raw):
            let property = DAVPropertyName.canonical(raw)
            if accept("IS") {
                let negated = accept("NOT")
                try expect("NULL")
                return .isNull(property, negated: negated)
            }
            let negated = accept("NOT")
            if accept("LIKE") {
                guard case .string(let pattern) = next() else {
                    throw SimSQLError(message: "expected a pattern after LIKE")
                }
                return .like(property, pattern, negated: negated)
            }
            guard !negated else { throw SimSQLError(message: "expected LIKE after NOT") }
            guard case .symbol(let op) = next(), ["=", "<>", "!=", "<", "<=", ">", ">="].contains(op) else {
                throw SimSQLError(
                    message: "expected a comparison after \"\(raw)\", found \(describe(tokens[position - 1]))")
            }
            return .compare(property, op == "!=" ? "<>" : op, try literal())
        default:
            throw SimSQLError(message: "expected a condition, found \(describe(token))")
        }
    }

    mutating func literal() throws -> SimSQLQuery.Literal {
        let token = next()
        if let token, Self.isWord(token, "TRUE") { return .bool(true) }
        if let token, Self.isWord(token, "FALSE") { return .bool(false) }
        switch token {
        case .string(let value): return .string(value)
        case .number(let value): return .number(value)
        case let cast? where Self.isWord(cast, "CAST"):
            try expect("(")
            let value: String
            switch next() {
            case .identifier(let text), .string(let text): value = text
            default: throw SimSQLError(message: "expected a value in CAST(…)")
            }
            try expect("AS")
            guard case .string(let type) = next() else { throw SimSQLError(message: "expected a type in CAST(…)") }
            try expect(")")
            if type.lowercased().hasPrefix("datetime") {
                guard let date = DAVDate.parse(value) else { throw SimSQLError(message: "not a date: \(value)") }
                return .date(date)
            }
            return .string(value)
        default:
            throw SimSQLError(message: "expected a value, found \(describe(token))")
        }
    }
}

/// Evaluation of a condition against an item's properties, with SQL's three-valued logic: a
/// comparison with an absent property is unknown (nil), and only rows that are true match.
extension SimSQLQuery.Condition {
    func evaluate(_ properties: [String: DAVValue]) -> Bool? {
        switch self {
        case .constant(let value): return value
        case .and(let parts):
            var unknown = false
            for part in parts {
                switch part.evaluate(properties) {
                case false?: return false
                case nil: unknown = true
                default: break
                }
            }
            return unknown ? nil : true
        case .or(let parts):
            var unknown = false
            for part in parts {
                switch part.evaluate(properties) {
                case true?: return true
                case nil: unknown = true
                default: break
                }
            }
            return unknown ? nil : false
        case .not(let inner): return inner.evaluate(properties).map { !$0 }
        case .isNull(let property, let negated):
            let isNull = properties[property] == nil
            return negated ? !isNull : isNull
        case .like(let property, let pattern, let negated):
            guard let value = properties[property]?.string else { return nil }
            let matches = Self.like(value.lowercased(), pattern.lowercased())
            return negated ? !matches : matches
        case .compare(let property, let op, let literal):
            guard let value = properties[property] else { return nil }
            guard let order = Self.compare(value, literal) else { return op == "<>" }
            switch op {
            case "=": return order == .orderedSame
            case "<>": return order != .orderedSame
            case "<": return order == .orderedAscending
            case "<=": return order != .orderedDescending
            case ">": return order == .orderedDescending
            default: return order != .orderedAscending
            }
        }
    }

    /// How the property's value compares with the literal, by the literal's type (a string that
    /// reads as a date compares as one with a date property, as `'2009/08/24 15:00:00'` does).
    static func compare(_ value: DAVValue, _ literal: SimSQLQuery.Literal) -> ComparisonResult? {
        func order<T: Comparable>(_ a: T, _ b: T) -> ComparisonResult {
            a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        }
        switch literal {
        case .bool(let flag):
            guard let own = value.bool else { return nil }
            return own == flag ? .orderedSame : .orderedAscending
        case .number(let number):
            guard let own = value.double else { return nil }
            return order(own, number)
        case .date(let date):
            guard let own = value.date else { return nil }
            return order(own, date)
        case .string(let text):
            if case .date(let own) = value {
                guard let date = DAVDate.parse(text) else { return nil }
                return order(own, date)
            }
            if case .bool(let own) = value {
                guard let flag = DAVValue.string(text).bool else { return nil }
                return own == flag ? .orderedSame : .orderedAscending
            }
            if case .strings(let values) = value {
                return values.contains { $0.caseInsensitiveCompare(text) == .orderedSame }
                    ? .orderedSame : .orderedAscending
            }
            if let number = Double(text), let own = value.double, case .int = value { return order(own, number) }
            guard let own = value.string else { return nil }
            return own.compare(text, options: [.caseInsensitive])
        }
    }

    /// SQL `LIKE` with `%` and `_`.
    static func like(_ text: String, _ pattern: String) -> Bool {
        let t = Array(text)
        let p = Array(pattern)
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            let key = i * (p.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            if j == p.count {
                result = i == t.count
            } else if p[j] == "%" {
                result = match(i, j + 1) || (i < t.count && match(i + 1, j))
            } else if i < t.count, p[j] == "_" || p[j] == t[i] {
                result = match(i + 1, j + 1)
            } else {
                result = false
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }
}
