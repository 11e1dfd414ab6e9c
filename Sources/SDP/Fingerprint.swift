import SkylarkBase

/// `a=fingerprint:<hash-func> <XX:XX:...>` (RFC 8122 §5), read and written as SDP.
extension CertificateFingerprint {
    /// Digest sizes of the hash functions RFC 8122 §5 names; other names accept any length.
    static let digestLengths: [String: Int] = [
        "md2": 16, "md5": 16, "sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64,
    ]

    /// Parses the attribute value, e.g. `"sha-256 AB:CD:..."`. Hash names are case-insensitive (RFC 8122 §5).
    init(attributeValue value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard fields.count == 2 else { throw InvalidValue("fingerprint needs <hash function> <hex bytes>") }
        let algorithm = fields[0].lowercased()
        var bytes: [UInt8] = []
        for pair in fields[1].split(separator: ":", omittingEmptySubsequences: false) {
            let utf8 = Array(pair.utf8)
            guard utf8.count == 2, let high = Scan.hexValue(utf8[0]), let low = Scan.hexValue(utf8[1]) else {
                throw InvalidValue("fingerprint byte '\(pair.prefix(16))' is not two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        if let expected = CertificateFingerprint.digestLengths[algorithm], expected != bytes.count {
            throw InvalidValue("\(algorithm) fingerprint has \(bytes.count) bytes, expected \(expected)")
        }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// `a=fingerprint:<algorithm> <hex>`.
    public var attribute: Attribute { Attribute(name: "fingerprint", value: sdpValue) }
}
