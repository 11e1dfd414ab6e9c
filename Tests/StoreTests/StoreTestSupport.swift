import Glibc
import SkylarkBase
import Synchronization
@testable import Store

/// A fresh directory under /tmp for one test's database files, removed with its contents by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/skylark-store-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Deletes the files SQLite may have left (the database, its -wal and -shm, markers) and the directory.
    func remove() {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// A separate raw connection for looking at what is really in the file.
func rawQuery(_ path: String, _ sql: String) throws -> [[String?]] {
    let db = try SQLiteDatabase(path: path, create: false)
    defer { db.close() }
    try db.setBusyTimeout(milliseconds: 2_000)
    return try db.query(sql) { row in (0..<row.columnCount).map { row.optionalText($0) } }
}

/// A settable clock for `Store(clock:)`.
final class TestClock: Sendable {
    private let seconds = Mutex<Double>(1_700_000_000)
    var now: Double {
        get { seconds.withLock { $0 } }
        set { seconds.withLock { $0 = newValue } }
    }
    var function: @Sendable () -> Double { { [self] in now } }
}
