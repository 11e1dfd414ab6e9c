import COpenSSLShims

/// HMAC-SHA1 keyed once (RFC 3711 §4.2.1): the inner and outer hash states are computed at creation, so a tag
/// costs the packet's SHA-1 blocks plus one, and no allocation.
final class SRTPAuthenticator {
    private let state: UnsafeMutablePointer<skylark_hmac_sha1_key>

    init(key: [UInt8]) {
        state = .allocate(capacity: 1)
        key.withUnsafeBufferPointer { key in skylark_hmac_sha1_init(state, key.baseAddress, key.count) }
    }

    deinit {
        skylark_hmac_sha1_clear(state)
        state.deallocate()
    }

    /// Writes the 20-byte HMAC of `data[0..<length]` followed by `suffix[0..<suffixLength]` to `digest`.
    func authenticate(
        _ data: UnsafeRawPointer, length: Int, suffix: UnsafeRawPointer?, suffixLength: Int,
        into digest: UnsafeMutableRawPointer
    ) {
        skylark_hmac_sha1(
            state, data, length, suffix, suffixLength, digest.assumingMemoryBound(to: UInt8.self))
    }
}
