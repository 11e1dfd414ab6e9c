import COpenSSL
import SkylarkBase

/// Bearer tokens: random, handed out once, stored only as a SHA-256 hash.
///
/// The tokens carry 256 random bits, so an unsalted fast hash is enough: nobody can guess a preimage, and the hash
/// lets a stolen database file be useless for authenticating (unlike a password, there is nothing to brute-force).
enum Secret {
    /// Tokens longer than this are rejected before hashing (ours are 43 characters).
    static let maximumLength = 512

    /// 32 bytes from the system's CSPRNG (`getrandom`), as 43 characters of unpadded base64url.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let word = generator.next() as UInt64
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return Base64.url.encode(bytes)
    }

    /// Lowercase hex SHA-256 of the token's UTF-8 bytes: the only form that is stored.
    static func hash(_ token: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let input = Array(token.utf8)
        let ok = input.withUnsafeBytes { raw in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(raw.baseAddress, raw.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        // EVP_Digest with SHA-256 and no engine fails only when out of memory; there is no sensible way on.
        precondition(ok == 1 && length == 32, "SHA-256 failed")
        return hex(digest)
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
