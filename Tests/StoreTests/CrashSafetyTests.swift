import Glibc
import Testing
@testable import Store

/// What these tests establish:
/// - A process killed with SIGKILL (no close, no checkpoint, a write transaction open) leaves every transaction it
///   committed readable, loses the uncommitted one, and leaves a file that passes `integrity_check` and reopens.
///   That needs no fsync: committed WAL frames are in the kernel's page cache when the process dies. Even
///   `synchronous=NORMAL` is enough for that, so the writer (`store-crash-writer`) uses it. Power loss (what `.full` adds) cannot be
///   simulated here.
/// - While the writer is alive, other connections (another process's, or a second `Store` on the same file) read
///   the committed rows concurrently, and two stores writing to one file at once both succeed (busy timeout).
@Suite struct CrashSafetyTests {
    @Test func committedWritesSurviveAKilledProcess() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("crash.db")

        let pid = try #require(try spawnWriter(database: path))
        var killed = false
        defer { if !killed { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) } }

        let marker = path + ".ready"
        var waited = 0
        while !fileExists(marker) && waited < 30_000 {
            usleep(20_000)
            waited += 20
        }
        try #require(fileExists(marker), "the writer never became ready")
        let token = try readFile(marker)

        // The writer is alive and holds the write lock: a reader in this process sees exactly the committed rows.
        #expect(try rawQuery(path, "SELECT count(*) FROM streams") == [["20"]])

        #expect(kill(pid, SIGKILL) == 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        killed = true
        #expect(status & 0x7F == SIGKILL)   // WTERMSIG: killed, not exited
        // Not closed, so not checkpointed: the commits are only in the WAL.
        #expect(fileExists(path + "-wal"))

        let store = try Store(path: path, durability: .normal)
        defer { store.close() }
        let names = try store.streams().map(\.name)
        #expect(names.count == 20)
        #expect(!names.contains("uncommitted"))
        #expect(try store.checkPublishToken(stream: "committed-19", token: token) == .allowed)
        #expect(try store.endSessionsLeftOpen(at: 10, reason: "restart") == 1)
        let check = try store.withDatabase { db throws(StoreError) in
            try db.queryFirst("PRAGMA integrity_check") { $0.text(0) }
        }
        #expect(check == "ok")
    }

    @Test func secondStoreOnTheSameFileSeesCommittedRows() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("shared.db")
        let first = try Store(path: path, durability: .normal)
        defer { first.close() }
        let (_, token, _) = try first.createStream(name: "a", viewRequiresToken: false)

        // Opened while the first is still open (and never closed or checkpointed in between).
        let second = try Store(path: path, durability: .normal)
        defer { second.close() }
        #expect(try second.checkPublishToken(stream: "a", token: token) == .allowed)
        _ = try second.createStream(name: "b", viewRequiresToken: false)
        #expect(try first.streams().map(\.name) == ["a", "b"])
        #expect(throws: StoreError.conflict("a stream named \"a\" already exists")) {
            try second.createStream(name: "a", viewRequiresToken: false)
        }
    }

    @Test func twoStoresWriteTheSameFileConcurrently() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("concurrent.db")
        let stores = [try Store(path: path, durability: .normal), try Store(path: path, durability: .normal)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    for n in 0..<40 {
                        try store.sessionStarted(id: "\(index)-\(n)", stream: "s", role: "viewer", remoteAddress: nil,
                                                 at: Double(n))
                        _ = try store.createStream(name: "\(index)-\(n)", viewRequiresToken: false)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try stores[0].streams().count == 80)
        #expect(try stores[1].history(limit: 100, before: nil).items.count == 80)
        for store in stores { store.close() }
    }
}

/// Starts `store-crash-writer` (built beside this test executable) on `database`; its output goes to /dev/null.
private func spawnWriter(database: String) throws -> pid_t? {
    var executable = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &executable, executable.count - 1)
    try #require(length > 0)
    var directory = String(decoding: executable.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
    let writer = directory + "/store-crash-writer"
    try #require(access(writer, X_OK) == 0, "\(writer) is built with the tests")
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(writer), strdup(database), nil]
    defer { for pointer in argv { free(pointer) } }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    guard posix_spawn(&pid, writer, &actions, nil, argv, environ) == 0 else { return nil }
    return pid
}

private func readFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = read(fd, &buffer, buffer.count)
    try #require(count > 0)
    return String(decoding: buffer.prefix(count), as: UTF8.self)
}
