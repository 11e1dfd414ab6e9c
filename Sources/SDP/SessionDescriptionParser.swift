import SkylarkBase

extension SessionDescription {
    /// Parses SDP text (RFC 8866).
    ///
    /// Tolerant like browsers: lines may end in CRLF or LF, blank lines are skipped, unknown attributes and
    /// line types are kept, attribute order is preserved. Strict where it matters: every line must be
    /// `<letter>=<value>`, the first must be `v=0`, `o=` and `s=` must appear once at session level, `m=`
    /// lines must have their four parts with numbers in range, and the attributes other code relies on
    /// (`fingerprint`, `rtpmap`, `extmap`, `ssrc`, `ssrc-group`, `group`, `setup`, `mid`, `rid`, `simulcast`) must be
    /// well formed.
    /// The limits bound the work a hostile peer can cause.
    public init(parsing text: String, limits: SDPLimits = SDPLimits()) throws(SDPParseError) {
        var parser = SDPParser(limits: limits)
        self = try parser.parse(text)
    }
}

/// Line-by-line SDP reader; one instance per parse.
struct SDPParser {
    let limits: SDPLimits

    private var lineNumber = 0
    private var lineText = ""
    private var sawVersion = false
    private var origin: Origin?
    private var sessionName: String?
    private var connection: String?
    private var bandwidths: [String] = []
    private var otherLines: [SDPLine] = []
    private var attributes: [Attribute] = []
    private var media: [MediaDescription] = []
    /// Media section index of each `a=mid` value seen, to reject duplicates.
    private var mids: [String: Int] = [:]
    /// Line number of the first `m=`, where the session level ended.
    private var sessionEndLine: Int?
    /// Line number of the last non-blank line.
    private var lastLine = 1

    init(limits: SDPLimits) {
        self.limits = limits
    }

    private func fail(_ reason: String) -> SDPParseError {
        SDPParseError(line: lineNumber, text: lineText, reason: reason)
    }

