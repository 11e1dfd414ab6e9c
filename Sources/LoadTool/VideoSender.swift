import RTP
import SkylarkBase

/// A load publisher's video: 30 frames a second on every layer, each frame cut into VP8 RTP packets (RFC 7741)
/// that carry the send time, a keyframe every two seconds and whenever the server asks for one with a PLI.
///
/// The bytes are not a decodable picture; they are shaped as the server reads them: the payload descriptor's S
/// bit and the frame header's P bit (RFC 7741 §4.2, §4.3) mark keyframe starts, the marker bit ends a frame, and
/// simulcast layers carry their rid in the rtp-stream-id extension (RFC 8852 §3.1) on every packet.
struct VideoSender {
    struct LayerState {
        let layer: VideoLoad.Layer
        let ssrc: UInt32
        var sequence = UInt16.random(in: 0...UInt16.max)
        var timestamp = UInt32.random(in: 0...UInt32.max)
        var framesSinceKeyframe = VideoLoad.keyframeIntervalFrames
        var counter: UInt64 = 0
    }

    private(set) var layers: [LayerState]
    /// Rids go on the wire only when the offer named the layers by rid.
    let namesLayers: Bool
    var nextFrameAt: UInt64 = 0
    private var packet: [UInt8] = []

    static let frameInterval = UInt64(1_000_000_000 / VideoLoad.framesPerSecond)

    init(video: VideoLoad, ssrcs: [UInt32]) {
        layers = zip(video.layers, ssrcs).map { LayerState(layer: $0, ssrc: $1) }
        namesLayers = video == .simulcast
    }

    /// A PLI or FIR for `ssrc`: its next frame is a keyframe.
    mutating func requestKeyframe(ssrc: UInt32) {
        guard let index = layers.firstIndex(where: { $0.ssrc == ssrc }) else { return }
        layers[index].framesSinceKeyframe = VideoLoad.keyframeIntervalFrames
    }

    /// Sends every frame due by `clock` (monotonic ns) on every layer; a long stall skips ahead instead of bursting.
    mutating func sendDue(clock: UInt64, wallClock: () -> UInt64, send: (inout [UInt8]) -> Void) {
        if clock > nextFrameAt && clock &- nextFrameAt > 200_000_000 { nextFrameAt = clock }
        while nextFrameAt <= clock {
            for index in layers.indices { sendFrame(layer: index, sentAt: wallClock(), send: send) }
            nextFrameAt &+= Self.frameInterval
        }
    }

    private mutating func sendFrame(layer index: Int, sentAt: UInt64, send: (inout [UInt8]) -> Void) {
        let keyframe = layers[index].framesSinceKeyframe >= VideoLoad.keyframeIntervalFrames
        layers[index].framesSinceKeyframe = keyframe ? 1 : layers[index].framesSinceKeyframe + 1
        // Keyframes are about three times an inter frame, as an encoder's are.
        let frameBytes = layers[index].layer.bitsPerSecond / 8 / VideoLoad.framesPerSecond * (keyframe ? 3 : 1)
        let packets = max(1, (frameBytes + VideoLoad.maximumPayload - 1) / VideoLoad.maximumPayload)
        let smallest = VideoLoad.measurementOffset + 17
        for part in 0..<packets {
            let size = part < packets - 1 ? VideoLoad.maximumPayload : max(smallest, frameBytes - part * VideoLoad.maximumPayload)
            writePacket(layer: index, first: part == 0, last: part == packets - 1, keyframe: keyframe, payloadSize: size,
                        sentAt: sentAt)
            send(&packet)
        }
        layers[index].timestamp &+= UInt32(90_000 / VideoLoad.framesPerSecond)  // 90 kHz clock (RFC 7741 §4.1)
    }

    private mutating func writePacket(layer index: Int, first: Bool, last: Bool, keyframe: Bool, payloadSize: Int,
                                      sentAt: UInt64) {
        let state = layers[index]
        packet.removeAll(keepingCapacity: true)
        packet.reserveCapacity(32 + payloadSize + 16)
        let rid = Array(state.layer.rid.utf8.prefix(16))
        packet.append(namesLayers ? 0x90 : 0x80)
        packet.append((last ? 0x80 : 0) | VideoLoad.vp8PayloadType)
        packet.appendUInt16(state.sequence)
        packet.appendUInt32(state.timestamp)
        packet.appendUInt32(state.ssrc)
        if namesLayers {
            // RFC 8285 §4.2 one-byte form: one element, padded to 32 bits.
            let words = (1 + rid.count + 3) / 4
            packet.appendUInt16(RTPHeader.oneByteExtensionProfile)
            packet.appendUInt16(UInt16(words))
            packet.append(VideoLoad.ridExtensionID << 4 | UInt8(rid.count - 1))
            packet.append(contentsOf: rid)
            packet.append(contentsOf: repeatElement(0, count: words * 4 - 1 - rid.count))
        }
        let payloadStart = packet.count
        packet.append(first ? 0x10 : 0x00)  // VP8 payload descriptor: S on a frame's first packet, partition 0
        if first {
            packet.append(keyframe ? 0x10 : 0x11)  // frame tag: P clear on a keyframe, show_frame set
            packet.append(contentsOf: [0, 0])
            if keyframe {
                packet.append(contentsOf: [0x9D, 0x01, 0x2A])  // keyframe start code (RFC 6386 §9.1)
                packet.append(UInt8(state.layer.width & 0xFF))
                packet.append(UInt8(state.layer.width >> 8))
                packet.append(UInt8(state.layer.height & 0xFF))
                packet.append(UInt8(state.layer.height >> 8))
            }
        }
        packet.append(contentsOf: repeatElement(0, count: payloadStart + VideoLoad.measurementOffset - packet.count))
        packet.appendUInt64(sentAt)
        packet.appendUInt64(state.counter)
        packet.append(UInt8(index))
        packet.append(contentsOf: repeatElement(0xA5, count: max(0, payloadStart + payloadSize - packet.count)))
        layers[index].sequence &+= 1
        layers[index].counter &+= 1
    }
}
