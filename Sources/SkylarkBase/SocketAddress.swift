/// An IP address (v4 or v6) and a UDP/TCP port, as a plain value.
///
/// Protocol layers use this instead of `sockaddr` so that they stay free of system types; the UDP runtime converts.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IP address.
    public var ip: IPAddress
    /// The port, in host byte order.
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses `"1.2.3.4:5000"` or `"[::1]:5000"` (an IPv6 address needs the brackets).
    public init?(_ text: String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), let ip = IPAddress(String(host)) else {
                return nil
            }
            self.init(ip: ip, port: port)
        } else {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
                  let ip = IPAddress(String(text[..<colon])), ip.isIPv4 else { return nil }
            self.init(ip: ip, port: port)
        }
    }

    public var description: String {
        switch ip {
        case .v4: return "\(ip):\(port)"
        case .v6: return "[\(ip)]:\(port)"
        }
    }
}

/// An IPv4 or IPv6 address in network byte order.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Four bytes, most significant first.
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// Sixteen bytes, stored as two big-endian halves.
    case v6(high: UInt64, low: UInt64)

    /// 127.0.0.1
    public static let loopbackV4 = IPAddress.v4(127, 0, 0, 1)
    /// ::1
    public static let loopbackV6 = IPAddress.v6(high: 0, low: 1)
    /// 0.0.0.0
    public static let anyV4 = IPAddress.v4(0, 0, 0, 0)

    /// Builds an address from 4 or 16 bytes in network order.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        let b = Array(bytes)
        switch b.count {
        case 4:
            self = .v4(b[0], b[1], b[2], b[3])
        case 16:
            var high: UInt64 = 0
            var low: UInt64 = 0
            for i in 0..<8 { high = high << 8 | UInt64(b[i]) }
            for i in 8..<16 { low = low << 8 | UInt64(b[i]) }
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }

    /// Parses dotted IPv4 or RFC 4291 textual IPv6 (with `::` compression and an optional trailing dotted quad).
    public init?(_ text: String) {
        if let v4 = IPAddress.parseV4(Substring(text)) {
            self = .v4(v4[0], v4[1], v4[2], v4[3])
            return
        }
        guard let bytes = IPAddress.parseV6(text) else { return nil }
        self.init(bytes: bytes)
    }

    /// The address in network byte order (4 or 16 bytes).
    public var bytes: [UInt8] {
        switch self {
        case let .v4(a, b, c, d):
            return [a, b, c, d]
        case let .v6(high, low):
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
                out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
            }
            return out
        }
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case let .v4(a, _, _, _): return a == 127
        case let .v6(high, low): return high == 0 && low == 1
        }
    }

    /// 169.254.0.0/16 or fe80::/10.
    public var isLinkLocal: Bool {
        switch self {
        case let .v4(a, b, _, _): return a == 169 && b == 254
        case let .v6(high, _): return high >> 54 == 0x3FA
        }
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), which is how
    /// a dual-stack socket reports IPv4 peers; nil for any other address.
    public var mappedIPv4: IPAddress? {
        guard case let .v6(high, low) = self, high == 0, low >> 32 == 0xFFFF else { return nil }
        return .v4(UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
                   UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low))
    }

    /// This address as a dual-stack IPv6 socket sends to it: IPv4 mapped into IPv6, IPv6 as it is.
    public var asIPv6: IPAddress {
        guard case let .v4(a, b, c, d) = self else { return self }
        return .v6(high: 0, low: 0xFFFF << 32 | UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d))
    }

    /// 0.0.0.0 or ::.
    public var isUnspecified: Bool {
        switch self {
        case let .v4(a, b, c, d): return a == 0 && b == 0 && c == 0 && d == 0
        case let .v6(high, low): return high == 0 && low == 0
        }
    }

    public var description: String {
        switch self {
        case let .v4(a, b, c, d):
            return "\(a).\(b).\(c).\(d)"
        case .v6:
            let b = bytes
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<8 { groups[i] = UInt16(b[2 * i]) << 8 | UInt16(b[2 * i + 1]) }
            // RFC 5952 §4.2: compress the longest run (of 2 or more) of zero groups.
            var bestStart = -1, bestLength = 0, runStart = -1
            for i in 0...8 {
                if i < 8 && groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                    runStart = -1
                }
            }
            if bestLength < 2 { bestStart = -1 }
            var parts: [String] = []
            var i = 0
            var text = ""
            while i < 8 {
                if i == bestStart {
                    text += parts.joined(separator: ":") + "::"
                    parts = []
                    i += bestLength
                    continue
                }
                parts.append(String(groups[i], radix: 16))
                i += 1
            }
            return text + parts.joined(separator: ":")
        }
    }

    private static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt8(part) else { return nil }
            out.append(value)
        }
        return out
    }

    private static func parseV6(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        // Drop a zone index ("fe80::1%eth0").
        let text = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)[0]
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), let v4 = parseV4(piece) {
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        var all: [UInt16]
        if let range = text.firstRange(of: "::") {
            guard let head = groups(text[..<range.lowerBound]), let tail = groups(text[range.upperBound...]),
                  head.count + tail.count <= 7 else { return nil }
            all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let g = groups(text), g.count == 8 else { return nil }
            all = g
        }
        var bytes: [UInt8] = []
        for g in all { bytes.append(UInt8(g >> 8)); bytes.append(UInt8(g & 0xFF)) }
        return bytes
    }
}
