import SkylarkBase

/// A STUN message (RFC 8489 §5): class, method, 96-bit transaction ID and attributes.
///
/// Parsing never traps on network input. `serialize(integrityKey:addFingerprint:)` appends MESSAGE-INTEGRITY and
/// FINGERPRINT itself, so callers build messages from the other attributes only.
public struct STUNMessage: Sendable, Equatable {
    /// The message class, encoded in bits C1 and C0 of the message type (RFC 8489 §5).
    public enum Class: Sendable, Equatable {
        case request, indication, successResponse, errorResponse
    }

    /// The magic cookie every RFC 5389/8489 message carries.
    public static let magicCookie: UInt32 = 0x2112_A442
    /// The Binding method (RFC 8489 §18.2).
    public static let bindingMethod: UInt16 = 0x001
    /// Size of the fixed header.
    public static let headerLength = 20

    public var messageClass: Class
    /// The 12-bit method (`STUNMessage.bindingMethod` for everything ICE does).
    public var method: UInt16
    /// 12 bytes.
    public var transactionID: [UInt8]
    public var attributes: [STUNAttribute]

    public init(messageClass: Class, method: UInt16 = STUNMessage.bindingMethod, transactionID: [UInt8],
                attributes: [STUNAttribute] = []) {
        self.messageClass = messageClass
        self.method = method
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// A 12-byte random transaction ID from the system's CSPRNG (RFC 8489 §6: must be uniformly random).
    public static func randomTransactionID() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return randomTransactionID(using: &generator)
    }

    /// A 12-byte transaction ID from `generator` (a CSPRNG outside of tests: RFC 8489 §6 wants it uniformly random).
    public static func randomTransactionID(using generator: inout some RandomNumberGenerator) -> [UInt8] {
        var id: [UInt8] = []
        id.reserveCapacity(12)
        for _ in 0..<3 { id.appendUInt32(generator.next()) }
        return id
    }

    // MARK: - Parsing

