/// The direction attributes of RFC 8866 §6.7.
public enum MediaDirection: String, Sendable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction as seen from the other side: what an answer to this offer mirrors.
    public var reversed: MediaDirection {
        switch self {
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        case .sendrecv, .inactive: self
        }
    }

    /// Whether the side that wrote this direction sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
    /// Whether the side that wrote this direction receives media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    /// The direction named by a property attribute, if it is one of the four.
    init?(attribute: Attribute) {
        guard attribute.value == nil else { return nil }
        self.init(rawValue: attribute.name)
    }

    /// The last direction attribute in a list; RFC 8866 allows one, browsers take the last.
    static func last(in attributes: [Attribute]) -> MediaDirection? {
        for attribute in attributes.reversed() {
            if let direction = MediaDirection(attribute: attribute) { return direction }
        }
        return nil
    }
}
