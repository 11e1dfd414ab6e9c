/// The video payload formats the relay forwards, read only as far as telling where a keyframe starts: a viewer
/// switched to another simulcast layer must begin there.
public enum VideoPayloadFormat: Sendable {
    case h264, vp8, vp9, av1

    /// Whether `payload` (an RTP payload of this format) is the first packet of a keyframe. Never traps: a
    /// truncated or malformed payload is simply not a keyframe start.
    public func startsKeyframe(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let first = payload.first else { return false }
        switch self {
        case .h264: return Self.h264StartsKeyframe(payload, first)
        case .vp8: return Self.vp8StartsKeyframe(payload, first)
        case .vp9: return Self.vp9StartsKeyframe(payload, first)
        case .av1:
            // AV1 RTP payload §4.4: N in the aggregation header marks the first packet of a coded video sequence.
            return first & 0x08 != 0
        }
    }

    /// RFC 6184 §5.2-§5.8: an IDR slice (5) or a sequence parameter set (7) in a single NAL unit, a STAP-A (24)
    /// or the start of an FU-A (28).
    private static func h264StartsKeyframe(_ payload: UnsafeRawBufferPointer, _ first: UInt8) -> Bool {
        func isKey(_ type: UInt8) -> Bool { type == 5 || type == 7 }
        switch first & 0x1F {
        case 1...23: return isKey(first & 0x1F)
        case 24:
            var offset = 1
            while offset + 2 < payload.count {
                let size = Int(payload[offset]) << 8 | Int(payload[offset + 1])
                if isKey(payload[offset + 2] & 0x1F) { return true }
                offset += 2 + size
            }
            return false
        case 28:
            guard payload.count >= 2 else { return false }
            return payload[1] & 0x80 != 0 && isKey(payload[1] & 0x1F)
        default: return false
        }
    }

    /// RFC 7741 §4.2-§4.3: the payload descriptor's S bit with partition index 0, then the VP8 payload header's
    /// P bit clear (a key frame).
    private static func vp8StartsKeyframe(_ payload: UnsafeRawBufferPointer, _ first: UInt8) -> Bool {
        guard first & 0x10 != 0, first & 0x07 == 0 else { return false }
        var offset = 1
        if first & 0x80 != 0 {
            guard payload.count > offset else { return false }
            let extensions = payload[offset]
            offset += 1
            if extensions & 0x80 != 0 {  // I: PictureID, 7 or 15 bits
                guard payload.count > offset else { return false }
                offset += payload[offset] & 0x80 != 0 ? 2 : 1
            }
            if extensions & 0x40 != 0 { offset += 1 }  // L: TL0PICIDX
            if extensions & 0x30 != 0 { offset += 1 }  // T or K: TID/Y/KEYIDX
        }
        guard payload.count > offset else { return false }
        return payload[offset] & 0x01 == 0
    }

    /// RFC 9628 §4.2: B (start of a frame) with P clear (not inter-predicted), in the base spatial layer.
    private static func vp9StartsKeyframe(_ payload: UnsafeRawBufferPointer, _ first: UInt8) -> Bool {
        guard first & 0x08 != 0, first & 0x40 == 0 else { return false }
        guard first & 0x20 != 0 else { return true }  // no layer indices: one spatial layer
        var offset = 1
        if first & 0x80 != 0 {  // I: PictureID
            guard payload.count > offset else { return false }
            offset += payload[offset] & 0x80 != 0 ? 2 : 1
        }
        guard payload.count > offset else { return false }
        return (payload[offset] >> 1) & 0x07 == 0  // SID
    }
}
