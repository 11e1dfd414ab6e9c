import RTP
import SDP

/// A video codec as far as decoding goes: what a viewer must be able to decode to play a publisher's packets.
/// The relay passes video through untouched, so a viewer is sent a stream only when its offer has a codec that
/// decodes it.
struct VideoCodec: Sendable, Hashable, CustomStringConvertible {
    enum Name: String, Sendable, CaseIterable {
        case h264 = "H264", vp8 = "VP8", vp9 = "VP9", av1 = "AV1"
    }

    /// H.264 profiles as RFC 6184 §8.1 `profile-level-id` tells them apart (its profile_idc and profile-iop bytes;
    /// the level is the third byte and does not change what can be decoded, only how much).
    enum H264Profile: Sendable, Hashable, CustomStringConvertible {
        case constrainedBaseline, baseline, main, extended, high, constrainedHigh
        case other(profileIDC: UInt8)

        /// Reads the first two bytes of a `profile-level-id`; nil when it is not six hex digits.
        init?(profileLevelID text: String) {
            guard text.utf8.count == 6, let value = UInt32(text, radix: 16) else { return nil }
            let idc = UInt8(value >> 16), iop = UInt8(truncatingIfNeeded: value >> 8)
            // RFC 6184 Table 5 (profile_idc with the constraint_set flags that narrow it).
            switch idc {
            case 0x42: self = iop & 0x40 != 0 ? .constrainedBaseline : .baseline
            case 0x4D: self = iop & 0x80 != 0 ? .constrainedBaseline : .main
            case 0x58: self = iop & 0xC0 == 0xC0 ? .constrainedBaseline : iop & 0x80 != 0 ? .baseline : .extended
            case 0x64: self = iop & 0x0C == 0x0C ? .constrainedHigh : .high
            default: self = .other(profileIDC: idc)
            }
        }

        /// Whether a decoder for `self` decodes a stream of `stream`: the same profile, or constrained baseline
        /// (a subset of baseline) for a baseline decoder.
        func decodes(_ stream: H264Profile) -> Bool {
            self == stream || (self == .baseline && stream == .constrainedBaseline)
        }

        var description: String {
            switch self {
            case .constrainedBaseline: "constrained baseline"
            case .baseline: "baseline"
            case .main: "main"
            case .extended: "extended"
            case .high: "high"
            case .constrainedHigh: "constrained high"
            case let .other(idc): "profile_idc \(idc)"
            }
        }
    }

    var name: Name
    /// H.264: the profile (RFC 6184 §8.1 default 42000A, baseline) and packetization mode (§8.1, default 0).
    var h264Profile: H264Profile?
    var packetizationMode = 0
    /// VP9's `profile-id` (draft-ietf-payload-vp9 §6) or AV1's `profile` (AV1 RTP §7.2), 0 when absent.
    var profile = 0

    /// The codec an rtpmap and its fmtp describe, or nil when the relay does not carry it (RTX, RED, FEC, others).
    init?(rtpMap: RTPMap, parameters: [String: String]) {
        guard rtpMap.clockRate == 90_000,
              let name = Name(rawValue: rtpMap.encodingName.uppercased())
        else { return nil }
        self.name = name
        switch name {
        case .h264:
            guard let profile = H264Profile(profileLevelID: parameters["profile-level-id"] ?? "42000a") else { return nil }
            h264Profile = profile
            guard let mode = Int(parameters["packetization-mode"] ?? "0"), (0...1).contains(mode) else { return nil }
            packetizationMode = mode
        case .vp9: profile = Int(parameters["profile-id"] ?? "0") ?? 0
        case .av1: profile = Int(parameters["profile"] ?? "0") ?? 0
        case .vp8: break
        }
    }

    init(name: Name, h264Profile: H264Profile? = nil, packetizationMode: Int = 0, profile: Int = 0) {
        self.name = name
        self.h264Profile = h264Profile
        self.packetizationMode = packetizationMode
        self.profile = profile
    }

    /// How its RTP payload is laid out.
    var payloadFormat: VideoPayloadFormat {
        switch name {
        case .h264: .h264
        case .vp8: .vp8
        case .vp9: .vp9
        case .av1: .av1
        }
    }

    /// Whether a viewer that negotiated `self` can decode a publisher's `stream`: the same codec, and for H.264 the
    /// same packetization mode and a profile it decodes (RFC 6184 §8.2.2); for VP9 and AV1 the same profile.
    func decodes(_ stream: VideoCodec) -> Bool {
        guard name == stream.name else { return false }
        switch name {
        case .h264:
            guard packetizationMode == stream.packetizationMode, let mine = h264Profile, let theirs = stream.h264Profile
            else { return false }
            return mine.decodes(theirs)
        case .vp9, .av1: return profile == stream.profile
        case .vp8: return true
        }
    }

    /// "H.264 constrained baseline, packetization-mode 1", "VP8".
    var description: String {
        switch name {
        case .h264: "H.264 \(h264Profile.map { "\($0)" } ?? "baseline"), packetization-mode \(packetizationMode)"
        case .vp8: "VP8"
        case .vp9: "VP9 profile \(profile)"
        case .av1: "AV1 profile \(profile)"
        }
    }
}
