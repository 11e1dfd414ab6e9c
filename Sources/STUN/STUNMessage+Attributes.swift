import SkylarkBase

/// An ERROR-CODE value (RFC 8489 §14.8).
public struct STUNErrorCode: Sendable, Equatable {
    /// 300...699, e.g. 400 Bad Request, 401 Unauthorized, 487 Role Conflict (RFC 8445 §7.3.1.1).
    public var code: Int
    public var reason: String

    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let badRequest = STUNErrorCode(code: 400, reason: "Bad Request")
    public static let unauthorized = STUNErrorCode(code: 401, reason: "Unauthorized")
    public static let roleConflict = STUNErrorCode(code: 487, reason: "Role Conflict")
}

/// Typed access to the attributes ICE uses. Getters return nil for missing or malformed attributes; setters
/// replace the first attribute of the type (or append one), and `nil` removes it.
extension STUNMessage {
    /// The value of the first attribute of `type`.
    public func value(of type: UInt16) -> [UInt8]? {
        attributes.first { $0.type == type }?.value
    }

    /// Replaces the first attribute of `type` (appending when absent); nil removes every attribute of `type`.
    public mutating func setValue(_ value: [UInt8]?, of type: UInt16) {
        guard let value else {
            attributes.removeAll { $0.type == type }
            return
        }
        if let index = attributes.firstIndex(where: { $0.type == type }) {
            attributes[index].value = value
        } else {
            attributes.append(STUNAttribute(type: type, value: value))
        }
    }

    /// USERNAME (RFC 8489 §14.3), in ICE "<receiver ufrag>:<sender ufrag>" (RFC 8445 §7.2.2).
    public var username: String? {
        get { value(of: STUNAttribute.username).map { String(decoding: $0, as: UTF8.self) } }
        set { setValue(newValue.map { Array($0.utf8) }, of: STUNAttribute.username) }
    }

    /// SOFTWARE (RFC 8489 §14.14).
    public var software: String? {
        get { value(of: STUNAttribute.software).map { String(decoding: $0, as: UTF8.self) } }
        set { setValue(newValue.map { Array($0.utf8) }, of: STUNAttribute.software) }
    }

    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2), IPv4 or IPv6.
    public var xorMappedAddress: SocketAddress? {
        get {
            guard let value = value(of: STUNAttribute.xorMappedAddress) else { return nil }
            return decodeAddress(value, xor: true)
        }
        set { setValue(newValue.map { encodeAddress($0, xor: true) }, of: STUNAttribute.xorMappedAddress) }
    }

    /// MAPPED-ADDRESS (RFC 8489 §14.1), from old servers.
    public var mappedAddress: SocketAddress? {
        get {
            guard let value = value(of: STUNAttribute.mappedAddress) else { return nil }
            return decodeAddress(value, xor: false)
        }
        set { setValue(newValue.map { encodeAddress($0, xor: false) }, of: STUNAttribute.mappedAddress) }
    }

    /// PRIORITY (RFC 8445 §7.1.1).
    public var priority: UInt32? {
        get { value(of: STUNAttribute.priority).flatMap { $0.count == 4 ? $0.uint32(at: 0) : nil } }
        set { setValue(newValue.map { var v: [UInt8] = []; v.appendUInt32($0); return v }, of: STUNAttribute.priority) }
    }

    /// USE-CANDIDATE (RFC 8445 §7.1.2): a flag with an empty value.
    public var useCandidate: Bool {
        get { value(of: STUNAttribute.useCandidate) != nil }
        set { setValue(newValue ? [] : nil, of: STUNAttribute.useCandidate) }
    }

    /// ICE-CONTROLLING's tie breaker (RFC 8445 §7.1.3).
    public var iceControlling: UInt64? {
        get { value(of: STUNAttribute.iceControlling).flatMap(Self.uint64) }
        set { setValue(newValue.map(Self.bytes), of: STUNAttribute.iceControlling) }
    }

    /// ICE-CONTROLLED's tie breaker (RFC 8445 §7.1.3).
    public var iceControlled: UInt64? {
        get { value(of: STUNAttribute.iceControlled).flatMap(Self.uint64) }
        set { setValue(newValue.map(Self.bytes), of: STUNAttribute.iceControlled) }
    }

    /// ERROR-CODE (RFC 8489 §14.8).
    public var errorCode: STUNErrorCode? {
        get {
            guard let value = value(of: STUNAttribute.errorCode), value.count >= 4 else { return nil }
            let code = Int(value[2] & 0x7) * 100 + Int(value[3])
            return STUNErrorCode(code: code, reason: String(decoding: value[4...], as: UTF8.self))
        }
        set {
            setValue(newValue.map { error in
                let code = max(0, min(error.code, 799))
                return [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(error.reason.utf8.prefix(763))
            }, of: STUNAttribute.errorCode)
        }
    }

    /// The MESSAGE-INTEGRITY HMAC as received (20 bytes); `serialize(integrityKey:)` computes a fresh one.
    public var messageIntegrity: [UInt8]? {
        value(of: STUNAttribute.messageIntegrity)
    }

    /// The FINGERPRINT value as received; `serialize(addFingerprint:)` computes a fresh one.
    public var fingerprint: UInt32? {
        value(of: STUNAttribute.fingerprint).flatMap { $0.count == 4 ? $0.uint32(at: 0) : nil }
    }

    // MARK: - Helpers

    private static func uint64(_ value: [UInt8]) -> UInt64? {
        guard value.count == 8, let high = value.uint32(at: 0), let low = value.uint32(at: 4) else { return nil }
        return UInt64(high) << 32 | UInt64(low)
    }

    private static func bytes(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.appendUInt64(value)
        return out
    }

    /// The 16 bytes XORed into an address: the magic cookie followed by the transaction ID (RFC 8489 §14.2).
    private var xorPad: [UInt8] {
        var pad: [UInt8] = []
        pad.appendUInt32(Self.magicCookie)
        for i in 0..<12 { pad.append(i < transactionID.count ? transactionID[i] : 0) }
        return pad
    }

    private func decodeAddress(_ value: [UInt8], xor: Bool) -> SocketAddress? {
        guard value.count >= 4, let rawPort = value.uint16(at: 2) else { return nil }
        let family = value[1]
        let length: Int
        switch family {
        case 0x01: length = 4
        case 0x02: length = 16
        default: return nil
        }
        guard value.count == 4 + length else { return nil }
        var address = Array(value[4...])
        var port = rawPort
        if xor {
            let pad = xorPad
            port ^= UInt16(Self.magicCookie >> 16)
            for i in 0..<length { address[i] ^= pad[i] }
        }
        guard let ip = IPAddress(bytes: address) else { return nil }
        return SocketAddress(ip: ip, port: port)
    }

    private func encodeAddress(_ address: SocketAddress, xor: Bool) -> [UInt8] {
        var ip = address.ip.bytes
        var port = address.port
        if xor {
            let pad = xorPad
            port ^= UInt16(Self.magicCookie >> 16)
            for i in 0..<ip.count { ip[i] ^= pad[i] }
        }
        var out: [UInt8] = [0, address.ip.isIPv4 ? 0x01 : 0x02]
        out.appendUInt16(port)
        out.append(contentsOf: ip)
        return out
    }
}
