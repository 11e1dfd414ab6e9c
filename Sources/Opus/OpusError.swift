import COpus

/// A libopus error code with libopus's own description of it (`opus_strerror`).
public struct OpusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The negative `OPUS_*` error code.
    public let code: Int32
    /// libopus's text for `code`, e.g. "corrupted stream".
    public let message: String

    public init(code: Int32) {
        self.code = code
        self.message = String(cString: opus_strerror(code))
    }

    public var description: String { "OpusError(\(code)): \(message)" }

    /// One or more invalid or out-of-range arguments (`OPUS_BAD_ARG`).
    public static let badArgument = OpusError(code: OPUS_BAD_ARG)
    /// Not enough bytes or samples allocated (`OPUS_BUFFER_TOO_SMALL`).
    public static let bufferTooSmall = OpusError(code: OPUS_BUFFER_TOO_SMALL)
    /// An internal error was detected (`OPUS_INTERNAL_ERROR`).
    public static let internalError = OpusError(code: OPUS_INTERNAL_ERROR)
    /// The compressed data is invalid (`OPUS_INVALID_PACKET`).
    public static let invalidPacket = OpusError(code: OPUS_INVALID_PACKET)
    /// The request is not implemented (`OPUS_UNIMPLEMENTED`).
    public static let unimplemented = OpusError(code: OPUS_UNIMPLEMENTED)
    /// Memory allocation failed (`OPUS_ALLOC_FAIL`).
    public static let allocationFailed = OpusError(code: OPUS_ALLOC_FAIL)
}
