import SkylarkBase
import Testing
import UDPRuntime

/// A UDP socket bound to `::` takes IPv4 and IPv6 peers on one port: IPv4 senders read as IPv4 addresses (not
/// `::ffff:a.b.c.d`), and replies to them, one at a time or in a `sendmmsg` batch, reach them.
@Suite struct DualStackSocketTests {
    /// Reads what arrived on `socket`, waiting up to a second.
    func receive(_ socket: UDPSocket, receiver: DatagramReceiver) async throws -> [(bytes: [UInt8], from: SocketAddress)] {
        var got: [(bytes: [UInt8], from: SocketAddress)] = []
        for _ in 0..<100 {
            receiver.drain(socket) { bytes, from, _ in got.append((Array(bytes), from)) }
            if !got.isEmpty { return got }
            try await Task.sleep(for: .milliseconds(10))
        }
        return got
    }

    @Test func ipv4AndIPv6PeersShareOnePort() async throws {
        let server = try UDPSocket(bindTo: SocketAddress(ip: IPAddress("::")!, port: 0))
        defer { server.close() }
        #expect(server.isIPv6)
        let receiver = DatagramReceiver()
        let port = server.localAddress.port
        let v4 = try UDPSocket(bindTo: SocketAddress(ip: .loopbackV4, port: 0))
        let v6 = try UDPSocket(bindTo: SocketAddress(ip: IPAddress("::1")!, port: 0))
        defer { v4.close(); v6.close() }

        #expect(v4.send([1, 2, 3], to: SocketAddress(ip: .loopbackV4, port: port)))
        let fromV4 = try await receive(server, receiver: receiver)
        #expect(fromV4.map(\.bytes) == [[1, 2, 3]])
        #expect(fromV4.first?.from == v4.localAddress)  // 127.0.0.1, not ::ffff:127.0.0.1

        #expect(v6.send([4], to: SocketAddress(ip: IPAddress("::1")!, port: port)))
        let fromV6 = try await receive(server, receiver: receiver)
        #expect(fromV6.first?.from == v6.localAddress)

        // Replies: a single send and a batch, each to both families.
        #expect(server.send([5], to: v4.localAddress))
        let batch = DatagramBatch(capacity: 4)
        batch.append([6], to: v4.localAddress)
        batch.append([7], to: v6.localAddress)
        #expect(batch.send(on: server) == 2)
        var atV4: [[UInt8]] = []
        for _ in 0..<100 where atV4.count < 2 {
            receiver.drain(v4) { bytes, from, _ in if from.port == port { atV4.append(Array(bytes)) } }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(atV4 == [[5], [6]])
        #expect(try await receive(v6, receiver: receiver).map(\.bytes) == [[7]])
    }

    @Test func mappedAddressesConvertBothWays() {
        let mapped = IPAddress("::ffff:192.0.2.7")!
        #expect(mapped.mappedIPv4 == IPAddress("192.0.2.7"))
        #expect(IPAddress("192.0.2.7")!.asIPv6 == mapped)
        #expect(IPAddress("2001:db8::1")!.mappedIPv4 == nil)
        #expect(IPAddress("::1")!.asIPv6 == IPAddress("::1"))
    }
}