    /// Whether `bytes` looks like one complete STUN message (RFC 8489 §5, RFC 7983 demultiplexing): first two bits
    /// zero, the magic cookie, a length that is a multiple of 4 and matches the datagram.
    public static func isSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerLength, bytes[0] & 0xC0 == 0 else { return false }
        var reader = ByteReader(bytes, offset: 2)
        guard let length = reader.readUInt16(), let cookie = reader.readUInt32() else { return false }
        return cookie == magicCookie && length % 4 == 0 && Int(length) + headerLength == bytes.count
    }

    /// Parses one STUN message that fills `bytes` exactly.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(STUNError) {
        guard bytes.count >= Self.headerLength else { throw .tooShort }
        var reader = ByteReader(bytes)
        guard let type = reader.readUInt16(), let length = reader.readUInt16(), let cookie = reader.readUInt32(),
              let transactionID = reader.readBytes(12) else { throw .tooShort }
        guard type & 0xC000 == 0 else { throw .notSTUN }
        guard cookie == Self.magicCookie else { throw .badMagicCookie }
        guard length % 4 == 0, Int(length) + Self.headerLength == bytes.count else { throw .badLength }

        // RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0.
        let classBits = (type >> 7) & 0x2 | (type >> 4) & 0x1
        switch classBits {
        case 0: messageClass = .request
        case 1: messageClass = .indication
        case 2: messageClass = .successResponse
        default: messageClass = .errorResponse
        }
        method = (type & 0x000F) | (type >> 1) & 0x0070 | (type >> 2) & 0x0F80
        self.transactionID = transactionID

        var attributes: [STUNAttribute] = []
        while reader.remaining > 0 {
            guard let attributeType = reader.readUInt16(), let attributeLength = reader.readUInt16() else {
                throw .truncatedAttribute(type: 0)
            }
            let padded = (Int(attributeLength) + 3) & ~3
            guard reader.remaining >= padded, let value = reader.readBytes(Int(attributeLength)) else {
                throw .truncatedAttribute(type: attributeType)
            }
            reader.skip(padded - Int(attributeLength))
            attributes.append(STUNAttribute(type: attributeType, value: value))
        }
        self.attributes = attributes
    }

    /// Parses one STUN message that fills `bytes` exactly.
    public init(parsing bytes: [UInt8]) throws(STUNError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(STUNError) -> STUNMessage in try STUNMessage(parsing: raw) }
        }
        self = try result.get()
    }

    // MARK: - Serializing

    /// The 16-bit message type field for this class and method.
    var messageType: UInt16 {
        let classBits: UInt16
        switch messageClass {
        case .request: classBits = 0
        case .indication: classBits = 1
        case .successResponse: classBits = 2
        case .errorResponse: classBits = 3
        }
        let m = method & 0x0FFF
        return (m & 0x000F) | (m & 0x0070) << 1 | (m & 0x0F80) << 2 | (classBits & 0x1) << 4 | (classBits & 0x2) << 7
    }

    /// Encodes the message. Any MESSAGE-INTEGRITY or FINGERPRINT in `attributes` is left out; with `integrityKey`
    /// a fresh MESSAGE-INTEGRITY is computed (RFC 8489 §14.5) and with `addFingerprint` a FINGERPRINT (§14.7).
    public func serialize(integrityKey: [UInt8]? = nil, addFingerprint: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + 64)
        out.appendUInt16(messageType)
        out.appendUInt16(0)
        out.appendUInt32(Self.magicCookie)
        for i in 0..<12 { out.append(i < transactionID.count ? transactionID[i] : 0) }
        for attribute in attributes
        where attribute.type != STUNAttribute.messageIntegrity && attribute.type != STUNAttribute.fingerprint {
            let length = min(attribute.value.count, Int(UInt16.max) - 3)
            out.appendUInt16(attribute.type)
            out.appendUInt16(UInt16(length))
            out.append(contentsOf: attribute.value.prefix(length))
            while out.count % 4 != 0 { out.append(0) }
        }
        if let key = integrityKey {
            // §14.5: the length field covers the MESSAGE-INTEGRITY attribute itself while the HMAC is computed.
            out.setUInt16(UInt16(truncatingIfNeeded: out.count - Self.headerLength + 24), at: 2)
            let mac = out.withUnsafeBytes { HMACSHA1.mac(key: key, data: $0) }
            out.appendUInt16(STUNAttribute.messageIntegrity)
            out.appendUInt16(UInt16(HMACSHA1.length))
            out.append(contentsOf: mac)
        }
        if addFingerprint {
            out.setUInt16(UInt16(truncatingIfNeeded: out.count - Self.headerLength + 8), at: 2)
            let crc = CRC32.checksum(out) ^ Self.fingerprintXOR
            out.appendUInt16(STUNAttribute.fingerprint)
            out.appendUInt16(4)
            out.appendUInt32(crc)
        }
        out.setUInt16(UInt16(truncatingIfNeeded: out.count - Self.headerLength), at: 2)
        return out
    }

    static let fingerprintXOR: UInt32 = 0x5354_554E

    // MARK: - Integrity and fingerprint checks on the wire bytes

    /// Byte offset of the first attribute of `type` in a well-formed message, or nil.
    static func offset(of type: UInt16, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard isSTUN(bytes) else { return nil }
        var reader = ByteReader(bytes, offset: headerLength)
        while reader.remaining >= 4 {
            let start = reader.offset
            guard let attributeType = reader.readUInt16(), let length = reader.readUInt16() else { return nil }
            if attributeType == type { return start }
            guard reader.skip((Int(length) + 3) & ~3) else { return nil }
        }
        return nil
    }

    /// Verifies MESSAGE-INTEGRITY (HMAC-SHA1 with `key`, RFC 8489 §14.5) of a raw message. False when the attribute
    /// is missing, malformed or wrong. Only FINGERPRINT may follow MESSAGE-INTEGRITY.
    public static func verifyIntegrity(_ bytes: UnsafeRawBufferPointer, key: [UInt8]) -> Bool {
        guard let offset = offset(of: STUNAttribute.messageIntegrity, in: bytes) else { return false }
        var reader = ByteReader(bytes, offset: offset + 2)
        guard reader.readUInt16() == UInt16(HMACSHA1.length), let expected = reader.readBytes(HMACSHA1.length) else {
            return false
        }
        // Anything after it must be a FINGERPRINT (and nothing else).
        if reader.remaining > 0 {
            guard reader.remaining == 8, reader.readUInt16() == STUNAttribute.fingerprint else { return false }
        }
        var covered = Array(bytes[0..<offset])
        covered.setUInt16(UInt16(truncatingIfNeeded: offset - headerLength + 24), at: 2)
        let actual = covered.withUnsafeBytes { HMACSHA1.mac(key: key, data: $0) }
        return HMACSHA1.equal(actual, expected)
    }

    /// Verifies FINGERPRINT (RFC 8489 §14.7) of a raw message: present, last, and matching the CRC-32.
    public static func verifyFingerprint(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let offset = offset(of: STUNAttribute.fingerprint, in: bytes), offset + 8 == bytes.count else {
            return false
        }
        var reader = ByteReader(bytes, offset: offset + 2)
        guard reader.readUInt16() == 4, let value = reader.readUInt32() else { return false }
        return CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<offset])) ^ fingerprintXOR == value
    }

    /// `verifyIntegrity` for an array.
    public static func verifyIntegrity(_ bytes: [UInt8], key: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { verifyIntegrity($0, key: key) }
    }

    /// `verifyFingerprint` for an array.
    public static func verifyFingerprint(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { verifyFingerprint($0) }
    }

    /// `isSTUN` for an array.
    public static func isSTUN(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isSTUN($0) }
    }
}
