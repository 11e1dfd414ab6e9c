import SkylarkBase

/// `http://HOST:PORT[/prefix]` with HOST an IP literal or `localhost`; the load tool speaks plain HTTP/1.1 only.
public struct ServerURL: Sendable, Equatable, CustomStringConvertible {
    public var address: SocketAddress
    /// Path prefix without a trailing slash ("" for the root).
    public var basePath: String

    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let first = parts.first else { return nil }
            host = first
            if parts.count == 2 { portText = parts[1] }
        }
        let port: UInt16
        if let portText {
            guard let value = UInt16(portText), value != 0 else { return nil }
            port = value
        } else {
            port = 80
        }
        let ip = host == "localhost" ? IPAddress.loopbackV4 : IPAddress(String(host))
        guard let ip else { return nil }
        address = SocketAddress(ip: ip, port: port)
        basePath = path
    }

    /// The value of a Host header.
    public var hostHeader: String {
        address.ip.isIPv4 ? "\(address.ip):\(address.port)" : "[\(address.ip)]:\(address.port)"
    }

    public var description: String { "http://\(hostHeader)\(basePath)" }

    /// The request path for a Location header, which may be absolute-path or an absolute URL (RFC 9110 §10.2.2).
    public static func path(ofLocation location: String) -> String? {
        if location.hasPrefix("/") { return location }
        for scheme in ["http://", "https://"] where location.hasPrefix(scheme) {
            let rest = location.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(of: "/") else { return "/" }
            return String(rest[slash...])
        }
        return nil
    }
}
