/// The values to build a session description from (`type` and `sdp`).
public struct RTCSessionDescriptionInit: Hashable, Sendable {
    public var type: RTCSdpType
    /// The SDP text; empty by default.
    public var sdp: String

    public init(type: RTCSdpType, sdp: String = "") {
        self.type = type
        self.sdp = sdp
    }
}

/// One end of a connection: a description type and the SDP text.
public struct RTCSessionDescription: Hashable, Sendable {
    public var type: RTCSdpType
    public var sdp: String

    public init(type: RTCSdpType, sdp: String) {
        self.type = type
        self.sdp = sdp
    }

    public init(_ initializer: RTCSessionDescriptionInit) {
        self.init(type: initializer.type, sdp: initializer.sdp)
    }
}
