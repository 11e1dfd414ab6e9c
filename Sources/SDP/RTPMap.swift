/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
public struct RTPMap: Sendable, Equatable {
    public var payloadType: UInt8
    /// As written ("opus", or "OPUS" from some encoders); compare case-insensitively (RFC 4855 §3).
    public var encodingName: String
    public var clockRate: Int
    /// The encoding parameter, the channel count for audio.
    public var channels: Int?

    /// A payload type mapping; `channels` nil leaves the encoding parameter out.
    public init(payloadType: UInt8, encodingName: String, clockRate: Int, channels: Int? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    static let shape = "rtpmap needs <payload type> <encoding name>/<clock rate>[/<channels>]"

    init(value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard fields.count == 2 else { throw InvalidValue(RTPMap.shape) }
        guard let payloadType = Scan.payloadType(fields[0]) else {
            throw InvalidValue("rtpmap payload type '\(fields[0].prefix(16))' is not 0-127")
        }
        let parts = fields[1].split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty else { throw InvalidValue(RTPMap.shape) }
        guard let clockRate = Scan.int(parts[1], maximum: Int(UInt32.max)), clockRate > 0 else {
            throw InvalidValue("rtpmap clock rate '\(parts[1].prefix(16))' is not a positive number")
        }
        var channels: Int?
        if parts.count == 3 {
            guard let count = Scan.int(parts[2], maximum: 255), count > 0 else {
                throw InvalidValue("rtpmap channel count '\(parts[2].prefix(16))' is not 1-255")
            }
            channels = count
        }
        self.init(payloadType: payloadType, encodingName: String(parts[0]), clockRate: clockRate, channels: channels)
    }

    /// `a=rtpmap:<pt> <name>/<rate>[/<channels>]`.
    public var attribute: Attribute {
        var value = "\(payloadType) \(encodingName)/\(clockRate)"
        if let channels { value += "/\(channels)" }
        return Attribute(name: "rtpmap", value: value)
    }
}
