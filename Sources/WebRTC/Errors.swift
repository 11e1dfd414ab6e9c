/// Every error the library throws (the reference's `PythonWebRTCExceptionBase`, the base of `RTCException`,
/// `SdpParseException` and `PythonWebRTCException`): `catch let error as any PythonWebRTCExceptionBase` catches
/// them all.
public protocol PythonWebRTCExceptionBase: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for people.
    var message: String { get }
}

/// A failure of the machinery under the W3C objects rather than of the API's rules (the reference's
/// `PythonWebRTCException`): for example a DTLS certificate that cannot be made when a connection is created.
public struct PythonWebRTCException: PythonWebRTCExceptionBase, Equatable {
    /// What went wrong, for people.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// An error from the WebRTC API (the reference's `RTCException`): a call made in the wrong state, or an
/// operation that cannot be done.
public struct RTCException: PythonWebRTCExceptionBase, Equatable {
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
    static func type(_ message: String) -> RTCException { RTCException("TypeError", message) }
    static func range(_ message: String) -> RTCException { RTCException("RangeError", message) }

    public var description: String { "\(name): \(message)" }
}

/// A session description that could not be parsed (the reference's `SdpParseException`).
public struct SdpParseException: PythonWebRTCExceptionBase, Equatable {
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
