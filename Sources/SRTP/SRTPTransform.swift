import COpenSSL
import COpenSSLShims

/// The cryptographic transform for one direction of SRTP or of SRTCP: one session key, salt and (for AES-CM)
/// authentication key, and one OpenSSL cipher context created at setup and only re-IV'd per packet.
///
/// It knows packet layouts but not streams: the caller supplies the SSRC and the packet index and keeps the
/// replay and rollover state.
final class SRTPTransform {
    enum Direction {
        case protect
        case unprotect
    }

    let profile: SRTPProtectionProfile
    let direction: Direction
    /// The EVP_CIPHER_CTX: AES-128-CTR for AES-CM, AES-128-GCM for GCM.
    private let cipher: OpaquePointer
    private let authenticator: SRTPAuthenticator?
    /// Salt bytes 0..<8 as a big-endian number.
    private let saltHigh: UInt64
    /// AES-CM: salt bytes 8..<14 shifted into bytes 8..<14 of a 16-byte block; GCM: salt bytes 8..<12.
    private let saltLow: UInt64

    /// Bytes of authentication tag: 80 bits for HMAC-SHA1-80 (RFC 3711 §5.2), 16 bytes for GCM (RFC 7714 §12).
    var tagLength: Int { profile == .aeadAes128Gcm ? 16 : 10 }

    /// - Parameters:
    ///   - key: the 16-byte session encryption key.
    ///   - salt: the session salt, 14 bytes for AES-CM, 12 for GCM.
    ///   - authenticationKey: the 20-byte session authentication key for AES-CM; ignored for GCM.
    init(
        profile: SRTPProtectionProfile, direction: Direction, key: [UInt8], salt: [UInt8],
        authenticationKey: [UInt8]
    ) throws(SRTPError) {
        guard key.count == profile.keyLength, salt.count == profile.saltLength else { throw .badLength }
        guard let cipher = EVP_CIPHER_CTX_new() else { throw .other(code: SRTPError.openSSLFailureCode) }
        let isGCM = profile == .aeadAes128Gcm
        let initialised = key.withUnsafeBufferPointer { key -> Bool in
            if isGCM, direction == .unprotect {
                return EVP_DecryptInit_ex(cipher, EVP_aes_128_gcm(), nil, key.baseAddress, nil) == 1
            }
            return EVP_EncryptInit_ex(cipher, isGCM ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), nil, key.baseAddress, nil)
                == 1
        }
        guard initialised else {
            EVP_CIPHER_CTX_free(cipher)
            throw .other(code: SRTPError.openSSLFailureCode)
        }
        self.profile = profile
        self.direction = direction
        self.cipher = cipher
        var high: UInt64 = 0
        for byte in salt[0..<8] { high = high << 8 | UInt64(byte) }
        var low: UInt64 = 0
        for byte in salt[8...] { low = low << 8 | UInt64(byte) }
        saltHigh = high
        saltLow = isGCM ? low : low << 16
        if isGCM {
            authenticator = nil
        } else {
            guard authenticationKey.count == 20 else {
                EVP_CIPHER_CTX_free(cipher)
                throw .badLength
            }
            authenticator = SRTPAuthenticator(key: authenticationKey)
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(cipher)
    }

    /// The OpenSSL cipher context, for prefetching (see `SRTPSession.prefetchForProtect`).
    var cipherContext: OpaquePointer { cipher }

    // MARK: SRTP

    /// Encrypts `packet[headerLength..<length]` and appends the tag at `packet[length...]`.
    /// - Returns: the protected length, `length + tagLength`.
    func protectRTP(
        _ packet: UnsafeMutableRawPointer, headerLength: Int, length: Int, ssrc: UInt32, index: UInt64
    ) throws(SRTPError) -> Int {
        let payload = packet + headerLength
        let payloadLength = length - headerLength
        if let authenticator {
            // RFC 3711 §4.1.1 keystream, then §4.2 tag over header | ciphertext | ROC.
            try withIV(ssrc: ssrc, index: index) { iv throws(SRTPError) in try counterMode(iv, payload, payloadLength) }
            var roc = UInt32(truncatingIfNeeded: index >> 16).bigEndian
            try withUnsafeBytes(of: &roc) { roc throws(SRTPError) in
                try appendTag(authenticator, packet, length, suffix: roc.baseAddress, suffixLength: 4)
            }
        } else {
            // RFC 7714 §8: IV from SSRC, ROC and SEQ; AAD is the header with CSRCs and extension.
            try withIV(ssrc: ssrc, index: index) { iv throws(SRTPError) in
                try seal(
                    iv, aad: packet, aadLength: headerLength, extraAAD: nil, payload, payloadLength,
                    tag: packet + length)
            }
        }
        return length + tagLength
    }

