#if canImport(Glibc)
import Glibc
#endif
import CSocketShims
import Dispatch
import SkylarkBase
import Sockets

/// Why a socket operation failed, with the system's reason.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    /// What was being done ("bind 127.0.0.1:5000").
    public var operation: String
    /// errno.
    public var code: Int32

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// A non-blocking UDP socket bound to one local address. Owns the file descriptor.
///
/// Reads are driven by a `DispatchSourceRead` on the queue given to `startReceiving`; each wake-up drains the
/// socket with `recvmmsg` into reused buffers, so receiving does not allocate per packet.
public final class UDPSocket: @unchecked Sendable {
    /// The bound address (with the port the system chose when 0 was asked).
    public let localAddress: SocketAddress
    public let fileDescriptor: Int32
    /// An IPv6 socket: bound to `::` it takes IPv4 too (dual-stack), and IPv4 destinations are sent to mapped.
    public let isIPv6: Bool
    private var readSource: DispatchSourceRead?
    private var closed = false

    /// Datagrams read per `recvmmsg` call.
    public static let batchSize = 32
    /// Largest datagram read; anything larger is truncated (WebRTC keeps packets under ~1,200 bytes).
    public static let maximumDatagramSize = 2048

    /// Binds a UDP socket. `receiveBufferBytes`/`sendBufferBytes` raise the kernel buffers for busy sockets.
    /// Bound to `::` it is dual-stack (IPv4 peers arrive as IPv4 addresses); bound to any other IPv6 address,
    /// IPv6 only.
    public init(bindTo address: SocketAddress, receiveBufferBytes: Int32 = 1 << 21,
                sendBufferBytes: Int32 = 1 << 21, reuseAddress: Bool = false) throws {
        let family = address.ip.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        var yes: Int32 = 1
        if family == AF_INET6 {
            var v6Only: Int32 = address.ip.isUnspecified ? 0 : 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6Only, socklen_t(MemoryLayout<Int32>.size))
        }
        if reuseAddress {
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        }
        var receiveBuffer = receiveBufferBytes
        var sendBuffer = sendBufferBytes
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketError(operation: "bind \(address)", code: code)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0, let local = withUnsafeBytes(of: storage, { SocketAddress(sockaddr: $0.baseAddress!, length: Int(length)) }) else {
            let code = errno
            Glibc.close(fd)
            throw SocketError(operation: "getsockname", code: code)
        }
        self.fileDescriptor = fd
        self.localAddress = local
        isIPv6 = family == AF_INET6
    }

    deinit {
        if !closed { Glibc.close(fileDescriptor) }
    }

    /// Sends one datagram now. Returns false when the kernel refused it (full buffer, unreachable).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) -> Bool {
        var storage = SockaddrStorage(destination, ipv6Socket: isIPv6)
        return storage.withPointer { address, length in
            sendto(fileDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), address, length) == bytes.count
        }
    }

    @discardableResult
    public func send(_ bytes: [UInt8], to destination: SocketAddress) -> Bool {
        bytes.withUnsafeBytes { send($0, to: destination) }
    }

    /// Sends a batch with `sendmmsg`. Returns how many datagrams the kernel took.
    public func send(batch: UnsafeBufferPointer<skylark_datagram_out>) -> Int {
        guard let base = batch.baseAddress, batch.count > 0 else { return 0 }
        let sent = skylark_sendmmsg(fileDescriptor, base, Int32(batch.count))
        return max(0, Int(sent))
    }

    /// Starts reading on `queue`; `handler` runs on that queue once per datagram with a buffer valid only during
    /// the call.
    public func startReceiving(on queue: DispatchQueue,
                               handler: @escaping (UnsafeMutableRawBufferPointer, SocketAddress) -> Void) {
        let receiver = DatagramReceiver()
        startReceiving(on: queue, using: receiver) { bytes, from, _ in handler(bytes, from) }
    }

    /// Starts reading on `queue` into `receiver`'s buffers (one receiver can serve every socket read on one serial
    /// queue); `handler` also gets the kernel's arrival time (see `enableReceiveTimestamps`).
    public func startReceiving(on queue: DispatchQueue, using receiver: DatagramReceiver,
                               handler: @escaping (UnsafeMutableRawBufferPointer, SocketAddress, Int64) -> Void) {
        let source = DispatchSource.makeReadSource(fileDescriptor: fileDescriptor, queue: queue)
        let fd = fileDescriptor
        source.setEventHandler { receiver.drain(fileDescriptor: fd, handler: handler) }
        readSource = source
        source.resume()
    }

    /// Stops the read source started by `startReceiving`; the socket stays open and can still be read with
    /// `DatagramReceiver.drain` (for example on a timer, which costs the sender no wake-up per datagram).
    public func stopReceiving() {
        guard let source = readSource else { return }
        readSource = nil
        source.cancel()
    }

    /// Asks the kernel to stamp every received datagram with its arrival time (SO_TIMESTAMPNS, CLOCK_REALTIME).
    public func enableReceiveTimestamps() throws {
        let result = skylark_enable_receive_timestamps(fileDescriptor)
        guard result == 0 else { throw SocketError(operation: "SO_TIMESTAMPNS", code: -result) }
    }

    /// Stops reading and closes the descriptor once the read source has let go of it.
    public func close() {
        guard !closed else { return }
        closed = true
        if let source = readSource {
            let fd = fileDescriptor
            source.setCancelHandler { Glibc.close(fd) }
            source.cancel()
            readSource = nil
        } else {
            Glibc.close(fileDescriptor)
        }
    }
}

