/// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded, for tokens and history cursors).
public struct Base64: Sendable {
    /// `+` and `/`, padded with `=`: what TURN REST credentials and most of the web expect.
    public static let standard = Base64(last: (UInt8(ascii: "+"), UInt8(ascii: "/")), padded: true)
    /// `-` and `_`, without padding: safe in URLs, paths and headers as it is.
    public static let url = Base64(last: (UInt8(ascii: "-"), UInt8(ascii: "_")), padded: false)

    private let alphabet: [UInt8]
    private let padded: Bool

    private init(last: (UInt8, UInt8), padded: Bool) {
        alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8) + [last.0, last.1]
        self.padded = padded
    }

    public func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)],
                    alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let pad = UInt8(ascii: "=")
        switch bytes.count - index {
        case 1:
            let n = UInt32(bytes[index]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
            if padded { out += [pad, pad] }
        case 2:
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
            if padded { out.append(pad) }
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes text in this alphabet, padded as `encode` writes it; nil for any other character, wrong padding,
    /// an impossible length, or non-zero trailing bits (so every byte string has exactly one accepted encoding).
    public func decode(_ text: String) -> [UInt8]? {
        var characters = Array(text.utf8)
        if padded {
            guard characters.count % 4 == 0 else { return nil }
            // At most two; whether they were the right number is checked by encoding the result again.
            while characters.count > text.utf8.count - 2, characters.last == UInt8(ascii: "=") { characters.removeLast() }
        }
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for character in characters {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // 6 leftover bits means a length of 4n+1, which no byte string encodes to.
        guard bits < 6, accumulator == 0 else { return nil }
        if padded && encode(out) != text { return nil }
        return out
    }
}
