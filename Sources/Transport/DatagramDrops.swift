import DTLS

/// Why a received datagram (or, for DTLS, a record in it) was dropped without effect.
///
/// On UDP anyone can send from a peer's address, so everything here is dropped silently and counted, and
/// leaves the session's state as it was.
public enum DatagramDropReason: Int, CaseIterable, Sendable {
    /// The server has no session for the source address or the STUN username.
    case noSession
    /// The first byte matches no protocol multiplexed on the port (RFC 7983 §7).
    case unknownProtocol
    /// STUN whose FINGERPRINT does not verify (RFC 8489 §14.7).
    case stunFingerprint
    /// STUN whose MESSAGE-INTEGRITY does not verify with the session's password (RFC 8489 §14.5).
    case stunIntegrity
    /// A STUN request whose USERNAME does not start with the session's ufrag (RFC 8445 §7.3).
    case stunUsername
    /// STUN that does not parse, is not a Binding, or answers no request of ours.
    case stunUnexpected
    /// DTLS from an address other than the selected pair's, or before the session expects DTLS.
    case dtlsWrongAddress
    /// DTLS records discarded by the association (RFC 6347 §4.1.2.7), by `DTLSDiscardReason`.
    case dtlsTruncated
    case dtlsUnsupportedVersion
    case dtlsUnknownContentType
    case dtlsUnexpectedEpoch
    case dtlsBadLength
    case dtlsNotAuthenticated
    /// SRTP or SRTCP before DTLS produced keys.
    case srtpNoKeys
    /// SRTP or SRTCP whose authentication tag does not verify (RFC 3711 §3.3, RFC 7714 §9).
    case srtpAuthentication
    /// SRTP or SRTCP already received, or older than the replay window (RFC 3711 §3.3.2).
    case srtpReplay
    /// SRTP or SRTCP too short or malformed to be unprotected.
    case srtpMalformed
    /// Authenticated RTCP that does not parse (RFC 3550 §6.1).
    case rtcpMalformed
    /// Simulcast RTP from an SSRC that no rid (RFC 8852) has named a layer yet.
    case rtpUnknownLayer

    /// The `reason` label in `/metrics`.
    public var label: String {
        switch self {
        case .noSession: return "no_session"
        case .unknownProtocol: return "unknown_protocol"
        case .stunFingerprint: return "stun_fingerprint"
        case .stunIntegrity: return "stun_integrity"
        case .stunUsername: return "stun_username"
        case .stunUnexpected: return "stun_unexpected"
        case .dtlsWrongAddress: return "dtls_wrong_address"
        case .dtlsTruncated: return "dtls_truncated"
        case .dtlsUnsupportedVersion: return "dtls_unsupported_version"
        case .dtlsUnknownContentType: return "dtls_unknown_content_type"
        case .dtlsUnexpectedEpoch: return "dtls_unexpected_epoch"
        case .dtlsBadLength: return "dtls_bad_length"
        case .dtlsNotAuthenticated: return "dtls_not_authenticated"
        case .srtpNoKeys: return "srtp_no_keys"
        case .srtpAuthentication: return "srtp_authentication"
        case .srtpReplay: return "srtp_replay"
        case .srtpMalformed: return "srtp_malformed"
        case .rtcpMalformed: return "rtcp_malformed"
        case .rtpUnknownLayer: return "rtp_unknown_layer"
        }
    }

    init(_ discard: DTLSDiscardReason) {
        switch discard {
        case .truncated: self = .dtlsTruncated
        case .unsupportedVersion: self = .dtlsUnsupportedVersion
        case .unknownContentType: self = .dtlsUnknownContentType
        case .unexpectedEpoch: self = .dtlsUnexpectedEpoch
        case .badLength: self = .dtlsBadLength
        case .notAuthenticated: self = .dtlsNotAuthenticated
        }
    }
}

/// Dropped datagrams per reason.
public struct DatagramDrops: Sendable, Equatable {
    private var counts = [UInt64](repeating: 0, count: DatagramDropReason.allCases.count)

    public init() {}

    public subscript(reason: DatagramDropReason) -> UInt64 {
        get { counts[reason.rawValue] }
        set { counts[reason.rawValue] = newValue }
    }

    /// All drops.
    public var total: UInt64 { counts.reduce(0, &+) }

    /// Adds every count of `other`.
    public mutating func add(_ other: DatagramDrops) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
    }

    /// Adds a DTLS association's discarded records.
    public mutating func add(_ discards: DTLSDiscardCounts) {
        for reason in DTLSDiscardReason.allCases { self[DatagramDropReason(reason)] &+= UInt64(discards[reason]) }
    }
}