/// Reusable `recvmmsg` buffers. Use one per serial queue: `drain` must not run concurrently with itself.
public final class DatagramReceiver: @unchecked Sendable {
    private let buffers: ReceiveBuffers

    public init(batchSize: Int = UDPSocket.batchSize, maximumDatagramSize: Int = UDPSocket.maximumDatagramSize) {
        buffers = ReceiveBuffers(count: batchSize, size: maximumDatagramSize)
    }

    /// Reads every datagram waiting on `socket` without blocking and calls `handler` for each with a buffer valid
    /// only during the call, the sender, and the kernel's arrival time in CLOCK_REALTIME nanoseconds (0 unless the
    /// socket enabled receive timestamps). Returns how many datagrams were read.
    @discardableResult
    public func drain(_ socket: UDPSocket,
                      handler: (UnsafeMutableRawBufferPointer, SocketAddress, Int64) -> Void) -> Int {
        drain(fileDescriptor: socket.fileDescriptor, handler: handler)
    }

    @discardableResult
    func drain(fileDescriptor: Int32, handler: (UnsafeMutableRawBufferPointer, SocketAddress, Int64) -> Void) -> Int {
        var total = 0
        while true {
            let count = buffers.receive(fd: fileDescriptor)
            if count <= 0 { return total }
            total += count
            for index in 0..<count {
                let (bytes, from, timestamp) = buffers.datagram(index)
                if let from { handler(bytes, from, timestamp) }
            }
            if count < buffers.count { return total }
        }
    }
}

/// Buffers for `recvmmsg`, allocated once.
final class ReceiveBuffers: @unchecked Sendable {
    private let storage: UnsafeMutableRawPointer
    private let slots: UnsafeMutablePointer<skylark_datagram_in>
    let count: Int
    private let size: Int

    init(count: Int, size: Int) {
        self.count = count
        self.size = size
        storage = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 16)
        slots = UnsafeMutablePointer<skylark_datagram_in>.allocate(capacity: count)
        for i in 0..<count {
            slots[i] = skylark_datagram_in()
            slots[i].data = storage + i * size
            slots[i].capacity = size
        }
    }

    deinit {
        storage.deallocate()
        slots.deallocate()
    }

    func receive(fd: Int32) -> Int {
        Int(skylark_recvmmsg(fd, slots, Int32(count)))
    }

    func datagram(_ index: Int) -> (UnsafeMutableRawBufferPointer, SocketAddress?, Int64) {
        let slot = slots + index
        let bytes = UnsafeMutableRawBufferPointer(start: slot.pointee.data, count: slot.pointee.length)
        let from = withUnsafeBytes(of: &slot.pointee.address) {
            SocketAddress(sockaddr: $0.baseAddress!, length: Int(slot.pointee.address_length))
        }
        return (bytes, from, slot.pointee.timestamp_ns)
    }
}