    mutating func parse(_ text: String) throws(SDPParseError) -> SessionDescription {
        let length = text.utf8.count
        guard length <= limits.maximumLength else {
            throw SDPParseError(
                line: 1, text: "", reason: "session description is \(length) bytes (limit \(limits.maximumLength))")
        }
        for rawLine in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = rawLine
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            if bytes.isEmpty { continue }  // blank lines, including the one after the final line ending
            lastLine = lineNumber
            lineText = bytes.count > 200 ? String(Substring(bytes.prefix(200))) : String(Substring(bytes))
            guard bytes.count <= limits.maximumLineLength else {
                throw fail("line is \(bytes.count) bytes (limit \(limits.maximumLineLength))")
            }
            // RFC 8866 §5: values never contain NUL, CR or LF.
            if bytes.contains(0x00) { throw fail("line contains a NUL byte") }
            if bytes.contains(0x0D) { throw fail("line contains a carriage return that does not end it") }
            var iterator = bytes.makeIterator()
            guard let letter = iterator.next(), iterator.next() == 0x3D,
                (0x41...0x5A).contains(letter) || (0x61...0x7A).contains(letter)
            else { throw fail("not a <type>=<value> line") }
            let value = String(Substring(bytes.dropFirst(2)))
            try handle(type: Character(Unicode.Scalar(letter)), value: value)
        }
        lineText = ""
        guard sawVersion else { throw SDPParseError(line: 1, text: "", reason: "empty session description") }
        lineNumber = sessionEndLine ?? lastLine
        guard let origin else { throw fail("missing o= line at session level") }
        guard let sessionName else { throw fail("missing s= line at session level") }
        for index in media.indices {
            media[index].otherLines = SDPParser.sorted(media[index].otherLines, rank: SDPParser.mediaRank)
        }
        return SessionDescription(
            origin: origin, sessionName: sessionName, connection: connection, bandwidths: bandwidths,
            otherLines: SDPParser.sorted(otherLines, rank: SDPParser.sessionRank), attributes: attributes,
            media: media)
    }

    private mutating func handle(type: Character, value: String) throws(SDPParseError) {
        guard sawVersion else {
            guard type == "v" else { throw fail("first line must be v=0") }
            guard value == "0" else { throw fail("unsupported SDP version '\(value.prefix(16))' (only 0)") }
            sawVersion = true
            return
        }
        let inMedia = !media.isEmpty
        switch type {
        case "v":
            throw fail("duplicate v= line")
        case "m":
            try startMedia(value)
        case "a":
            try addAttribute(value)
        case "c":
            guard Scan.fields(value).count >= 3 else { throw fail("c= line needs <nettype> <addrtype> <address>") }
            if inMedia {
                guard media[media.count - 1].connection == nil else { throw fail("duplicate c= line in media section") }
                media[media.count - 1].connection = value
            } else {
                guard connection == nil else { throw fail("duplicate c= line at session level") }
                connection = value
            }
        case "b":
            if inMedia { media[media.count - 1].bandwidths.append(value) } else { bandwidths.append(value) }
        case "o", "s", "u", "e", "p", "t", "r", "z":
            // RFC 8866 §5: these lines are only defined at session level.
            guard !inMedia else { throw fail("\(type)= line belongs at session level, before the first m= line") }
            switch type {
            case "o":
                guard origin == nil else { throw fail("duplicate o= line") }
                origin = try parseOrigin(value)
            case "s":
                guard sessionName == nil else { throw fail("duplicate s= line") }
                sessionName = value
            default:
                otherLines.append(SDPLine(type: type, value: value))
            }
        default:
            // i=, k= and letters RFC 8866 does not define: kept as text.
            let line = SDPLine(type: type, value: value)
            if inMedia { media[media.count - 1].otherLines.append(line) } else { otherLines.append(line) }
        }
    }

    private func parseOrigin(_ value: String) throws(SDPParseError) -> Origin {
        let fields = Scan.fields(value)
        guard fields.count == 6 else {
            throw fail("o= line needs <username> <sess-id> <sess-version> <nettype> <addrtype> <address>")
        }
        guard let version = Scan.unsigned(fields[2], as: UInt64.self) else {
            throw fail("o= session version '\(fields[2].prefix(24))' is not a 64-bit number")
        }
        return Origin(
            username: String(fields[0]), sessionID: String(fields[1]), sessionVersion: version,
            netType: String(fields[3]), addressType: String(fields[4]), address: String(fields[5]))
    }

    /// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14).
    private mutating func startMedia(_ value: String) throws(SDPParseError) {
        guard media.count < limits.maximumMediaSections else {
            throw fail("too many media sections (limit \(limits.maximumMediaSections))")
        }
        if sessionEndLine == nil { sessionEndLine = lineNumber }
        let fields = Scan.fields(value)
        guard fields.count >= 4 else { throw fail("m= line needs <media> <port> <proto> <fmt>") }
        let portParts = fields[1].split(separator: "/", omittingEmptySubsequences: false)
        guard portParts.count <= 2, let port = Scan.unsigned(portParts[0], as: UInt16.self) else {
            throw fail("m= port '\(fields[1].prefix(24))' is not 0-65535")
        }
        var portCount: Int?
        if portParts.count == 2 {
            guard let count = Scan.int(portParts[1], maximum: 65_535), count > 0 else {
                throw fail("m= port count '\(portParts[1].prefix(24))' is not 1-65535")
            }
            portCount = count
        }
        let proto = String(fields[2])
        let formats = fields[3...].map(String.init)
        // RTP profiles list payload types, which are seven bits (RFC 3550 §5.1).
        if proto.contains("RTP/") {
            for format in formats where Scan.payloadType(Substring(format)) == nil {
                throw fail("m= payload type '\(format.prefix(24))' is not 0-127")
            }
        }
        media.append(MediaDescription(kind: String(fields[0]), port: port, portCount: portCount, proto: proto, formats: formats))
    }

    private mutating func addAttribute(_ value: String) throws(SDPParseError) {
        let count = media.isEmpty ? attributes.count : media[media.count - 1].attributes.count
        guard count < limits.maximumAttributesPerSection else {
            throw fail("too many attributes in one section (limit \(limits.maximumAttributesPerSection))")
        }
        let attribute: Attribute
        if let colon = value.utf8.firstIndex(of: 0x3A) {
            attribute = Attribute(
                name: String(Substring(value.utf8[..<colon])),
                value: String(Substring(value.utf8[value.utf8.index(after: colon)...])))
        } else {
            attribute = Attribute(name: value)
        }
        guard !attribute.name.isEmpty else { throw fail("a= line needs an attribute name") }
        do {
            try SDPParser.validate(attribute)
        } catch {
            throw fail(error.reason)
        }
        if media.isEmpty {
            attributes.append(attribute)
        } else {
            if attribute.name == "mid", let mid = attribute.value {
                let section = media.count - 1
                if let other = mids[mid], other != section {
                    throw fail("duplicate mid '\(mid.prefix(32))' (also in media section \(other + 1))")
                }
                mids[mid] = section
            }
            media[media.count - 1].attributes.append(attribute)
        }
    }

    /// Checks the attributes whose meaning other layers depend on; the rest are kept unread.
    static func validate(_ attribute: Attribute) throws(InvalidValue) {
        let name = attribute.name
        let checked = ["fingerprint", "rtpmap", "extmap", "ssrc", "ssrc-group", "group", "setup", "mid", "rid", "simulcast"]
        guard checked.contains(name) else { return }
        guard let value = attribute.value, !value.isEmpty else { throw InvalidValue("a=\(name) needs a value") }
        switch name {
        case "fingerprint": _ = try CertificateFingerprint(attributeValue: value)
        case "rtpmap": _ = try RTPMap(value: value)
        case "extmap": _ = try ExtensionMap(value: value)
        case "ssrc": _ = try SSRCAttribute(value: value)
        case "ssrc-group": _ = try SSRCGroup(value: value)
        case "group": _ = try Group(value: value)
        case "rid": _ = try RestrictionIdentifier(value: value)
        case "simulcast": _ = try SimulcastDescription(value: value)
        case "setup":
            guard SetupRole(rawValue: value) != nil else {
                throw InvalidValue("setup role '\(value.prefix(16))' is not active, passive, actpass or holdconn")
            }
        default: break
        }
    }

    // RFC 8866 §5 orders session lines v o s i u e p c b t r z k a, media lines m i c b k a.
    // Kept-as-text lines are sorted stably into that order, so serializing and parsing again is lossless.
    // t= and r= share a rank: each r= belongs to the t= before it.
    static func sessionRank(_ type: Character) -> Int {
        switch type {
        case "i": 0
        case "u": 1
        case "e": 2
        case "p": 3
        case "t", "r": 4
        case "z": 5
        case "k": 6
        default: 7
        }
    }

    static func mediaRank(_ type: Character) -> Int {
        switch type {
        case "i": 0
        case "k": 1
        default: 2
        }
    }

    /// Ranks at or above this come after `c=` and `b=` when serializing.
    static let sessionRankAfterBandwidth = 4
    static let mediaRankAfterBandwidth = 1

    static func sorted(_ lines: [SDPLine], rank: (Character) -> Int) -> [SDPLine] {
        lines.enumerated()
            .sorted { (rank($0.element.type), $0.offset) < (rank($1.element.type), $1.offset) }
            .map(\.element)
    }
}
