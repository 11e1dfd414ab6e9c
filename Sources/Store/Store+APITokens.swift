/// An admin API token as stored: the token itself is never part of it.
public struct APITokenRecord: Sendable, Equatable {
    public var id: Int64
    /// A label chosen by the operator ("ci", "dashboard").
    public var name: String
    /// Creation time, seconds since 1970.
    public var createdAt: Double
    /// When the token last authenticated a request, if ever.
    public var lastUsedAt: Double?

    public init(id: Int64, name: String, createdAt: Double, lastUsedAt: Double?) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}

extension Store {
    private static func apiTokenRecord(_ row: SQLiteRow) -> APITokenRecord {
        APITokenRecord(id: row.int64(0), name: row.text(1), createdAt: row.double(2), lastUsedAt: row.optionalDouble(3))
    }

    /// Creates an admin API token; the token is returned only here.
    public func createAPIToken(name: String) throws(StoreError) -> (APITokenRecord, token: String) {
        try Self.validate(name, "token name")
        let token = Secret.generate()
        let createdAt = clock()
        let record = try withDatabase { db throws(StoreError) in
            try db.queryFirst("""
                INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)
                RETURNING id, name, created_at, last_used_at
                """, [.text(name), .text(Secret.hash(token)), .real(createdAt)], row: Self.apiTokenRecord)
        }
        guard let record else { throw .invalid("the new API token was not returned") }
        return (record, token)
    }

    /// All admin API tokens, oldest first.
    public func apiTokens() throws(StoreError) -> [APITokenRecord] {
        try withDatabase { db throws(StoreError) in
            try db.query("SELECT id, name, created_at, last_used_at FROM api_tokens ORDER BY id", row: Self.apiTokenRecord)
        }
    }

    /// Revokes an admin API token; false if there was none with that id.
    public func deleteAPIToken(id: Int64) throws(StoreError) -> Bool {
        try withDatabase { db throws(StoreError) in
            try db.run("DELETE FROM api_tokens WHERE id = ?", [.integer(id)]) > 0
        }
    }

    /// The record of the admin API token `token`, with `lastUsedAt` set to now; nil if it is not a valid token.
    public func verifyAPIToken(_ token: String) throws(StoreError) -> APITokenRecord? {
        guard !token.isEmpty, token.utf8.count <= Secret.maximumLength else { return nil }
        // Looked up by hash through the unique index: timing reveals nothing useful about an unguessable preimage.
        let hash = Secret.hash(token)
        let now = clock()
        return try withDatabase { db throws(StoreError) in
            try db.queryFirst("""
                UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?
                RETURNING id, name, created_at, last_used_at
                """, [.real(now), .text(hash)], row: Self.apiTokenRecord)
        }
    }
}
