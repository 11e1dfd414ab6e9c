/// The DTLS role of `a=setup` (RFC 4145 §4, used for DTLS-SRTP by RFC 5763 §5).
public enum SetupRole: String, Sendable {
    case active, passive, actpass, holdconn

    /// The role an answerer takes when the offer carries this one (RFC 5763 §5: an answerer to
    /// `actpass` chooses `active`, so it starts the DTLS handshake).
    public var answerRole: SetupRole {
        switch self {
        case .actpass: .active
        case .active: .passive
        case .passive: .active
        case .holdconn: .holdconn
        }
    }

    /// `a=setup:<role>`.
    public var attribute: Attribute { Attribute(name: "setup", value: rawValue) }
}
