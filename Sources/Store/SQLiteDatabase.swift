import CSQLite

/// A value bound to a `?` parameter of a statement.
enum SQLValue {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func real(_ value: Double?) -> SQLValue { value.map { .real($0) } ?? .null }
}

/// One connection to an SQLite database: owns the `sqlite3*` handle and a cache of prepared statements.
///
/// Not thread-safe: the owner serialises every call (`Store` holds it inside a `Mutex`), which is why the connection
/// is opened with `SQLITE_OPEN_NOMUTEX`.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    /// Prepared statements by SQL text. The SQL is a fixed set of literals, so the cache stays small.
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (and with `create`, creates) the database at `path`; ":memory:" gives a private in-memory database.
    init(path: String, create: Bool = true) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            // sqlite3_open_v2 allocates a handle even when it fails (unless out of memory); it carries the message.
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw .open("\(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes the cached statements and closes the connection (which checkpoints the WAL if it is the last one).
    /// Later calls throw.
    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Sets how long a statement waits for another connection's lock before failing with SQLITE_BUSY.
    func setBusyTimeout(milliseconds: Int32) throws(StoreError) {
        let db = try open()
        try check(sqlite3_busy_timeout(db, milliseconds))
    }

    /// Runs one or more SQL statements without parameters or results (schema changes, pragmas, BEGIN/COMMIT).
    func execute(_ sql: String) throws(StoreError) {
        let db = try open()
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw Self.error(code: rc, message: text)
        }
    }

    /// Runs a statement that returns no rows; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> Int {
        let db = try open()
        let statement = try prepared(sql, arguments)
        defer { Self.reset(statement) }
        while try step(statement) {}
        return Int(sqlite3_changes64(db))
    }

    /// Runs a query and maps each result row.
    func query<T>(_ sql: String, _ arguments: [SQLValue] = [],
                  row map: (SQLiteRow) throws(StoreError) -> T) throws(StoreError) -> [T] {
        let statement = try prepared(sql, arguments)
        defer { Self.reset(statement) }
        var rows: [T] = []
        while try step(statement) {
            rows.append(try map(SQLiteRow(statement: statement)))
        }
        return rows
    }

    /// Runs a query and maps its first row, if any.
    ///
    /// The statement still runs to completion: for `INSERT/UPDATE … RETURNING` in autocommit mode the commit happens
    /// in the final step, and an error there (SQLITE_BUSY, a failed fsync) must be thrown, not lost in a reset.
    /// Use it for queries that return at most a few rows.
    func queryFirst<T>(_ sql: String, _ arguments: [SQLValue] = [],
                       row map: (SQLiteRow) throws(StoreError) -> T) throws(StoreError) -> T? {
        let statement = try prepared(sql, arguments)
        defer { Self.reset(statement) }
        guard try step(statement) else { return nil }
        let first = try map(SQLiteRow(statement: statement))
        while try step(statement) {}
        return first
    }

    /// Runs `body` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back if it throws.
    ///
    /// IMMEDIATE takes the write lock up front, so a read-then-write transaction cannot fail half-way with
    /// SQLITE_BUSY when another connection writes (the busy timeout covers the wait at BEGIN instead).
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // A failed COMMIT can leave the transaction open; a failed statement inside may already have ended it.
            if let handle, sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    // MARK: - Statements

    private func open() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw .invalid("the database is closed") }
        return handle
    }

    /// Returns the cached (or newly prepared) statement for `sql`, reset and with `arguments` bound.
    private func prepared(_ sql: String, _ arguments: [SQLValue]) throws(StoreError) -> OpaquePointer {
        let db = try open()
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
        } else {
            var prepared: OpaquePointer?
            try check(sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil))
            guard let prepared else { throw .invalid("empty SQL statement") }
            statements[sql] = prepared
            statement = prepared
        }
        guard Int(sqlite3_bind_parameter_count(statement)) == arguments.count else {
            throw .invalid("statement expects \(sqlite3_bind_parameter_count(statement)) arguments, got \(arguments.count)")
        }
        do throws(StoreError) {
            for (offset, argument) in arguments.enumerated() {
                try bind(argument, at: Int32(offset + 1), in: statement)
            }
        } catch {
            Self.reset(statement)
            throw error
        }
        return statement
    }

    private func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) throws(StoreError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(statement, index)
        case .integer(let value): rc = sqlite3_bind_int64(statement, index, value)
        case .real(let value): rc = sqlite3_bind_double(statement, index, value)
        case .text(let value):
            var text = value
            rc = text.withUTF8 { utf8 -> Int32 in
                // Bound with an explicit length, so text with NUL bytes is kept whole; SQLite copies it (TRANSIENT).
                // An empty buffer may have no base address, and a null pointer would bind NULL instead of "".
                guard let base = utf8.baseAddress, utf8.count > 0 else {
                    return skylark_sqlite3_bind_text_transient(statement, index, "", 0)
                }
                guard utf8.count <= Int(Int32.max) else { return SQLITE_TOOBIG }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    skylark_sqlite3_bind_text_transient(statement, index, $0, Int32(utf8.count))
                }
            }
        }
        try check(rc)
    }

    /// Steps a statement: true with a row ready, false when done.
    private func step(_ statement: OpaquePointer) throws(StoreError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw error(rc)
        }
    }

    /// Makes a statement reusable and drops its bound values (so no argument text outlives the call).
    private static func reset(_ statement: OpaquePointer) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    // MARK: - Errors

    private func check(_ rc: Int32) throws(StoreError) {
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    /// The error for `rc`, with the connection's message (read at once, before another call replaces it).
    private func error(_ rc: Int32) -> StoreError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return Self.error(code: rc, message: message)
    }

    private static func error(code: Int32, message: String) -> StoreError {
        // The primary code is the low byte of an extended result code.
        // SQLITE_CONSTRAINT_PRIMARYKEY and _UNIQUE are macros Swift cannot import: (SQLITE_CONSTRAINT | (6 << 8))
        // and (SQLITE_CONSTRAINT | (8 << 8)).
        if code == SQLITE_CONSTRAINT | 6 << 8 || code == SQLITE_CONSTRAINT | 8 << 8 {
            return .conflict(message)
        }
        return .sqlite(code: code, message: message)
    }
}

/// The current row of a stepping statement. Valid only inside the `query` callback that receives it.
struct SQLiteRow {
    fileprivate let statement: OpaquePointer

    var columnCount: Int32 { sqlite3_column_count(statement) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }

    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }

    func text(_ column: Int32) -> String { optionalText(column) ?? "" }

    func optionalText(_ column: Int32) -> String? {
        // column_text before column_bytes: the byte count is of the text conversion (SQLite's documented order).
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }
}
