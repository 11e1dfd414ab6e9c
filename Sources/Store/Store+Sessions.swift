/// One publisher or viewer session, as recorded.
public struct SessionRecord: Sendable, Equatable {
    public var id: String
    public var stream: String
    /// "publisher" or "viewer".
    public var role: String
    /// The client's address as the server saw it ("ip:port"), if known.
    public var remoteAddress: String?
    /// Seconds since 1970.
    public var startedAt: Double
    /// Seconds since 1970; nil while the session runs.
    public var endedAt: Double?
    /// Why it ended ("deleted", "timeout", "restart", …).
    public var endReason: String?
    public var packetsIn: Int64
    public var bytesIn: Int64
    public var packetsOut: Int64
    public var bytesOut: Int64
    public var packetsLost: Int64

    /// Seconds from start to end (never negative, even if the wall clock stepped back); nil while running.
    public var duration: Double? { endedAt.map { max(0, $0 - startedAt) } }

    public init(id: String, stream: String, role: String, remoteAddress: String?, startedAt: Double,
                endedAt: Double?, endReason: String?, packetsIn: Int64, bytesIn: Int64, packetsOut: Int64,
                bytesOut: Int64, packetsLost: Int64) {
        self.id = id
        self.stream = stream
        self.role = role
        self.remoteAddress = remoteAddress
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.endReason = endReason
        self.packetsIn = packetsIn
        self.bytesIn = bytesIn
        self.packetsOut = packetsOut
        self.bytesOut = bytesOut
        self.packetsLost = packetsLost
    }
}

extension Store {
    /// The largest history page.
    public static let maximumHistoryPage = 1_000

    private static let sessionColumns = """
        id, stream, role, remote_address, started_at, ended_at, end_reason,
        packets_in, bytes_in, packets_out, bytes_out, packets_lost
        """

    private static func sessionRecord(_ row: SQLiteRow) -> SessionRecord {
        SessionRecord(id: row.text(0), stream: row.text(1), role: row.text(2), remoteAddress: row.optionalText(3),
                      startedAt: row.double(4), endedAt: row.optionalDouble(5), endReason: row.optionalText(6),
                      packetsIn: row.int64(7), bytesIn: row.int64(8), packetsOut: row.int64(9),
                      bytesOut: row.int64(10), packetsLost: row.int64(11))
    }

    /// Records that a session started. `role` is "publisher" or "viewer"; a reused id throws `.conflict`.
    public func sessionStarted(id: String, stream: String, role: String, remoteAddress: String?,
                               at startedAt: Double) throws(StoreError) {
        try Self.validate(id, "session id")
        try Self.validate(stream, "stream name")
        guard role == "publisher" || role == "viewer" else { throw .invalid("role must be publisher or viewer") }
        guard startedAt.isFinite else { throw .invalid("start time is not finite") }
        try withDatabase { db throws(StoreError) in
            do throws(StoreError) {
                try db.run("""
                    INSERT INTO sessions (id, stream, role, remote_address, started_at) VALUES (?, ?, ?, ?, ?)
                    """, [.text(id), .text(stream), .text(role), .text(remoteAddress), .real(startedAt)])
            } catch .conflict {
                throw .conflict("a session with id \"\(id)\" already exists")
            }
        }
    }

    /// Records how a session ended and its final counters. Ending an already ended session changes nothing
    /// (the first end wins); an unknown id throws `.invalid`.
    public func sessionEnded(id: String, at endedAt: Double, reason: String, packetsIn: Int64, bytesIn: Int64,
                             packetsOut: Int64, bytesOut: Int64, packetsLost: Int64) throws(StoreError) {
        guard endedAt.isFinite else { throw .invalid("end time is not finite") }
        guard packetsIn >= 0, bytesIn >= 0, packetsOut >= 0, bytesOut >= 0, packetsLost >= 0 else {
            throw .invalid("negative counter")
        }
        try withDatabase { db throws(StoreError) in
            let changed = try db.run("""
                UPDATE sessions SET ended_at = ?, end_reason = ?, packets_in = ?, bytes_in = ?, packets_out = ?,
                    bytes_out = ?, packets_lost = ?
                WHERE id = ? AND ended_at IS NULL
                """, [.real(endedAt), .text(reason), .integer(packetsIn), .integer(bytesIn), .integer(packetsOut),
                      .integer(bytesOut), .integer(packetsLost), .text(id)])
            if changed == 0 {
                let exists = try db.queryFirst("SELECT 1 FROM sessions WHERE id = ?", [.text(id)]) { _ in true } ?? false
                if !exists { throw .invalid("no session with id \"\(id)\"") }
            }
        }
    }

    /// One page of session history, newest first (by start time, then id). Pass the returned `next` as `cursor`
    /// for the following page; `next` is nil on the last page. Keyset paging: sessions recorded meanwhile never
    /// shift later pages, so nothing is repeated or skipped. A malformed cursor throws `.invalid`.
    public func history(limit: Int, before cursor: String?) throws(StoreError) -> (items: [SessionRecord], next: String?) {
        guard limit >= 1 && limit <= Self.maximumHistoryPage else {
            throw .invalid("limit must be between 1 and \(Self.maximumHistoryPage)")
        }
        var position: HistoryCursor?
        if let cursor {
            guard let decoded = HistoryCursor(encoded: cursor) else { throw .invalid("malformed history cursor") }
            position = decoded
        }
        // One extra row tells whether another page follows.
        var rows = try withDatabase { db throws(StoreError) in
            if let position {
                // The row-value comparison matches the index order, so SQLite seeks straight to the position.
                try db.query("""
                    SELECT \(Self.sessionColumns) FROM sessions WHERE (started_at, id) < (?, ?)
                    ORDER BY started_at DESC, id DESC LIMIT ?
                    """, [.real(position.startedAt), .text(position.id), .integer(Int64(limit + 1))],
                    row: Self.sessionRecord)
            } else {
                try db.query("SELECT \(Self.sessionColumns) FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?",
                             [.integer(Int64(limit + 1))], row: Self.sessionRecord)
            }
        }
        guard rows.count > limit else { return (rows, nil) }
        rows.removeLast(rows.count - limit)
        let last = rows[rows.count - 1]
        return (rows, HistoryCursor(startedAt: last.startedAt, id: last.id).encoded)
    }

    /// Marks every session still open as ended at `at` with `reason` (call once at startup: those sessions died
    /// with the previous process, whose counters are lost). Returns how many there were.
    public func endSessionsLeftOpen(at endedAt: Double, reason: String) throws(StoreError) -> Int {
        guard endedAt.isFinite else { throw .invalid("end time is not finite") }
        return try withDatabase { db throws(StoreError) in
            try db.run("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL",
                       [.real(endedAt), .text(reason)])
        }
    }
}
