import CSQLite
import Glibc
import Store

// The writer CrashSafetyTests kills with SIGKILL: it commits 20 streams and a session, leaves a write transaction
// open, says so by creating `<database>.ready` (holding the last stream's publish token), and waits to be killed.
// Usage: store-crash-writer <database>

/// Writes `message` to standard error and exits with `status`.
func fail(_ message: String, status: Int32 = 1) -> Never {
    let bytes = Array((message + "\n").utf8)
    _ = write(2, bytes, bytes.count)
    exit(status)
}

guard CommandLine.arguments.count == 2 else { fail("usage: store-crash-writer <database>", status: 2) }
let path = CommandLine.arguments[1]
do {
    let store = try Store(path: path, durability: .normal)
    var lastToken = ""
    for index in 0..<20 {
        lastToken = try store.createStream(name: "committed-\(index)", viewRequiresToken: false).publishToken
    }
    try store.sessionStarted(id: "running", stream: "committed-0", role: "publisher", remoteAddress: nil, at: 5)
    // A write transaction still open when the process dies, on a second connection of this process.
    var connection: OpaquePointer?
    guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK,
          sqlite3_exec(connection, "BEGIN IMMEDIATE; INSERT INTO streams (name, publish_token_hash, created_at) "
              + "VALUES ('uncommitted', 'x', 0)", nil, nil, nil) == SQLITE_OK else {
        fail("store-crash-writer: \(String(cString: sqlite3_errmsg(connection)))")
    }
    // Write then rename, so the test never reads half a file.
    let marker = path + ".ready"
    let fd = open(marker + ".tmp", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = lastToken.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    rename(marker + ".tmp", marker)
    for _ in 0..<300 { usleep(100_000) }
    exit(3)  // never killed: the test has gone; do not linger
} catch {
    fail("store-crash-writer: \(error)")
}
