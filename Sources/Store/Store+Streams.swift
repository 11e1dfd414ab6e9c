import SkylarkBase

/// A stream as stored: its tokens are never part of it.
public struct StreamRecord: Sendable, Equatable {
    /// The stream's name, as used in WHIP/WHEP URLs.
    public var name: String
    /// Whether WHEP viewers must present the stream's view token.
    public var viewRequiresToken: Bool
    /// Creation time, seconds since 1970.
    public var createdAt: Double

    public init(name: String, viewRequiresToken: Bool, createdAt: Double) {
        self.name = name
        self.viewRequiresToken = viewRequiresToken
        self.createdAt = createdAt
    }
}

/// Which of a stream's tokens.
public enum TokenKind: Sendable, Equatable {
    /// Lets a WHIP client publish.
    case publish
    /// Lets a WHEP client watch (when the stream requires it).
    case view
}

/// The outcome of checking a bearer token against a stream.
public enum TokenCheck: Sendable, Equatable {
    case allowed
    /// The token is missing or does not match.
    case wrongToken
    /// There is no stream by that name.
    case unknownStream
}

extension Store {
    private static let streamColumns = "name, view_token_hash IS NOT NULL, created_at"

    private static func streamRecord(_ row: SQLiteRow) -> StreamRecord {
        StreamRecord(name: row.text(0), viewRequiresToken: row.int64(1) != 0, createdAt: row.double(2))
    }

    /// Creates a stream with a new publish token and, if `viewRequiresToken`, a view token. The tokens are returned
    /// only here; the database keeps their hashes. Throws `.conflict` if the name is taken.
    public func createStream(name: String, viewRequiresToken: Bool)
        throws(StoreError) -> (StreamRecord, publishToken: String, viewToken: String?) {
        try Self.validate(name, "stream name")
        let publishToken = Secret.generate()
        let viewToken = viewRequiresToken ? Secret.generate() : nil
        let record = StreamRecord(name: name, viewRequiresToken: viewRequiresToken, createdAt: clock())
        try withDatabase { db throws(StoreError) in
            do throws(StoreError) {
                try db.run("INSERT INTO streams (name, publish_token_hash, view_token_hash, created_at) VALUES (?, ?, ?, ?)",
                           [.text(name), .text(Secret.hash(publishToken)), .text(viewToken.map(Secret.hash)),
                            .real(record.createdAt)])
            } catch .conflict {
                throw .conflict("a stream named \"\(name)\" already exists")
            }
        }
        return (record, publishToken, viewToken)
    }

    /// The stream named `name`, or nil.
    public func stream(named name: String) throws(StoreError) -> StreamRecord? {
        try withDatabase { db throws(StoreError) in
            try db.queryFirst("SELECT \(Self.streamColumns) FROM streams WHERE name = ?", [.text(name)],
                              row: Self.streamRecord)
        }
    }

    /// All streams, by name.
    public func streams() throws(StoreError) -> [StreamRecord] {
        try withDatabase { db throws(StoreError) in
            try db.query("SELECT \(Self.streamColumns) FROM streams ORDER BY name", row: Self.streamRecord)
        }
    }

    /// Deletes a stream and its tokens (its session history stays); false if there was none.
    public func deleteStream(named name: String) throws(StoreError) -> Bool {
        try withDatabase { db throws(StoreError) in
            try db.run("DELETE FROM streams WHERE name = ?", [.text(name)]) > 0
        }
    }

    /// Replaces one of the stream's tokens with a new one and returns it (the old one stops working at once);
    /// nil if there is no such stream. Rotating the view token makes viewing require a token.
    public func rotateToken(stream name: String, kind: TokenKind) throws(StoreError) -> String? {
        let token = Secret.generate()
        let sql = switch kind {
        case .publish: "UPDATE streams SET publish_token_hash = ? WHERE name = ?"
        case .view: "UPDATE streams SET view_token_hash = ? WHERE name = ?"
        }
        let changed = try withDatabase { db throws(StoreError) in
            try db.run(sql, [.text(Secret.hash(token)), .text(name)]) > 0
        }
        return changed ? token : nil
    }

    /// Turns the view-token requirement on or off. Returns the new view token when it turns the requirement on;
    /// nil when turning it off, when it is already on (the existing token stays valid; use `rotateToken` for a new
    /// one) or when there is no such stream (tell these apart with `stream(named:)`).
    public func setViewRequiresToken(stream name: String, _ required: Bool) throws(StoreError) -> String? {
        if !required {
            try withDatabase { db throws(StoreError) in
                try db.run("UPDATE streams SET view_token_hash = NULL WHERE name = ?", [.text(name)])
            }
            return nil
        }
        let token = Secret.generate()
        let changed = try withDatabase { db throws(StoreError) in
            try db.run("UPDATE streams SET view_token_hash = ? WHERE name = ? AND view_token_hash IS NULL",
                       [.text(Secret.hash(token)), .text(name)]) > 0
        }
        return changed ? token : nil
    }

    /// Checks a WHIP client's bearer token for publishing to `stream`.
    public func checkPublishToken(stream name: String, token: String?) throws(StoreError) -> TokenCheck {
        let hashes = try tokenHashes(stream: name)
        guard let hashes else { return .unknownStream }
        return Self.matches(token, hashes.publish) ? .allowed : .wrongToken
    }

    /// Checks a WHEP client's bearer token for watching `stream`: `.allowed` whatever the token when the stream
    /// needs no view token.
    public func checkViewToken(stream name: String, token: String?) throws(StoreError) -> TokenCheck {
        let hashes = try tokenHashes(stream: name)
        guard let hashes else { return .unknownStream }
        guard let viewHash = hashes.view else { return .allowed }
        return Self.matches(token, viewHash) ? .allowed : .wrongToken
    }

    private func tokenHashes(stream name: String) throws(StoreError) -> (publish: String, view: String?)? {
        try withDatabase { db throws(StoreError) in
            try db.queryFirst("SELECT publish_token_hash, view_token_hash FROM streams WHERE name = ?", [.text(name)]) {
                (publish: $0.text(0), view: $0.optionalText(1))
            }
        }
    }

    private static func matches(_ token: String?, _ storedHash: String) -> Bool {
        guard let token, !token.isEmpty, token.utf8.count <= Secret.maximumLength else { return false }
        return constantTimeEqual(Secret.hash(token), storedHash)
    }
}
