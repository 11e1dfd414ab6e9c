#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SkylarkBase

extension SocketAddress {
    /// Reads a `sockaddr_in` or `sockaddr_in6` (other families give nil). An IPv4-mapped IPv6 address, as a
    /// dual-stack socket reports an IPv4 peer, is read as the IPv4 address, so a peer has one address however the
    /// socket it reached was bound.
    public init?(sockaddr pointer: UnsafeRawPointer, length: Int) {
        guard length >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = pointer.loadUnaligned(as: sa_family_t.self)
        switch Int32(family) {
        case AF_INET where length >= MemoryLayout<sockaddr_in>.size:
            let address = pointer.loadUnaligned(as: sockaddr_in.self)
            let raw = UInt32(bigEndian: address.sin_addr.s_addr)
            self.init(ip: .v4(UInt8(raw >> 24), UInt8(truncatingIfNeeded: raw >> 16),
                              UInt8(truncatingIfNeeded: raw >> 8), UInt8(truncatingIfNeeded: raw)),
                      port: UInt16(bigEndian: address.sin_port))
        case AF_INET6 where length >= MemoryLayout<sockaddr_in6>.size:
            let address = pointer.loadUnaligned(as: sockaddr_in6.self)
            let ip = withUnsafeBytes(of: address.sin6_addr) { IPAddress(bytes: $0) }
            guard let ip else { return nil }
            self.init(ip: ip.mappedIPv4 ?? ip, port: UInt16(bigEndian: address.sin6_port))
        default:
            return nil
        }
    }

    /// Reads what `accept`, `getsockname` or `recvfrom` filled in.
    public init?(_ storage: sockaddr_storage) {
        var storage = storage
        let length = MemoryLayout<sockaddr_storage>.size
        guard let address = withUnsafeBytes(of: &storage, { SocketAddress(sockaddr: $0.baseAddress!, length: length) })
        else { return nil }
        self = address
    }

    /// Calls `body` with this address as a `sockaddr` of the right family and its length.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var storage = SockaddrStorage(self)
        return try storage.withPointer(body)
    }
}

/// A `sockaddr_in` / `sockaddr_in6` built once and reused, e.g. as the destination of many sends.
public struct SockaddrStorage: Sendable {
    private var storage = sockaddr_storage()
    /// Length of the address in `storage`.
    public private(set) var length: socklen_t = 0

    /// `ipv6Socket`: the address is for an IPv6 socket, which takes IPv4 destinations only mapped into IPv6.
    public init(_ address: SocketAddress, ipv6Socket: Bool = false) {
        switch ipv6Socket ? address.ip.asIPv6 : address.ip {
        case .v4:
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = address.port.bigEndian
            let b = address.ip.bytes
            a.sin_addr.s_addr = (UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])).bigEndian
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: a, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6:
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &a.sin6_addr) { raw in
                for (i, byte) in (ipv6Socket ? address.ip.asIPv6 : address.ip).bytes.enumerated() { raw[i] = byte }
            }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: a, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Calls `body` with a pointer to the address.
    public mutating func withPointer<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        let length = self.length
        return try withUnsafePointer(to: &storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}
