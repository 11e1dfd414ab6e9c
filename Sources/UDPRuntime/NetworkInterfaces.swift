#if canImport(Glibc)
import Glibc
#endif
import SkylarkBase
import Sockets

/// The machine's IP addresses, for host candidates.
public enum NetworkInterfaces {
    /// Addresses of interfaces that are up. Link-local IPv6 addresses are left out (they need a scope to be
    /// useful); loopback only when asked for.
    public static func addresses(includeLoopback: Bool = false, includeIPv6: Bool = true) -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [IPAddress] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr,
                  entry.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || (includeIPv6 && family == AF_INET6) else { continue }
            let length = family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
            guard let socketAddress = SocketAddress(sockaddr: UnsafeRawPointer(address), length: length) else { continue }
            let ip = socketAddress.ip
            if ip.isLinkLocal || ip.isUnspecified { continue }
            if ip.isLoopback && !includeLoopback { continue }
            if !result.contains(ip) { result.append(ip) }
        }
        return result
    }
}
