import SkylarkBase

/// An ICE candidate as carried in SDP `a=candidate` lines (RFC 8839 §5.1) and trickled (RFC 8838).
public struct ICECandidate: Sendable, Hashable {
    /// The candidate type (RFC 8445 §5.1.1).
    public enum Kind: String, Sendable {
        case host, srflx, prflx, relay

        /// Type preference for the priority formula (RFC 8445 §5.1.2.2 recommended values).
        public var typePreference: UInt32 {
            switch self {
            case .host: return 126
            case .prflx: return 110
            case .srflx: return 100
            case .relay: return 0
            }
        }
    }

    /// An `extension-att-name extension-att-value` pair after the mandatory fields, e.g. `generation 0`,
    /// `ufrag abcd`, `network-id 1`, `tcptype active`.
    public struct Extension: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var foundation: String
    public var component: Int
    /// Lower-cased transport, "udp" (or "tcp", which agents ignore).
    public var transport: String
    public var priority: UInt32
    /// An IP literal or an mDNS name such as `"1f7b9c3e-....local"` (RFC 8839 §5.1 / draft-ietf-mmusic-mdns).
    public var connectionAddress: String
    public var port: UInt16
    public var kind: Kind
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    public var extensions: [Extension]

    public init(foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32,
                connectionAddress: String, port: UInt16, kind: Kind, relatedAddress: String? = nil,
                relatedPort: UInt16? = nil, extensions: [Extension] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport.lowercased()
        self.priority = priority
        self.connectionAddress = connectionAddress
        self.port = port
        self.kind = kind
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    /// The transport address, or nil when `connectionAddress` is not an IP literal (an mDNS name).
    public var address: SocketAddress? {
        IPAddress(connectionAddress).map { SocketAddress(ip: $0, port: port) }
    }

    /// The value of the first extension called `name` (e.g. "ufrag", "generation").
    public func extensionValue(_ name: String) -> String? {
        extensions.first { $0.name == name }?.value
    }

    // MARK: - Parsing

    /// Parses a candidate with or without the leading `a=` and `candidate:`, e.g.
    /// `candidate:842163049 1 udp 1677729535 203.0.113.7 56143 typ srflx raddr 10.0.0.2 rport 56143 generation 0`.
    public init(parsing text: String) throws(ICEError) {
        // Note "\r\n" is one Character, which `isWhitespace` covers.
        var body = Substring(text).drop { $0.isWhitespace }
        while let last = body.last, last.isWhitespace { body = body.dropLast() }
        if body.hasPrefix("a=") { body = body.dropFirst(2) }
        if body.lowercased().hasPrefix("candidate:") { body = body.dropFirst("candidate:".count) }
        let tokens = body.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard tokens.count >= 8 else { throw .invalidCandidate("expected at least 8 fields, got \(tokens.count)") }

        let foundation = tokens[0]
        guard (1...32).contains(foundation.count), foundation.allSatisfy(Self.isIceChar) else {
            throw .invalidCandidate("foundation \"\(foundation)\"")
        }
        guard let component = Int(tokens[1]), (1...256).contains(component) else {
            throw .invalidCandidate("component \"\(tokens[1])\"")
        }
        let transport = tokens[2].lowercased()
        guard !transport.isEmpty, transport.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw .invalidCandidate("transport \"\(tokens[2])\"")
        }
        guard let priority = UInt32(tokens[3]) else { throw .invalidCandidate("priority \"\(tokens[3])\"") }
        let connectionAddress = tokens[4]
        guard connectionAddress.count <= 255, connectionAddress.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw .invalidCandidate("connection address")
        }
        guard let port = UInt16(tokens[5]) else { throw .invalidCandidate("port \"\(tokens[5])\"") }
        guard tokens[6] == "typ" else { throw .invalidCandidate("expected \"typ\", got \"\(tokens[6])\"") }
        guard let kind = Kind(rawValue: tokens[7]) else { throw .invalidCandidate("type \"\(tokens[7])\"") }

        var relatedAddress: String?
        var relatedPort: UInt16?
        var extensions: [Extension] = []
        var index = 8
        while index < tokens.count {
            guard index + 1 < tokens.count else { throw .invalidCandidate("\"\(tokens[index])\" without a value") }
            let name = tokens[index], value = tokens[index + 1]
            switch name {
            case "raddr": relatedAddress = value
            case "rport":
                guard let parsed = UInt16(value) else { throw .invalidCandidate("rport \"\(value)\"") }
                relatedPort = parsed
            default: extensions.append(Extension(name: name, value: value))
            }
            index += 2
        }
        self.init(foundation: foundation, component: component, transport: transport, priority: priority,
                  connectionAddress: connectionAddress, port: port, kind: kind, relatedAddress: relatedAddress,
                  relatedPort: relatedPort, extensions: extensions)
    }

    private static func isIceChar(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "+" || character == "/")
    }

    // MARK: - Formatting

    /// `<foundation> <component> <transport> <priority> <address> <port> typ <type> [raddr .. rport ..] [ext ..]`,
    /// without the `candidate:` prefix.
    public var sdpValue: String {
        var parts = [foundation, String(component), transport, String(priority), connectionAddress, String(port),
                     "typ", kind.rawValue]
        if let relatedAddress { parts += ["raddr", relatedAddress] }
        if let relatedPort { parts += ["rport", String(relatedPort)] }
        for e in extensions { parts += [e.name, e.value] }
        return parts.joined(separator: " ")
    }

    /// `"candidate:" + sdpValue`, as `RTCIceCandidate.candidate` and SDP `a=` lines carry it.
    public var candidateAttribute: String { "candidate:" + sdpValue }

    // MARK: - Building

    /// Candidate priority (RFC 8445 §5.1.2.1): 2^24·type preference + 2^8·local preference + (256 − component).
    public static func priority(kind: Kind, localPreference: UInt16, component: Int) -> UInt32 {
        let componentPart = UInt32(max(0, 256 - min(max(component, 1), 256)))
        return kind.typePreference << 24 | UInt32(localPreference) << 8 | componentPart
    }

    /// A host candidate for a local socket address. The foundation is derived from the type, transport and base
    /// IP (RFC 8445 §5.1.1.3), so candidates on the same interface share it.
    public static func host(address: SocketAddress, component: Int = 1, localPreference: UInt16 = 65535,
                            transport: String = "udp") -> ICECandidate {
        ICECandidate(foundation: foundation(kind: .host, transport: transport, baseIP: address.ip),
                     component: component, transport: transport,
                     priority: priority(kind: .host, localPreference: localPreference, component: component),
                     connectionAddress: address.ip.description, port: address.port, kind: .host)
    }

    /// A stable foundation: FNV-1a of type, transport and base IP, printed in decimal.
    static func foundation(kind: Kind, transport: String, baseIP: IPAddress) -> String {
        var hash: UInt32 = 0x811C_9DC5
        for byte in Array(kind.rawValue.utf8) + [0] + Array(transport.lowercased().utf8) + [0] + baseIP.bytes {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return String(hash)
    }
}
