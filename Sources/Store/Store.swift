import Glibc
import Runtime
import SkylarkBase
import Synchronization

/// How hard a commit waits for the disk.
public enum Durability: Sendable {
    /// `synchronous=FULL`: every commit fsyncs the WAL, so it survives a power cut or kernel crash as well as a
    /// process crash. The default: a rotated or deleted token must not come back to life after a power loss.
    case full
    /// `synchronous=NORMAL`: commits survive the process crashing but the last few may be lost (never corrupted)
    /// on a power cut. Much cheaper per commit; fine for tests and throwaway data.
    case normal
}

/// Skylark's persistent state in one SQLite file: streams and their tokens, admin API tokens, session history.
///
/// Every method is synchronous and serialised on one connection behind a mutex; calls are short (indexed lookups and
/// single-row writes) but a `.full` commit waits for an fsync, so keep calls off latency-critical queues.
/// Several processes may open the same file (WAL mode, with a busy timeout).
public final class Store: Sendable {
    private let database: Mutex<SQLiteDatabase?>
    /// Seconds since 1970 for `created_at` / `last_used_at`; injectable for tests.
    let clock: @Sendable () -> Double

    /// How long a statement waits for another connection's write lock before failing.
    static let busyTimeoutMilliseconds: Int32 = 5_000

    /// Opens the database at `path`, creating the file (not missing parent directories) and migrating the schema.
    /// ":memory:" gives a private in-memory database.
    public convenience init(path: String) throws(StoreError) {
        try self.init(path: path, durability: .full)
    }

    /// Opens the database at `path` with the given durability; `clock` returns seconds since 1970.
    public init(path: String, durability: Durability,
                clock: @escaping @Sendable () -> Double = Store.wallClock) throws(StoreError) {
        guard !path.isEmpty else { throw .invalid("empty database path") }
        if path != ":memory:" && !path.hasPrefix("file:") { Self.createPrivately(path) }
        let db = try SQLiteDatabase(path: path)
        try db.setBusyTimeout(milliseconds: Self.busyTimeoutMilliseconds)
        // In-memory databases answer "memory"; a file that cannot do WAL (no shared memory) keeps its rollback
        // journal, which with these synchronous settings is just as safe, only slower.
        _ = try db.queryFirst("PRAGMA journal_mode = WAL") { $0.text(0) }
        try db.execute(durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        try db.execute("PRAGMA foreign_keys = ON")
        try Schema.migrate(db)
        self.database = Mutex(db)
        self.clock = clock
    }

    /// Closes the connection; later calls throw `.invalid`. Also happens when the store is released.
    public func close() {
        database.withLock { db in
            db?.close()
            db = nil
        }
    }

    /// The current wall-clock time in seconds since 1970.
    public static let wallClock: @Sendable () -> Double = { WallClock.secondsSince1970() }

    /// Runs `body` with the connection, holding the lock.
    @discardableResult
    func withDatabase<T: Sendable>(_ body: (SQLiteDatabase) throws(StoreError) -> T) throws(StoreError) -> T {
        try database.withLock { (db: inout SQLiteDatabase?) throws(StoreError) -> T in
            guard let db else { throw .invalid("the store is closed") }
            return try body(db)
        }
    }

    /// Creates the file owner-only before SQLite does (SQLite would use 0644): it holds client addresses, and its
    /// -wal and -shm files copy these permissions. An existing file keeps its mode; errors are left to SQLite.
    private static func createPrivately(_ path: String) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Rejects text that is empty, overlong or contains NUL, before it reaches the database.
    static func validate(_ text: String, _ what: String, maximumBytes: Int = 1024) throws(StoreError) {
        guard !text.isEmpty else { throw .invalid("empty \(what)") }
        guard text.utf8.count <= maximumBytes else { throw .invalid("\(what) longer than \(maximumBytes) bytes") }
        guard !text.utf8.contains(0) else { throw .invalid("\(what) contains a NUL character") }
    }
}
