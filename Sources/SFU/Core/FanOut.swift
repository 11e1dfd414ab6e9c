import RTP
import SkylarkBase

/// A publisher's packet being written to a shard's viewers, one datagram each time the driver polls: the payload
/// is copied here once (the input buffer is the driver's), then rewritten and encrypted in the driver's slots.
/// The driver polls every datagram out before its next input, so one fan-out is pending at most.
struct FanOut {
    /// Grows to the largest payload seen, then is reused.
    var payload = [UInt8](repeating: 0, count: 1_500)
    var payloadCount = 0
    var header: RTPHeader?
    var video: VideoPacketInfo?
    var isVideo: Bool { video != nil }
    var now = Instant.zero
    var audience: [MediaSession] = []
    /// The next viewer in `audience` to write to.
    var next = 0

    var isPending: Bool { next < audience.count }

    mutating func start(payload bytes: UnsafeRawBufferPointer, header: RTPHeader, video: VideoPacketInfo?,
                        audience: [MediaSession], now: Instant) {
        if bytes.count > payload.count { payload = [UInt8](repeating: 0, count: bytes.count) }
        payload.withUnsafeMutableBytes { target in
            if let source = bytes.baseAddress, let base = target.baseAddress { base.copyMemory(from: source, byteCount: bytes.count) }
        }
        payloadCount = bytes.count
        self.header = header
        self.video = video
        self.audience = audience
        self.now = now
        next = 0
    }

    /// Lets go of the viewers once every one was written to.
    mutating func finish() {
        audience = []
        video = nil
        next = 0
    }
}
