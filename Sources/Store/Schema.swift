/// The database schema as an ordered list of migrations; `PRAGMA user_version` records how many have run.
///
/// Never edit a migration that has shipped: append a new one. Each runs in its own transaction together with the
/// version bump, so a crash leaves the file at one version or the next, never between.
enum Schema {
    static let migrations: [String] = [
        // 1: streams with hashed tokens, admin API tokens, session history.
        """
        CREATE TABLE streams (
            name               TEXT PRIMARY KEY NOT NULL,
            publish_token_hash TEXT NOT NULL,
            view_token_hash    TEXT,            -- non-NULL: viewing needs this token
            created_at         REAL NOT NULL
        ) STRICT;

        CREATE TABLE api_tokens (
            id           INTEGER PRIMARY KEY,
            name         TEXT NOT NULL,
            token_hash   TEXT NOT NULL UNIQUE,
            created_at   REAL NOT NULL,
            last_used_at REAL
        ) STRICT;

        -- No foreign key to streams: history outlives a deleted stream.
        CREATE TABLE sessions (
            id             TEXT PRIMARY KEY NOT NULL,
            stream         TEXT NOT NULL,
            role           TEXT NOT NULL CHECK (role IN ('publisher', 'viewer')),
            remote_address TEXT,
            started_at     REAL NOT NULL,
            ended_at       REAL,
            end_reason     TEXT,
            packets_in     INTEGER NOT NULL DEFAULT 0,
            bytes_in       INTEGER NOT NULL DEFAULT 0,
            packets_out    INTEGER NOT NULL DEFAULT 0,
            bytes_out      INTEGER NOT NULL DEFAULT 0,
            packets_lost   INTEGER NOT NULL DEFAULT 0
        ) STRICT;

        -- History pages newest first by (started_at, id); the partial index finds sessions a crash left open.
        CREATE INDEX sessions_history ON sessions (started_at DESC, id DESC);
        CREATE INDEX sessions_open ON sessions (started_at) WHERE ended_at IS NULL;
        """,
    ]

    /// Brings the database up to the latest version.
    static func migrate(_ db: SQLiteDatabase) throws(StoreError) {
        while true {
            // The version is read inside the write transaction, so two processes opening a fresh file at once
            // cannot both apply the same migration.
            let applied = try db.transaction { () throws(StoreError) -> Bool in
                let version = try currentVersion(db)
                guard version >= 0, version <= migrations.count else {
                    throw .open("the database has schema version \(version); this build knows up to \(migrations.count)")
                }
                guard version < migrations.count else { return false }
                try db.execute(migrations[version])
                try db.execute("PRAGMA user_version = \(version + 1)")
                return true
            }
            if !applied { return }
        }
    }

    static func currentVersion(_ db: SQLiteDatabase) throws(StoreError) -> Int {
        Int(try db.queryFirst("PRAGMA user_version") { $0.int64(0) } ?? 0)
    }
}
