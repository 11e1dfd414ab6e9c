import COpenSSL

/// Session keys derived from one master key and salt (RFC 3711 §4.3), for SRTP and for SRTCP.
struct SRTPSessionKeys {
    var rtpKey: [UInt8]
    var rtpAuthenticationKey: [UInt8]
    var rtpSalt: [UInt8]
    var rtcpKey: [UInt8]
    var rtcpAuthenticationKey: [UInt8]
    var rtcpSalt: [UInt8]

    /// Derives all six with key_derivation_rate 0. GCM has no authentication key (RFC 7714 §11), so those stay
    /// empty; its 12-byte salts are the first 96 bits of the PRF output.
    init(profile: SRTPProtectionProfile, masterKey: [UInt8], masterSalt: [UInt8]) throws(SRTPError) {
        let authenticationKeyLength = profile == .aes128CmHmacSha1_80 ? 20 : 0  // RFC 3711 §8.2: n_a = 160
        func derive(_ label: UInt8, _ length: Int) throws(SRTPError) -> [UInt8] {
            try SRTPKeyDerivation.derive(masterKey: masterKey, masterSalt: masterSalt, label: label, length: length)
        }
        // RFC 3711 §4.3.1 (SRTP) and §4.3.2 (SRTCP) labels.
        rtpKey = try derive(0x00, profile.keyLength)
        rtpAuthenticationKey = try derive(0x01, authenticationKeyLength)
        rtpSalt = try derive(0x02, profile.saltLength)
        rtcpKey = try derive(0x03, profile.keyLength)
        rtcpAuthenticationKey = try derive(0x04, authenticationKeyLength)
        rtcpSalt = try derive(0x05, profile.saltLength)
    }

    /// Overwrites the key bytes before the arrays are released.
    mutating func erase() {
        for index in rtpKey.indices { rtpKey[index] = 0 }
        for index in rtpAuthenticationKey.indices { rtpAuthenticationKey[index] = 0 }
        for index in rtcpKey.indices { rtcpKey[index] = 0 }
        for index in rtcpAuthenticationKey.indices { rtcpAuthenticationKey[index] = 0 }
    }
}

/// The AES-CM pseudo-random function of RFC 3711 §4.3.3, with key_derivation_rate 0.
enum SRTPKeyDerivation {
    /// `length` bytes of session key material for `label`.
    ///
    /// RFC 3711 §4.3.1: key_id = label || r with r = 0 (rate 0), x = key_id XOR master_salt, both as 112-bit
    /// numbers, so the label lands on byte 7 of the salt; the PRF output is AES-CM keystream with IV x * 2^16.
    /// A 96-bit GCM master salt is the top 96 bits of that 112-bit value (RFC 7714 §11, errata 4938), i.e. padded
    /// with two zero bytes.
    static func derive(masterKey: [UInt8], masterSalt: [UInt8], label: UInt8, length: Int) throws(SRTPError)
        -> [UInt8]
    {
        guard masterKey.count == 16, masterSalt.count <= 14, length >= 0 else { throw .badLength }
        guard length > 0 else { return [] }
        var iv = [UInt8](repeating: 0, count: 16)
        for (index, byte) in masterSalt.enumerated() { iv[index] = byte }
        iv[7] ^= label
        var output = [UInt8](repeating: 0, count: length)
        guard let context = EVP_CIPHER_CTX_new() else { throw .other(code: SRTPError.openSSLFailureCode) }
        defer { EVP_CIPHER_CTX_free(context) }
        var produced: Int32 = 0
        let ok = masterKey.withUnsafeBufferPointer { key in
            iv.withUnsafeBufferPointer { iv in
                output.withUnsafeMutableBufferPointer { output in
                    EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nil, key.baseAddress, iv.baseAddress) == 1
                        && EVP_EncryptUpdate(
                            context, output.baseAddress, &produced, output.baseAddress, Int32(length)) == 1
                }
            }
        }
        guard ok, produced == Int32(length) else { throw .other(code: SRTPError.openSSLFailureCode) }
        return output
    }
}
