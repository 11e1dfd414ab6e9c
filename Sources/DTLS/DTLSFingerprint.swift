/// A certificate fingerprint as carried in SDP `a=fingerprint` (RFC 8122 §5): a hash algorithm and the digest.
public struct DTLSFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The hash function's name, lower case as in the IANA registry ("sha-256").
    public var algorithm: String
    /// The digest bytes.
    public var bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Parses the `a=fingerprint` value: `sha-256 AB:CD:...`.
    public init?(sdpValue: String) {
        let parts = sdpValue.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let bytes = DTLSFingerprint.decodeHex(parts[1]) else { return nil }
        self.init(algorithm: String(parts[0]), bytes: bytes)
    }

    /// Upper-case colon-separated hex, as SDP writes it.
    public var hexText: String {
        let digits: [Character] = Array("0123456789ABCDEF")
        var out = ""
        out.reserveCapacity(bytes.count * 3)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { out.append(":") }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    /// The `a=fingerprint` value: `sha-256 AB:CD:...`.
    public var sdpValue: String { "\(algorithm) \(hexText)" }

    public var description: String { sdpValue }

    static func decodeHex(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        for pair in text.split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.count == 2, let byte = UInt8(pair, radix: 16) else { return nil }
            out.append(byte)
        }
        return out.isEmpty || out.count > 64 ? nil : out
    }
}
