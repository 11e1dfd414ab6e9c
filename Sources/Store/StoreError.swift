/// Why a `Store` operation failed.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database file could not be opened, configured or migrated.
    case open(String)
    /// SQLite reported an error: its (extended) result code and message.
    case sqlite(code: Int32, message: String)
    /// A row with the same key already exists (a stream name, a session id).
    case conflict(String)
    /// An argument was rejected before reaching the database (an empty name, a malformed cursor, a closed store).
    case invalid(String)

    public var description: String {
        switch self {
        case .open(let message): "cannot open the database: \(message)"
        case .sqlite(let code, let message): "SQLite error \(code): \(message)"
        case .conflict(let message): "conflict: \(message)"
        case .invalid(let message): "invalid: \(message)"
        }
    }
}
