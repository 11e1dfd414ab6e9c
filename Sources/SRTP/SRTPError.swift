/// Why an SRTP operation failed: a check on the packet or the session parameters, or the cryptography.
public enum SRTPError: Error, Sendable, Hashable {
    /// The authentication tag did not verify: corrupted, forged, or protected with other keys.
    case authenticationFailed
    /// The packet index was already seen inside the replay window (RFC 3711 §3.3.2).
    case replayed
    /// The packet index is older than the replay window reaches (RFC 3711 §3.3.2).
    case tooOld
    /// The bytes are not an RTP/RTCP packet that can be processed (bad version, header overruns the packet,
    /// unencrypted SRTCP ...), or a session parameter is out of range.
    case badInput
    /// A length is wrong: packet shorter than its header plus tag, longer than the buffer, no room for the tag,
    /// or keying material of the wrong size for the profile.
    case badLength
    /// Any other failure, by code: `SRTPError.openSSLFailureCode` (-1) when an OpenSSL call failed,
    /// `SRTPError.keyExhaustedCode` (15) when an SSRC used up its 2^31 SRTCP indices and needs new keys.
    case other(code: Int32)
}

extension SRTPError {
    /// The `other` code for an OpenSSL call that failed (out of memory, or a cipher missing from the provider).
    public static let openSSLFailureCode: Int32 = -1
    /// The `other` code for an exhausted SRTCP index (RFC 3711 §9.2); libsrtp's `srtp_err_status_key_expired`.
    public static let keyExhaustedCode: Int32 = 15
}
