/// In-place header edits for a forwarding SFU: the packet is rewritten where it lies, payload untouched.
public enum RTPHeaderRewriter {
    /// Sets the SSRC, sequence number and timestamp (and the payload type when given, keeping the marker bit).
    ///
    /// Returns false, changing nothing, when `packet` is shorter than 12 bytes or not RTP version 2.
    @discardableResult
    public static func rewrite(
        _ packet: UnsafeMutableRawBufferPointer, ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32,
        payloadType: UInt8? = nil
    ) -> Bool {
        guard packet.count >= 12, packet[0] >> 6 == 2 else { return false }
        if let payloadType { packet[1] = packet[1] & 0x80 | payloadType & 0x7F }
        packet.setBE16(sequenceNumber, at: 2)
        packet.setBE32(timestamp, at: 4)
        packet.setBE32(ssrc, at: 8)
        return true
    }

    /// Sets or clears the marker bit. Returns false for a packet shorter than 12 bytes.
    @discardableResult
    public static func setMarker(_ packet: UnsafeMutableRawBufferPointer, _ marker: Bool) -> Bool {
        guard packet.count >= 12 else { return false }
        packet[1] = marker ? packet[1] | 0x80 : packet[1] & 0x7F
        return true
    }

    /// Overwrites the data of extension element `id` with `value` when the element exists and has exactly
    /// `value.count` bytes (e.g. a forwarded packet's mid, or an abs-send-time). Returns whether it did.
    @discardableResult
    public static func setExtensionValue(
        _ packet: UnsafeMutableRawBufferPointer, id: UInt8, value: UnsafeRawBufferPointer
    ) -> Bool {
        let view = UnsafeRawBufferPointer(packet)
        guard let header = try? RTPHeader(parsing: view),
              let element = header.extensionElement(id: id, in: view),
              element.count == value.count else { return false }
        if let base = packet.baseAddress, let source = value.baseAddress {
            (base + element.startIndex).copyMemory(from: source, byteCount: value.count)
        }
        return true
    }

    /// `setExtensionValue` with the value in an array.
    @discardableResult
    public static func setExtensionValue(_ packet: UnsafeMutableRawBufferPointer, id: UInt8, value: [UInt8]) -> Bool {
        value.withUnsafeBytes { setExtensionValue(packet, id: id, value: $0) }
    }
}
