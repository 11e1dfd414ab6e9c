import SkylarkBase

extension ICECredentials {
    /// The `ice-char` set: ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4).
    static let iceChars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    /// Fresh credentials: an 8-character ufrag (24 bits of randomness are required) and a 24-character password
    /// (128 bits required), drawn from the system CSPRNG.
    public static func random() -> ICECredentials {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// Fresh credentials drawn from `generator`, which must be a CSPRNG outside of tests: the password
    /// authenticates every check (RFC 8445 §5.3).
    public static func random(using generator: inout some RandomNumberGenerator) -> ICECredentials {
        func string(_ count: Int) -> String {
            String((0..<count).map { _ in iceChars[Int.random(in: 0..<iceChars.count, using: &generator)] })
        }
        return ICECredentials(ufrag: string(8), password: string(24))
    }
}
