/// `a=extmap:<id>[/<direction>] <uri> [<extension attributes>]` (RFC 8285 §8).
public struct ExtensionMap: Sendable, Equatable {
    public var id: Int
    public var direction: MediaDirection?
    public var uri: String

    /// An extension mapping; `direction` nil means the media section's direction applies.
    public init(id: Int, direction: MediaDirection? = nil, uri: String) {
        self.id = id
        self.direction = direction
        self.uri = uri
    }

    static let shape = "extmap needs <id>[/<direction>] <uri>"

    init(value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard fields.count >= 2 else { throw InvalidValue(ExtensionMap.shape) }
        let idParts = fields[0].split(separator: "/", omittingEmptySubsequences: false)
        guard idParts.count <= 2 else { throw InvalidValue(ExtensionMap.shape) }
        // RFC 8285 §5-§6: 1-14 for one-byte headers, up to 255 for two-byte ones; 4096-4351 only in offers.
        guard let id = Scan.int(idParts[0], maximum: 4351), (1...255).contains(id) || id >= 4096 else {
            throw InvalidValue("extmap id '\(idParts[0].prefix(16))' is not 1-255 or 4096-4351")
        }
        var direction: MediaDirection?
        if idParts.count == 2 {
            guard let parsed = MediaDirection(rawValue: String(idParts[1])) else {
                throw InvalidValue("extmap direction '\(idParts[1].prefix(16))' is not sendrecv/sendonly/recvonly/inactive")
            }
            direction = parsed
        }
        self.init(id: id, direction: direction, uri: String(fields[1]))
    }

    /// `a=extmap:<id>[/<direction>] <uri>`.
    public var attribute: Attribute {
        let id = direction.map { "\(self.id)/\($0.rawValue)" } ?? "\(self.id)"
        return Attribute(name: "extmap", value: "\(id) \(uri)")
    }
}
