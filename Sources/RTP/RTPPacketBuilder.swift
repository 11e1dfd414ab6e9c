import SkylarkBase

/// Builds RTP packets for a sender (RFC 3550 §5.1) with RFC 8285 header extensions.
public struct RTPPacketBuilder: Sendable {
    /// One header extension element.
    public struct Extension: Sendable, Hashable {
        public var id: UInt8
        public var value: [UInt8]
    }

    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var marker: Bool
    /// Contributing sources; at most 15 are written.
    public var csrcs: [UInt32] = []
    /// Padding bytes to append (count byte included); 0 for none.
    public var paddingLength: UInt8 = 0
    /// Extension elements in the order they are written.
    public private(set) var extensions: [Extension] = []

    /// Bytes reserved past the packet for the SRTP authentication tag, so protecting in place does not reallocate.
    public static let srtpTagReserve = 16

    public init(payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32, marker: Bool = false) {
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.marker = marker
    }

    /// Adds (or replaces) the element with local identifier `id`. The one-byte form is used when every id is in
    /// 1...14 and every value is 1...16 bytes, else the two-byte form (RFC 8285 §4.2, §4.3).
    ///
    /// - Precondition: `id` is not 0 and `value` has at most 255 bytes.
    public mutating func addExtension(id: UInt8, value: [UInt8]) {
        precondition(id != 0 && value.count <= 255, "RTP header extension id 0 or value over 255 bytes")
        if let index = extensions.firstIndex(where: { $0.id == id }) {
            extensions[index].value = value
        } else {
            extensions.append(Extension(id: id, value: value))
        }
    }

    /// Removes every extension element.
    public mutating func removeExtensions() { extensions.removeAll(keepingCapacity: true) }

    private var usesOneByteForm: Bool {
        extensions.allSatisfy { (1...14).contains($0.id) && (1...16).contains($0.value.count) }
    }

    /// Length of the extension data, before padding to 32 bits.
    private func extensionDataLength(oneByte: Bool) -> Int {
        extensions.reduce(0) { $0 + (oneByte ? 1 : 2) + $1.value.count }
    }

    /// The header length this builder writes (fixed header, CSRCs, extension).
    public var headerLength: Int {
        var length = 12 + 4 * min(csrcs.count, 15)
        if !extensions.isEmpty {
            length += 4 + (extensionDataLength(oneByte: usesOneByteForm) + 3) / 4 * 4
        }
        return length
    }

    /// A new packet carrying `payload`, with capacity for a 16-byte SRTP tag after it.
    public func serialize(payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerLength + payload.count + Int(paddingLength) + RTPPacketBuilder.srtpTagReserve)
        payload.withUnsafeBytes { serialize(payload: $0, into: &out) }
        return out
    }

    /// Appends the packet carrying `payload` to `out`.
    public func serialize(payload: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let csrcCount = min(csrcs.count, 15)
        var b0: UInt8 = 0x80 | UInt8(csrcCount)
        if paddingLength > 0 { b0 |= 0x20 }
        if !extensions.isEmpty { b0 |= 0x10 }
        out.append(b0)
        out.append((marker ? 0x80 : 0) | payloadType & 0x7F)
        out.appendUInt16(sequenceNumber)
        out.appendUInt32(timestamp)
        out.appendUInt32(ssrc)
        for csrc in csrcs.prefix(csrcCount) { out.appendUInt32(csrc) }

        if !extensions.isEmpty {
            let oneByte = usesOneByteForm
            let dataLength = extensionDataLength(oneByte: oneByte)
            let words = (dataLength + 3) / 4
            out.appendUInt16(oneByte ? RTPHeader.oneByteExtensionProfile : RTPHeader.twoByteExtensionProfile)
            out.appendUInt16(UInt16(truncatingIfNeeded: words))
            for element in extensions {
                if oneByte {
                    out.append(element.id << 4 | UInt8(element.value.count - 1))
                } else {
                    out.append(element.id)
                    out.append(UInt8(element.value.count))
                }
                out.append(contentsOf: element.value)
            }
            out.append(contentsOf: repeatElement(0, count: words * 4 - dataLength))
        }

        out.append(contentsOf: payload)
        if paddingLength > 0 {
            out.append(contentsOf: repeatElement(0, count: Int(paddingLength) - 1))
            out.append(paddingLength)
        }
    }
}
