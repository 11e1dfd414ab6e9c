#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SkylarkBase
import Sockets

/// A socket-level failure: the failing call and `errno`.
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    public init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        code == 0 ? operation : "\(operation): \(String(cString: strerror(code)))"
    }
}

/// Thin helpers over the BSD socket calls the server needs.
enum TCPSocket {
    /// Resolves the configured host: an IPv4/IPv6 literal, `localhost`, or empty/`*` for every IPv6 and IPv4
    /// address.
    static func address(host: String, port: UInt16) throws(HTTPServerError) -> SocketAddress {
        var text = host
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        switch text {
        case "", "*": return SocketAddress(ip: .v6(high: 0, low: 0), port: port)
        case "localhost": return SocketAddress(ip: .loopbackV4, port: port)
        default:
            guard let ip = IPAddress(text) else { throw HTTPServerError("not an IP address: \(host)", code: 0) }
            return SocketAddress(ip: ip, port: port)
        }
    }

    /// Creates a non-blocking listening socket bound to `address`.
    static func listen(on address: SocketAddress, backlog: Int32) throws(HTTPServerError) -> Int32 {
        let family = address.ip.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
            | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError("socket") }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockaddr { pointer, length in bind(fd, pointer, length) }
        guard bound == 0 else {
            let error = HTTPServerError("bind \(address)")
            close(fd)
            throw error
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = HTTPServerError("listen")
            close(fd)
            throw error
        }
        return fd
    }

    /// The local address of a bound socket.
    static func localAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage) : nil
    }

    /// Accepts one connection without blocking: the new non-blocking socket and its peer, nil when none waits.
    static func accept(_ listener: Int32) -> (fd: Int32, peer: SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.accept(listener, $0, &length)
            }
        }
        guard fd >= 0 else { return nil }
        // Accepted sockets do not inherit O_NONBLOCK on Linux.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var yes: Int32 = 1
        // Responses go out in one write each; Nagle would only delay them.
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        return (fd, SocketAddress(storage))
    }
}

/// The current time as an IMF-fixdate for the `Date` header (RFC 9110 §5.6.7), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
func httpDate(_ seconds: Int = time(nil)) -> String {
    var t = time_t(seconds)
    var parts = tm()
    gmtime_r(&t, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let day = days[Int(max(0, min(6, parts.tm_wday)))]
    let month = months[Int(max(0, min(11, parts.tm_mon)))]
    return "\(day), \(two(parts.tm_mday)) \(month) \(parts.tm_year + 1900) "
        + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
}
