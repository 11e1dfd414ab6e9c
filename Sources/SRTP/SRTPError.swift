/// Why an SRTP operation failed. Maps libsrtp's `srtp_err_status_t` plus the checks done before calling it.
public enum SRTPError: Error, Sendable, Hashable {
    /// The authentication tag did not verify: corrupted, forged, or protected with other keys.
    case authenticationFailed
    /// The packet index was already seen inside the replay window (RFC 3711 §3.3.2).
    case replayed
    /// The packet index is older than the replay window reaches (RFC 3711 §3.3.2).
    case tooOld
    /// The bytes are not an RTP/RTCP packet libsrtp can process (bad version, header overruns the packet ...),
    /// or a session parameter is out of range.
    case badInput
    /// A length is wrong: packet shorter than its header plus tag, longer than the buffer, no room for the tag,
    /// or keying material of the wrong size for the profile.
    case badLength
    /// Any other libsrtp status, with its numeric `srtp_err_status_t` code.
    case other(code: Int32)
}