    /// Verifies and decrypts `packet[0..<length]` (tag included).
    /// - Returns: the RTP length, `length - tagLength`.
    func unprotectRTP(
        _ packet: UnsafeMutableRawPointer, headerLength: Int, length: Int, ssrc: UInt32, index: UInt64
    ) throws(SRTPError) -> Int {
        let plainLength = length - tagLength
        guard headerLength <= plainLength else { throw .badLength }
        let payload = packet + headerLength
        let payloadLength = plainLength - headerLength
        if let authenticator {
            var roc = UInt32(truncatingIfNeeded: index >> 16).bigEndian
            try withUnsafeBytes(of: &roc) { roc throws(SRTPError) in
                try verifyTag(authenticator, packet, plainLength, suffix: roc.baseAddress, suffixLength: 4)
            }
            try withIV(ssrc: ssrc, index: index) { iv throws(SRTPError) in try counterMode(iv, payload, payloadLength) }
        } else {
            try withIV(ssrc: ssrc, index: index) { iv throws(SRTPError) in
                try open(
                    iv, aad: packet, aadLength: headerLength, extraAAD: nil, payload, payloadLength,
                    tag: packet + plainLength)
            }
        }
        return plainLength
    }

    // MARK: SRTCP

    /// Encrypts `packet[8..<length]` and appends the E flag and `index`, and the tag (RFC 3711 §3.4: index then
    /// tag; RFC 7714 §9: tag then index).
    /// - Returns: the protected length, `length + 4 + tagLength`.
    func protectRTCP(_ packet: UnsafeMutableRawPointer, length: Int, ssrc: UInt32, index: UInt32) throws(SRTPError)
        -> Int
    {
        let word = (0x8000_0000 | index).bigEndian  // E = 1: always encrypted
        let payload = packet + 8
        let payloadLength = length - 8
        if let authenticator {
            try withIV(ssrc: ssrc, index: UInt64(index)) { iv throws(SRTPError) in
                try counterMode(iv, payload, payloadLength)
            }
            (packet + length).storeBytes(of: word, as: UInt32.self)
            try appendTag(authenticator, packet, length + 4, suffix: nil, suffixLength: 0)
        } else {
            // RFC 7714 §9.1 IV; §9.2 AAD = the first 8 bytes, then the E flag and index word.
            (packet + length + 16).storeBytes(of: word, as: UInt32.self)
            try withIV(ssrc: ssrc, index: UInt64(index)) { iv throws(SRTPError) in
                try seal(
                    iv, aad: packet, aadLength: 8, extraAAD: UnsafeRawPointer(packet + length + 16), payload,
                    payloadLength, tag: packet + length)
            }
        }
        return length + 4 + tagLength
    }

    /// The E flag and SRTCP index word of the SRTCP packet `packet[0..<length]`; the caller has checked that
    /// `length >= 8 + 4 + tagLength`.
    func rtcpIndexWord(_ packet: UnsafeRawPointer, length: Int) -> UInt32 {
        let offset = authenticator != nil ? length - tagLength - 4 : length - 4
        return UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Verifies and decrypts `packet[0..<length]` whose index word is `indexWord` with E = 1.
    /// - Returns: the RTCP length, `length - 4 - tagLength`.
    func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: Int, ssrc: UInt32, index: UInt32)
        throws(SRTPError) -> Int
    {
        let plainLength = length - 4 - tagLength
        guard plainLength >= 8 else { throw .badLength }
        let payload = packet + 8
        let payloadLength = plainLength - 8
        if let authenticator {
            try verifyTag(authenticator, packet, plainLength + 4, suffix: nil, suffixLength: 0)
            try withIV(ssrc: ssrc, index: UInt64(index)) { iv throws(SRTPError) in
                try counterMode(iv, payload, payloadLength)
            }
        } else {
            try withIV(ssrc: ssrc, index: UInt64(index)) { iv throws(SRTPError) in
                try open(
                    iv, aad: packet, aadLength: 8, extraAAD: UnsafeRawPointer(packet + length - 4), payload,
                    payloadLength, tag: packet + plainLength)
            }
        }
        return plainLength
    }

    // MARK: Primitives

