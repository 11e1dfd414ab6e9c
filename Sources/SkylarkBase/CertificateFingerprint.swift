/// A certificate fingerprint (RFC 8122 §5): a hash function's name and the digest, as SDP's `a=fingerprint`
/// carries it and DTLS-SRTP checks the peer's certificate against it (RFC 5763 §5). SDP parses it from text;
/// DTLS computes it from a certificate.
public struct CertificateFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The hash function's name, lower case as in the IANA registry ("sha-256").
    public var algorithm: String
    /// The digest bytes.
    public var bytes: [UInt8]

    /// A fingerprint; the algorithm name is lowercased (hash names are case-insensitive).
    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Upper-case colon-separated hex, the form RFC 8122 §5 recommends.
    public var hexString: String {
        let digits: [Character] = Array("0123456789ABCDEF")
        var text = ""
        text.reserveCapacity(bytes.count * 3)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { text.append(":") }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The `a=fingerprint` value: `sha-256 AB:CD:...`.
    public var sdpValue: String { "\(algorithm) \(hexString)" }

    public var description: String { sdpValue }
}
