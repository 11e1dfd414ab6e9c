import STUN

/// The STUN and TURN servers a WHIP/WHEP client is told about, as `Link: <url>; rel="ice-server"` headers
/// (RFC 9725 §4.6), and the credentials that go with the TURN ones.
public struct ICEServerLinks: Sendable {
    public enum Credentials: Sendable {
        /// No credentials: STUN, or a TURN server that needs none.
        case none
        /// The same username and password for everyone.
        case fixed(username: String, credential: String)
        /// Made per response from a secret shared with the TURN server (`TURNRESTCredential`), valid for
        /// `lifetimeSeconds` from `now()` (Unix seconds) and bound to the stream in the username.
        case timeLimited(secret: String, lifetimeSeconds: Int64, now: @Sendable () -> Int64)
    }

    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs (RFC 7064, 7065).
    public var urls: [String]
    /// Given with the `turn:` and `turns:` URLs only.
    public var credentials: Credentials

    public init(urls: [String] = [], credentials: Credentials = .none) {
        self.urls = urls
        self.credentials = credentials
    }

    /// Whether a URL names a TURN server, which is what credentials are for.
    public static func isTURN(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("turn:") || lowered.hasPrefix("turns:")
    }

    /// The Link header values for a client of `stream`; `withCredentials` false leaves TURN servers out (a
    /// client not allowed on the stream gets no TURN credentials).
    public func values(stream: String, withCredentials: Bool = true) -> [String] {
        var credential: (username: String, credential: String)?
        switch credentials {
        case .none:
            break
        case let .fixed(username, password):
            credential = (username, password)
        case let .timeLimited(secret, lifetime, now):
            let made = TURNRESTCredential(secret: secret, user: stream, expiresAt: now() + lifetime)
            credential = (made.username, made.credential)
        }
        return urls.compactMap { url in
            var value = "<\(url)>; rel=\"ice-server\""
            guard Self.isTURN(url) else { return value }
            guard withCredentials else { return nil }
            if let credential {
                value += "; username=\"\(credential.username)\"; credential=\"\(credential.credential)\"; credential-type=\"password\""
            }
            return value
        }
    }

    /// Whether a fixed username or password can be written as an RFC 8288 quoted string as it is.
    public static func isQuotable(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }
    }
}