    /// Builds the per-packet IV on the stack.
    ///
    /// AES-CM (RFC 3711 §4.1.1): IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16), 16 bytes, the last two
    /// being the block counter. GCM (RFC 7714 §8.1, §9.1): IV = salt XOR (0^16 || SSRC || index), 12 bytes, where
    /// the index is ROC || SEQ for SRTP and 0^16 || 0 || SRTCP index for SRTCP.
    private func withIV(
        ssrc: UInt32, index: UInt64, _ body: (UnsafePointer<UInt8>) throws(SRTPError) -> Void
    ) throws(SRTPError) {
        var block: (UInt64, UInt64) = (0, 0)
        if authenticator != nil {
            block.0 = (saltHigh ^ UInt64(ssrc)).bigEndian
            block.1 = (saltLow ^ (index << 16)).bigEndian
        } else {
            block.0 = (saltHigh ^ (UInt64(ssrc) << 16 | index >> 32)).bigEndian
            // Bytes 8..<12; the GCM IV is 12 bytes, so bytes 12..<16 are never read.
            block.1 = (UInt64(UInt32(truncatingIfNeeded: saltLow ^ index)) << 32).bigEndian
        }
        try withUnsafeBytes(of: &block) { bytes throws(SRTPError) in
            try body(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// XORs AES-CM keystream over `data` in place.
    private func counterMode(_ iv: UnsafePointer<UInt8>, _ data: UnsafeMutableRawPointer, _ length: Int)
        throws(SRTPError)
    {
        guard length > 0 else { return }
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        var produced: Int32 = 0
        guard EVP_EncryptInit_ex(cipher, nil, nil, nil, iv) == 1,
            EVP_EncryptUpdate(cipher, bytes, &produced, bytes, Int32(length)) == 1, produced == Int32(length)
        else { throw .other(code: SRTPError.openSSLFailureCode) }
    }

    private func appendTag(
        _ authenticator: SRTPAuthenticator, _ data: UnsafeMutableRawPointer, _ length: Int,
        suffix: UnsafeRawPointer?, suffixLength: Int
    ) throws(SRTPError) {
        var digest: (UInt64, UInt64, UInt32) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digest) { digest in
            authenticator.authenticate(
                data, length: length, suffix: suffix, suffixLength: suffixLength, into: digest.baseAddress!)
            (data + length).copyMemory(from: digest.baseAddress!, byteCount: tagLength)
        }
    }

    private func verifyTag(
        _ authenticator: SRTPAuthenticator, _ data: UnsafeMutableRawPointer, _ length: Int,
        suffix: UnsafeRawPointer?, suffixLength: Int
    ) throws(SRTPError) {
        var digest: (UInt64, UInt64, UInt32) = (0, 0, 0)
        let matches = withUnsafeMutableBytes(of: &digest) { digest in
            authenticator.authenticate(
                data, length: length, suffix: suffix, suffixLength: suffixLength, into: digest.baseAddress!)
            // Constant time, so the comparison does not tell a forger how many tag bytes were right.
            return CRYPTO_memcmp(digest.baseAddress!, data + length, tagLength) == 0
        }
        guard matches else { throw .authenticationFailed }
    }

    private func seal(
        _ iv: UnsafePointer<UInt8>, aad: UnsafeRawPointer, aadLength: Int, extraAAD: UnsafeRawPointer?,
        _ data: UnsafeMutableRawPointer, _ length: Int, tag: UnsafeMutableRawPointer
    ) throws(SRTPError) {
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        var produced: Int32 = 0
        guard EVP_EncryptInit_ex(cipher, nil, nil, nil, iv) == 1,
            EVP_EncryptUpdate(cipher, nil, &produced, aad.assumingMemoryBound(to: UInt8.self), Int32(aadLength)) == 1,
            extraAAD.map({
                EVP_EncryptUpdate(cipher, nil, &produced, $0.assumingMemoryBound(to: UInt8.self), 4) == 1
            }) ?? true,
            length == 0 || EVP_EncryptUpdate(cipher, bytes, &produced, bytes, Int32(length)) == 1,
            EVP_EncryptFinal_ex(cipher, bytes + length, &produced) == 1,
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1
        else { throw .other(code: SRTPError.openSSLFailureCode) }
    }

    private func open(
        _ iv: UnsafePointer<UInt8>, aad: UnsafeRawPointer, aadLength: Int, extraAAD: UnsafeRawPointer?,
        _ data: UnsafeMutableRawPointer, _ length: Int, tag: UnsafeMutableRawPointer
    ) throws(SRTPError) {
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        var produced: Int32 = 0
        guard EVP_DecryptInit_ex(cipher, nil, nil, nil, iv) == 1,
            EVP_DecryptUpdate(cipher, nil, &produced, aad.assumingMemoryBound(to: UInt8.self), Int32(aadLength)) == 1,
            extraAAD.map({
                EVP_DecryptUpdate(cipher, nil, &produced, $0.assumingMemoryBound(to: UInt8.self), 4) == 1
            }) ?? true,
            length == 0 || EVP_DecryptUpdate(cipher, bytes, &produced, bytes, Int32(length)) == 1,
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1
        else { throw .other(code: SRTPError.openSSLFailureCode) }
        // Final checks the tag. On failure the payload has been decrypted in place but is not returned.
        guard EVP_DecryptFinal_ex(cipher, bytes + length, &produced) == 1 else { throw .authenticationFailed }
    }
}
