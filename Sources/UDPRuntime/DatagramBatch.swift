import CSocketShims
import Glibc
import SkylarkBase
import Sockets

/// Datagrams waiting to go out in one `sendmmsg` call: their bytes in one arena, their addresses and the
/// message vector allocated once, so queueing a datagram allocates nothing.
public final class DatagramBatch {
    /// How many datagrams fit before `append` reports the batch as full.
    public let capacity: Int
    /// Largest datagram accepted.
    public let maximumDatagramSize: Int

    private let arena: UnsafeMutableRawPointer
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let messages: UnsafeMutablePointer<skylark_datagram_out>
    public private(set) var count = 0

    public init(capacity: Int = 64, maximumDatagramSize: Int = 1_500) {
        self.capacity = capacity
        self.maximumDatagramSize = maximumDatagramSize
        arena = UnsafeMutableRawPointer.allocate(byteCount: capacity * maximumDatagramSize, alignment: 16)
        addresses = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: capacity)
        addresses.initialize(repeating: sockaddr_storage(), count: capacity)
        messages = UnsafeMutablePointer<skylark_datagram_out>.allocate(capacity: capacity)
        messages.initialize(repeating: skylark_datagram_out(), count: capacity)
    }

    deinit {
        arena.deallocate()
        addresses.deallocate()
        messages.deallocate()
    }

    public var isFull: Bool { count == capacity }

    /// Copies a datagram into the batch. Returns false when it is full or the datagram too large.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) -> Bool {
        appendInPlace { slot in
            guard bytes.count <= slot.count else { return nil }
            if let base = bytes.baseAddress, let target = slot.baseAddress { target.copyMemory(from: base, byteCount: bytes.count) }
            return (bytes.count, destination)
        }
    }

    /// Lets `body` write the next datagram straight into the batch: it gets the slot (`maximumDatagramSize`
    /// bytes) and returns the length written and the destination, or nil to write nothing. Returns false when
    /// the batch is full or `body` wrote nothing.
    @discardableResult
    public func appendInPlace(_ body: (UnsafeMutableRawBufferPointer) -> (length: Int, destination: SocketAddress)?) -> Bool {
        guard count < capacity else { return false }
        let slot = arena + count * maximumDatagramSize
        guard let (length, destination) = body(UnsafeMutableRawBufferPointer(start: slot, count: maximumDatagramSize)),
              length >= 0, length <= maximumDatagramSize else { return false }
        var storage = SockaddrStorage(destination)
        let addressLength = storage.withPointer { pointer, addressLength in
            UnsafeMutableRawPointer(addresses + count).copyMemory(from: pointer, byteCount: Int(addressLength))
            return addressLength
        }
        messages[count] = skylark_datagram_out(data: UnsafeRawPointer(slot), length: length,
                                               address: UnsafeRawPointer(addresses + count), address_length: UInt32(addressLength))
        count += 1
        return true
    }

    @discardableResult
    public func append(_ bytes: [UInt8], to destination: SocketAddress) -> Bool {
        bytes.withUnsafeBytes { append($0, to: destination) }
    }

    /// Sends everything queued and empties the batch. Returns how many datagrams the kernel took.
    @discardableResult
    public func send(on socket: UDPSocket) -> Int {
        guard count > 0 else { return 0 }
        if socket.isIPv6 { mapIPv4Destinations() }
        let sent = socket.send(batch: UnsafeBufferPointer(start: messages, count: count))
        count = 0
        return sent
    }

    /// An IPv6 socket (dual-stack when bound to `::`) takes IPv4 destinations only mapped into IPv6.
    private func mapIPv4Destinations() {
        for index in 0..<count where Int32(addresses[index].ss_family) == AF_INET {
            let address = withUnsafeBytes(of: addresses[index]) { SocketAddress(sockaddr: $0.baseAddress!, length: $0.count) }
            guard let address else { continue }
            var storage = SockaddrStorage(address, ipv6Socket: true)
            let length = storage.withPointer { pointer, length in
                UnsafeMutableRawPointer(addresses + index).copyMemory(from: pointer, byteCount: Int(length))
                return length
            }
            messages[index].address_length = UInt32(length)
        }
    }

    /// Forgets what is queued.
    public func removeAll() { count = 0 }
}
