import SkylarkBase

/// An HTTP protocol version (RFC 9110 §2.5); the server speaks HTTP/1.0 and HTTP/1.1.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// A complete request as the server hands it to the handler.
public struct HTTPRequest: Sendable, Equatable {
    /// The method token as sent (methods are case-sensitive, RFC 9110 §9.1), e.g. `GET`.
    public var method: String
    /// The request-target exactly as sent (origin-form `/a/b?x=1`, absolute-form, authority-form or `*`).
    public var target: String
    /// The percent-decoded path of the target, without the query (`/a/b`); empty for authority-form and `*`.
    public var path: String
    /// The query parameters, percent-decoded (`+` means space); for a repeated name the last value wins.
    public var query: [String: String]
    /// The raw query string after `?`, or nil when the target has none.
    public var rawQuery: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The body after removing any chunked framing.
    public var body: [UInt8]
    /// The peer's address (nil for requests built by hand or parsed without a connection).
    public var remoteAddress: SocketAddress?

    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:],
                body: [UInt8] = [], remoteAddress: SocketAddress? = nil) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        let parts = HTTPRequest.splitTarget(target)
        path = parts.path
        rawQuery = parts.query
        query = parts.query.map(HTTPRequest.decodeQuery) ?? [:]
    }

    /// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is case-insensitive), or nil.
    public var bearerToken: String? {
        guard let value = headers["Authorization"] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = trimmingOWS(parts[1])
        return token.isEmpty ? nil : String(token)
    }

    /// The body decoded as UTF-8 (invalid sequences replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Whether the connection stays open after this request (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        if headers.containsToken("close", for: "Connection") { return false }
        if version == .http1_1 { return true }
        return headers.containsToken("keep-alive", for: "Connection")
    }

    /// Splits a request-target into its decoded path and raw query (RFC 9112 §3.2).
    static func splitTarget(_ target: String) -> (path: String, query: String?) {
        var rest = Substring(target)
        if rest == "*" { return ("", nil) }
        if !rest.hasPrefix("/") {
            // absolute-form: skip "scheme://authority"; authority-form (CONNECT) has no path.
            guard let schemeEnd = rest.firstRange(of: "://") else { return ("", nil) }
            rest = rest[schemeEnd.upperBound...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[slash...]
            } else {
                return ("/", nil)
            }
        }
        // A fragment is never sent, but drop one defensively.
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var rawPath = rest
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            rawPath = rest[..<mark]
            query = String(rest[rest.index(after: mark)...])
        }
        let path = percentDecode(rawPath, plusIsSpace: false)
        return (path.isEmpty ? "/" : path, query)
    }

    /// Decodes `application/x-www-form-urlencoded`-style pairs from a query string.
    static func decodeQuery(_ query: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = pair.firstIndex(of: "=") {
                out[percentDecode(pair[..<eq], plusIsSpace: true)] =
                    percentDecode(pair[pair.index(after: eq)...], plusIsSpace: true)
            } else {
                out[percentDecode(pair, plusIsSpace: true)] = ""
            }
        }
        return out
    }
}

/// Percent-decodes (RFC 3986 §2.1); malformed escapes are kept literally, invalid UTF-8 becomes U+FFFD.
func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String {
    let bytes = Array(text.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
            out.append(hi << 4 | lo)
            i += 3
        } else {
            out.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

@inline(__always) func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}
