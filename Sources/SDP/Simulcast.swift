/// `a=rid:<id> <direction> [<restrictions>]` (RFC 8851 §4): one RTP stream of a media section, named by the
/// RtpStreamId its packets carry in the `sdes:rtp-stream-id` header extension.
public struct RestrictionIdentifier: Sendable, Equatable {
    /// Only "send" or "recv".
    public enum Direction: String, Sendable { case send, recv }

    public var id: String
    public var direction: Direction
    /// What follows the direction (`pt=96;max-width=1280`), as written.
    public var restrictions: String?

    /// A rid line.
    public init(id: String, direction: Direction, restrictions: String? = nil) {
        self.id = id
        self.direction = direction
        self.restrictions = restrictions
    }

    init(value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard fields.count >= 2 else { throw InvalidValue("rid needs <id> send|recv [<restrictions>]") }
        // RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_"); RFC 8852 §3.1 keeps it to 255 bytes on the wire.
        guard fields[0].utf8.count <= 255, fields[0].utf8.allSatisfy({ Self.isIDByte($0) }) else {
            throw InvalidValue("rid id '\(fields[0].prefix(16))' is not letters, digits, '-' and '_'")
        }
        guard let direction = Direction(rawValue: String(fields[1])) else {
            throw InvalidValue("rid direction '\(fields[1].prefix(16))' is not send or recv")
        }
        self.init(id: String(fields[0]), direction: direction,
                  restrictions: fields.count > 2 ? fields[2...].joined(separator: " ") : nil)
    }

    static func isIDByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    /// `a=rid:<id> <direction>[ <restrictions>]`.
    public var attribute: Attribute {
        Attribute(name: "rid", value: "\(id) \(direction.rawValue)" + (restrictions.map { " \($0)" } ?? ""))
    }
}

/// `a=simulcast:<direction> <streams> [<direction> <streams>]` (RFC 8853 §5.1): the rids a section sends or
/// receives as simulcast. Each entry is a list of alternatives (separated by ","; entries by ";"); a rid written
/// with "~" starts paused.
public struct SimulcastDescription: Sendable, Equatable {
    /// One rid of a simulcast stream list.
    public struct Stream: Sendable, Equatable {
        public var rid: String
        public var paused: Bool

        public init(rid: String, paused: Bool = false) {
            self.rid = rid
            self.paused = paused
        }
    }

    /// Entries the section sends, each one or more alternatives.
    public var send: [[Stream]]
    /// Entries the section receives.
    public var receive: [[Stream]]

    /// A simulcast description.
    public init(send: [[Stream]] = [], receive: [[Stream]] = []) {
        self.send = send
        self.receive = receive
    }

    init(value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard fields.count == 2 || fields.count == 4 else {
            throw InvalidValue("simulcast needs send|recv <rid>;<rid>... and at most one list per direction")
        }
        var send: [[Stream]]?
        var receive: [[Stream]]?
        for pair in stride(from: 0, to: fields.count, by: 2) {
            let list = try Self.streams(fields[pair + 1])
            switch fields[pair] {
            case "send" where send == nil: send = list
            case "recv" where receive == nil: receive = list
            default: throw InvalidValue("simulcast direction '\(fields[pair].prefix(16))' is not send or recv, once each")
            }
        }
        self.init(send: send ?? [], receive: receive ?? [])
    }

    private static func streams(_ text: Substring) throws(InvalidValue) -> [[Stream]] {
        var entries: [[Stream]] = []
        for entry in text.split(separator: ";", omittingEmptySubsequences: false) {
            var alternatives: [Stream] = []
            for alternative in entry.split(separator: ",", omittingEmptySubsequences: false) {
                let paused = alternative.hasPrefix("~")
                let rid = paused ? alternative.dropFirst() : alternative
                guard !rid.isEmpty, rid.utf8.count <= 255, rid.utf8.allSatisfy(RestrictionIdentifier.isIDByte) else {
                    throw InvalidValue("simulcast rid '\(alternative.prefix(16))' is not letters, digits, '-' and '_'")
                }
                alternatives.append(Stream(rid: String(rid), paused: paused))
            }
            entries.append(alternatives)
        }
        guard entries.count <= 16 else { throw InvalidValue("simulcast lists more than 16 streams") }
        return entries
    }

    private static func text(_ entries: [[Stream]]) -> String {
        entries.map { $0.map { ($0.paused ? "~" : "") + $0.rid }.joined(separator: ",") }.joined(separator: ";")
    }

    /// `a=simulcast:[send <streams>][ recv <streams>]`.
    public var attribute: Attribute {
        var parts: [String] = []
        if !send.isEmpty { parts.append("send " + Self.text(send)) }
        if !receive.isEmpty { parts.append("recv " + Self.text(receive)) }
        return Attribute(name: "simulcast", value: parts.joined(separator: " "))
    }
}
