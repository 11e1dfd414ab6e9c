#if canImport(Glibc)
import Glibc
#endif
import SkylarkBase
import Sockets

/// Host names to addresses with the system resolver (`getaddrinfo`: /etc/hosts, then DNS), for settings that
/// take a name; a blocking call, made at start only.
public enum NameResolution {
    /// Every distinct address of `host`, IPv4 first; empty when the name does not resolve.
    public static func addresses(of host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var found: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ai_next }
            guard let address = entry.pointee.ai_addr,
                  let socketAddress = SocketAddress(sockaddr: UnsafeRawPointer(address), length: Int(entry.pointee.ai_addrlen)),
                  !found.contains(socketAddress.ip) else { continue }
            found.append(socketAddress.ip)
        }
        return found.filter(\.isIPv4) + found.filter { !$0.isIPv4 }
    }
}
