/// The video a load publisher sends and its viewers ask for, beside the Opus-sized audio.
public enum VideoLoad: String, Sendable, CaseIterable {
    /// Audio only.
    case none
    /// One VP8 stream at the top layer's rate.
    case single
    /// Three VP8 layers named by rid (RFC 8851, 8853), as a browser or OBS sends them.
    case simulcast

    /// One simulcast layer: its rid, its rate and its picture size. The rates are those a browser picks for a
    /// 1280x720 camera with three encodings (scaleResolutionDownBy 4, 2, 1).
    public struct Layer: Sendable, Equatable {
        public var rid: String
        public var bitsPerSecond: Int
        public var width: UInt16
        public var height: UInt16
    }

    public static let simulcastLayers = [
        Layer(rid: "q", bitsPerSecond: 150_000, width: 320, height: 180),
        Layer(rid: "h", bitsPerSecond: 500_000, width: 640, height: 360),
        Layer(rid: "f", bitsPerSecond: 1_500_000, width: 1280, height: 720),
    ]

    /// The layers a publisher sends, lowest first.
    public var layers: [Layer] {
        switch self {
        case .none: []
        case .single: [Self.simulcastLayers[2]]
        case .simulcast: Self.simulcastLayers
        }
    }

    public static let vp8PayloadType: UInt8 = 96
    /// The offer's id for the rtp-stream-id extension (RFC 8852 §3.1).
    public static let ridExtensionID: UInt8 = 10
    public static let framesPerSecond = 30
    /// A keyframe this often, and whenever a PLI asks for one.
    public static let keyframeIntervalFrames = 60
    /// Largest RTP payload a frame is cut into.
    public static let maximumPayload = 1100
    /// Where in a video payload the send time (8 bytes), the counter (8) and the layer index (1) are: after the
    /// VP8 payload descriptor and a keyframe's 10-byte header.
    public static let measurementOffset = 16
}
