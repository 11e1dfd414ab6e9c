import COpenSSL

/// HMAC-SHA1 over OpenSSL's one-shot `HMAC()`, for MESSAGE-INTEGRITY (RFC 8489 §14.5).
enum HMACSHA1 {
    static let length = 20

    static func mac(key: [UInt8], data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var outLength: UInt32 = 0
        // OpenSSL treats a NULL key specially, so an empty key still gets a valid pointer.
        let keyBytes = key.isEmpty ? [0] : key
        keyBytes.withUnsafeBytes { keyRaw in
            out.withUnsafeMutableBytes { outRaw in
                _ = HMAC(EVP_sha1(), keyRaw.baseAddress, Int32(key.count),
                         data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                         outRaw.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLength)
            }
        }
        return Array(out.prefix(length))
    }

    /// Compares two MACs without an early exit, so timing does not reveal how many bytes matched.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
