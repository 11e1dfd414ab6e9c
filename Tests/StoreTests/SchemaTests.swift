import Glibc
import Testing
@testable import Store

@Suite struct SchemaTests {
    @Test func migrationsCreateTheSchemaAndSettings() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("skylark.db")
        let store = try Store(path: path)
        defer { store.close() }

        let tables = try rawQuery(path, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").map { $0[0] }
        #expect(tables == ["api_tokens", "sessions", "streams"])
        let indexes = try rawQuery(path, "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        #expect(indexes.map { $0[0] } == ["sessions_history", "sessions_open"])
        #expect(try rawQuery(path, "PRAGMA user_version") == [["\(Schema.migrations.count)"]])
        // WAL is a property of the file, visible to any connection.
        #expect(try rawQuery(path, "PRAGMA journal_mode") == [["wal"]])
        // synchronous, foreign_keys and the busy timeout are per connection: read the store's own.
        let settings = try store.withDatabase { db throws(StoreError) in
            try db.queryFirst("SELECT * FROM pragma_synchronous, pragma_foreign_keys, pragma_busy_timeout") {
                [$0.int64(0), $0.int64(1), $0.int64(2)]
            }
        }
        #expect(settings == [2, 1, Int64(Store.busyTimeoutMilliseconds)])   // 2 = FULL

        // The file is created owner-only.
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func normalDurabilityIsSynchronousNormal() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        let synchronous = try store.withDatabase { db throws(StoreError) in
            try db.queryFirst("PRAGMA synchronous") { $0.int64(0) }
        }
        #expect(synchronous == 1)
    }

    @Test func reopeningKeepsStreamsTokensAndHistory() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("skylark.db")

        let first = try Store(path: path, durability: .normal)
        let (record, publishToken, viewToken) = try first.createStream(name: "main", viewRequiresToken: true)
        let (apiRecord, apiToken) = try first.createAPIToken(name: "ci")
        try first.sessionStarted(id: "s1", stream: "main", role: "publisher", remoteAddress: "192.0.2.1:5000", at: 10)
        first.close()
        #expect(throws: StoreError.invalid("the store is closed")) { try first.streams() }

        let second = try Store(path: path, durability: .normal)
        defer { second.close() }
        #expect(try second.streams() == [record])
        #expect(try second.checkPublishToken(stream: "main", token: publishToken) == .allowed)
        #expect(try second.checkViewToken(stream: "main", token: viewToken) == .allowed)
        #expect(try second.verifyAPIToken(apiToken)?.id == apiRecord.id)
        #expect(try second.history(limit: 10, before: nil).items.map(\.id) == ["s1"])
        #expect(try rawQuery(path, "PRAGMA user_version") == [["\(Schema.migrations.count)"]])
    }

    @Test func refusesAFileFromANewerVersion() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("future.db")
        try Store(path: path, durability: .normal).close()
        let raw = try SQLiteDatabase(path: path)
        try raw.execute("PRAGMA user_version = 99")
        raw.close()
        #expect {
            try Store(path: path, durability: .normal)
        } throws: { error in
            guard case .open(let message) = error as? StoreError else { return false }
            return message.contains("99")
        }
    }

    @Test func openErrorsCarrySQLitesMessage() {
        #expect {
            try Store(path: "/tmp/skylark-no-such-directory-\(getpid())/x.db")
        } throws: { error in
            guard case .open(let message) = error as? StoreError else { return false }
            return message.contains("unable to open")
        }
        #expect(throws: StoreError.invalid("empty database path")) { try Store(path: "") }
    }

    @Test func transactionsRollBackWhenTheBodyThrows() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        #expect(throws: StoreError.invalid("stop")) {
            try store.withDatabase { db throws(StoreError) in
                try db.transaction { () throws(StoreError) in
                    try db.run("INSERT INTO api_tokens (name, token_hash, created_at) VALUES ('t', 'h', 0)")
                    throw StoreError.invalid("stop")
                }
            }
        }
        #expect(try store.apiTokens().isEmpty)
        // A failing statement inside rolls back too, and the connection is usable afterwards.
        #expect(throws: StoreError.self) {
            try store.withDatabase { db throws(StoreError) in
                try db.transaction { () throws(StoreError) in
                    try db.run("INSERT INTO api_tokens (name, token_hash, created_at) VALUES ('t', 'h', 0)")
                    try db.run("INSERT INTO api_tokens (name, token_hash, created_at) VALUES ('u', 'h', 0)")
                }
            }
        }
        #expect(try store.apiTokens().isEmpty)
        #expect(try store.createAPIToken(name: "after").0.name == "after")
    }

    @Test func sqliteErrorsAreTyped() throws {
        let store = try Store(path: ":memory:")
        #expect {
            try store.withDatabase { db throws(StoreError) in try db.execute("SELECT * FROM no_such_table") }
        } throws: { error in
            guard case .sqlite(let code, let message) = error as? StoreError else { return false }
            return code == 1 && message.contains("no_such_table")
        }
    }
}
