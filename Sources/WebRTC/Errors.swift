/// An error from the WebRTC API (the reference's `RTCException`): a call made in the wrong state, or an
/// operation that cannot be done.
public struct RTCException: Error, Equatable, Sendable, CustomStringConvertible {
    /// The W3C exception name this corresponds to ("InvalidStateError", "InvalidAccessError", "OperationError" ...).
    public var name: String
    /// What went wrong, for people.
    public var message: String

    public init(_ name: String, _ message: String) {
        self.name = name
        self.message = message
    }

    static func invalidState(_ message: String) -> RTCException { RTCException("InvalidStateError", message) }
    static func invalidAccess(_ message: String) -> RTCException { RTCException("InvalidAccessError", message) }
    static func operation(_ message: String) -> RTCException { RTCException("OperationError", message) }
    static func notSupported(_ message: String) -> RTCException { RTCException("NotSupportedError", message) }

    public var description: String { "\(name): \(message)" }
}

/// A session description that could not be parsed (the reference's `SdpParseException`).
public struct SdpParseException: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based line number of the offending line (0 when the whole text is at fault).
    public var line: Int
    /// Why it was rejected.
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "SDP line \(line): \(message)" : "SDP: \(message)" }
}
