import SkylarkBase
import Testing
@testable import Store

@Suite struct HistoryTests {
    private func counters(_ n: Int64) -> (Int64, Int64, Int64, Int64, Int64) { (n, n * 100, n * 2, n * 200, n % 3) }

    @Test func pagesNewestFirstWithoutDuplicates() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        // 120 sessions; pairs share a start time so the id decides their order.
        for index in 0..<120 {
            try store.sessionStarted(id: "s\(index < 10 ? "00" : index < 100 ? "0" : "")\(index)", stream: "live",
                                     role: index % 4 == 0 ? "publisher" : "viewer",
                                     remoteAddress: "198.51.100.\(index % 250):\(40_000 + index)",
                                     at: 1_000 + Double(index / 2))
        }
        var pages: [[SessionRecord]] = []
        var cursor: String?
        repeat {
            let page = try store.history(limit: 50, before: cursor)
            pages.append(page.items)
            cursor = page.next
        } while cursor != nil && pages.count < 10
        #expect(pages.map(\.count) == [50, 50, 20])

        let all = pages.flatMap { $0 }
        #expect(Set(all.map(\.id)).count == 120)
        let expected = (0..<120).reversed().map { "s\($0 < 10 ? "00" : $0 < 100 ? "0" : "")\($0)" }
        #expect(all.map(\.id) == expected)
        for (newer, older) in zip(all, all.dropFirst()) {
            #expect(newer.startedAt > older.startedAt || (newer.startedAt == older.startedAt && newer.id > older.id))
        }
        #expect(all.first?.remoteAddress == "198.51.100.119:40119")
        #expect(all.first?.endedAt == nil && all.first?.duration == nil)

        // Sessions that start while a client pages do not shift the pages it has not read yet.
        let firstPage = try store.history(limit: 50, before: nil)
        try store.sessionStarted(id: "late", stream: "live", role: "viewer", remoteAddress: nil, at: 5_000)
        let secondPage = try store.history(limit: 50, before: firstPage.next)
        #expect(secondPage.items.map(\.id) == pages[1].map(\.id))
        #expect(try store.history(limit: 1, before: nil).items.map(\.id) == ["late"])
        // An exact page boundary: 121 sessions in pages of 121 leave no next cursor.
        #expect(try store.history(limit: 121, before: nil).next == nil)
        #expect(try store.history(limit: 120, before: nil).next != nil)
    }

    @Test func endedSessionsCarryCountersAndReason() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        try store.sessionStarted(id: "p", stream: "live", role: "publisher", remoteAddress: nil, at: 100)
        try store.sessionEnded(id: "p", at: 160.5, reason: "deleted", packetsIn: 3000, bytesIn: 300_000,
                               packetsOut: 10, bytesOut: 1_000, packetsLost: 7)
        // The first end wins.
        try store.sessionEnded(id: "p", at: 999, reason: "timeout", packetsIn: 0, bytesIn: 0, packetsOut: 0,
                               bytesOut: 0, packetsLost: 0)
        let record = try #require(try store.history(limit: 5, before: nil).items.first)
        #expect(record == SessionRecord(id: "p", stream: "live", role: "publisher", remoteAddress: nil, startedAt: 100,
                                        endedAt: 160.5, endReason: "deleted", packetsIn: 3000, bytesIn: 300_000,
                                        packetsOut: 10, bytesOut: 1_000, packetsLost: 7))
        #expect(record.duration == 60.5)

        #expect(throws: StoreError.invalid("no session with id \"nope\"")) {
            try store.sessionEnded(id: "nope", at: 1, reason: "x", packetsIn: 0, bytesIn: 0, packetsOut: 0,
                                   bytesOut: 0, packetsLost: 0)
        }
        #expect(throws: StoreError.conflict("a session with id \"p\" already exists")) {
            try store.sessionStarted(id: "p", stream: "live", role: "viewer", remoteAddress: nil, at: 200)
        }
        #expect(throws: StoreError.invalid("role must be publisher or viewer")) {
            try store.sessionStarted(id: "q", stream: "live", role: "admin", remoteAddress: nil, at: 200)
        }
        #expect(throws: StoreError.invalid("negative counter")) {
            try store.sessionEnded(id: "p", at: 1, reason: "x", packetsIn: -1, bytesIn: 0, packetsOut: 0,
                                   bytesOut: 0, packetsLost: 0)
        }
        #expect(throws: StoreError.invalid("start time is not finite")) {
            try store.sessionStarted(id: "r", stream: "live", role: "viewer", remoteAddress: nil, at: .nan)
        }
    }

    @Test func sessionsLeftOpenAreEndedAtStartup() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("history.db")
        do {
            let store = try Store(path: path, durability: .normal)
            try store.sessionStarted(id: "done", stream: "a", role: "viewer", remoteAddress: nil, at: 10)
            try store.sessionEnded(id: "done", at: 20, reason: "deleted", packetsIn: 1, bytesIn: 2, packetsOut: 3,
                                   bytesOut: 4, packetsLost: 0)
            try store.sessionStarted(id: "open1", stream: "a", role: "publisher", remoteAddress: nil, at: 30)
            try store.sessionStarted(id: "open2", stream: "a", role: "viewer", remoteAddress: "[2001:db8::1]:9", at: 40)
            // Dropped without an end: as if the process had died.
        }
        let store = try Store(path: path, durability: .normal)
        #expect(try store.endSessionsLeftOpen(at: 100, reason: "restart") == 2)
        #expect(try store.endSessionsLeftOpen(at: 200, reason: "restart") == 0)
        let items = try store.history(limit: 10, before: nil).items
        #expect(items.map(\.id) == ["open2", "open1", "done"])
        #expect(items.map(\.endReason) == ["restart", "restart", "deleted"])
        #expect(items.map(\.endedAt) == [100, 100, 20])
        #expect(items.map(\.duration) == [60, 70, 10])
    }

    @Test func limitsAndCursorsAreChecked() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        #expect(try store.history(limit: 10, before: nil).items.isEmpty)
        #expect(try store.history(limit: 10, before: nil).next == nil)
        for limit in [0, -1, Store.maximumHistoryPage + 1] {
            #expect(throws: StoreError.self) { try store.history(limit: limit, before: nil) }
        }
        for cursor in ["", "!!!", "MTox", HistoryCursor(startedAt: 1, id: "x").encoded + "A"] {
            #expect(throws: StoreError.invalid("malformed history cursor"), "\(cursor)") {
                try store.history(limit: 10, before: cursor)
            }
        }
    }

    @Test func cursorRoundTripsAndDecodingIsTotal() {
        for cursor in [HistoryCursor(startedAt: 1_700_000_000.123456, id: "abc"),
                       HistoryCursor(startedAt: -0.0, id: "ストリーム:with:colons"),
                       HistoryCursor(startedAt: .leastNonzeroMagnitude, id: "x")] {
            #expect(HistoryCursor(encoded: cursor.encoded) == cursor)
        }
        // Random and mutated cursors either decode or give nil, never trap.
        var random = SplitMix64(seed: 0x5EED_C0DE)
        let valid = Array(HistoryCursor(startedAt: 12345.5, id: "session-1").encoded.utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ :\0".utf8)
        var decoded = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let at = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[at] = alphabet.randomElement(using: &random)!
                }
                if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0...bytes.count, using: &random)) }
            }
            if let cursor = HistoryCursor(encoded: String(decoding: bytes, as: UTF8.self)) {
                decoded += 1
                #expect(cursor.startedAt.isFinite && !cursor.id.isEmpty)
            }
        }
        #expect(decoded < 3_000)
    }
}
