/// Why an attribute value is malformed; the parser turns it into an ``SDPParseError`` with a line number.
struct InvalidValue: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Small total helpers for the textual fields of SDP. None of them trap on any input.
enum Scan {
    /// An unsigned decimal made of ASCII digits only (no sign, no spaces), if it fits in `T` and is at most `maximum`.
    static func unsigned<T: FixedWidthInteger & UnsignedInteger>(
        _ text: Substring, as type: T.Type = T.self, maximum: T = .max
    ) -> T? {
        guard !text.utf8.isEmpty else { return nil }
        var result: T = 0
        for byte in text.utf8 {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (shifted, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(T(byte - 0x30))
            guard !overflow1, !overflow2 else { return nil }
            result = sum
        }
        return result <= maximum ? result : nil
    }

    static func unsigned<T: FixedWidthInteger & UnsignedInteger>(
        _ text: String, as type: T.Type = T.self, maximum: T = .max
    ) -> T? {
        unsigned(Substring(text), as: type, maximum: maximum)
    }

    /// A non-negative decimal that fits in `Int` and is at most `maximum`.
    static func int(_ text: Substring, maximum: Int = .max) -> Int? {
        guard let value = unsigned(text, as: UInt64.self, maximum: UInt64(maximum)) else { return nil }
        return Int(value)
    }

    /// Space-separated fields; runs of spaces count as one separator (browsers accept them).
    static func fields(_ text: Substring) -> [Substring] {
        text.split(separator: " ", omittingEmptySubsequences: true)
    }

    static func fields(_ text: String) -> [Substring] {
        fields(Substring(text))
    }

    /// Splits at the first space: `("111", "transport-cc")` for `"111 transport-cc"`.
    static func head(_ text: String) -> (head: Substring, rest: Substring)? {
        guard let space = text.firstIndex(of: " ") else { return nil }
        let rest = text[text.index(after: space)...].drop { $0 == " " }
        return (text[..<space], rest)
    }

    /// An RTP payload type, 0-127 (RFC 3550 §5.1: seven bits).
    static func payloadType(_ text: Substring) -> UInt8? {
        unsigned(text, as: UInt8.self, maximum: 127)
    }

    /// The value of an ASCII hex digit.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
