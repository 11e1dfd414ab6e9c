import SkylarkBase

/// A time-limited TURN credential made from a secret shared with the TURN server, by the "TURN REST API"
/// convention (draft-uberti-behave-turn-rest-00 §2.2) that coturn's `use-auth-secret` checks: the username is
/// `<expiry in Unix seconds>:<user>`, the password base64(HMAC-SHA1(secret, username)). The TURN server recomputes
/// the password from the username and refuses it once the expiry has passed; no state is shared beyond the secret.
public struct TURNRESTCredential: Sendable, Equatable {
    public var username: String
    public var credential: String

    /// `user` may not contain ':' (it would end the expiry's field early for some servers); callers pass names that
    /// cannot, such as stream names.
    public init(secret: String, user: String, expiresAt unixSeconds: Int64) {
        username = "\(unixSeconds):\(user)"
        let mac = Array(username.utf8).withUnsafeBytes { HMACSHA1.mac(key: Array(secret.utf8), data: $0) }
        credential = Base64.standard.encode(mac)
    }
}
