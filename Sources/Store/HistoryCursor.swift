import SkylarkBase
/// The position after the last session of a history page: its (started_at, id) key, opaque to clients.
///
/// Encoded as base64url of "1:<16 hex digits of the Double's bits>:<id>", so the time round-trips exactly and the
/// format can change with the leading version. Decoding is total: any string either yields a key or nil.
struct HistoryCursor: Equatable {
    var startedAt: Double
    var id: String

    var encoded: String {
        var hex = String(startedAt.bitPattern, radix: 16)
        hex = String(repeating: "0", count: 16 - hex.utf8.count) + hex
        return Base64.url.encode(Array("1:\(hex):\(id)".utf8))
    }

    init(startedAt: Double, id: String) {
        self.startedAt = startedAt
        self.id = id
    }

    init?(encoded: String) {
        guard encoded.utf8.count <= 4096, let bytes = Base64.url.decode(encoded) else { return nil }
        // "1:" + 16 hex digits + ":" is 19 bytes.
        guard bytes.count >= 19, bytes[0] == UInt8(ascii: "1"), bytes[1] == UInt8(ascii: ":"),
              bytes[18] == UInt8(ascii: ":") else { return nil }
        var bits: UInt64 = 0
        for byte in bytes[2..<18] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            bits = bits << 4 | UInt64(digit)
        }
        let time = Double(bitPattern: bits)
        // Session ids are never empty and never contain NUL (`Store.validate`), so such a cursor cannot be ours.
        guard time.isFinite, let id = String(validating: bytes[19...], as: UTF8.self), !id.isEmpty,
              !id.utf8.contains(0) else { return nil }
        self.startedAt = time
        self.id = id
    }
}
