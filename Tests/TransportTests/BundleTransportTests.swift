import DTLS
import ICE
import SkylarkBase
import STUN
import Testing
import Transport
import VirtualNetwork

/// Two `BundleTransport`s on a virtual network: ICE, the DTLS handshake and SRTP between them, and what a
/// forged datagram from the peer's own address does (nothing but a counted drop).
@Suite struct BundleTransportTests {
    @Test func connectsAndCarriesMediaOverALossyReorderingLink() throws {
        let pair = try TransportPair()
        try pair.connect()
        #expect(pair.client.events.contains { if case .dtlsStateChanged(.connected) = $0 { true } else { false } })
        #expect(pair.server.transport.iceState == .completed || pair.server.transport.iceState == .connected)

        // After the handshake (OpenSSL retransmits it on the wall clock, not on virtual time), the link loses a
        // tenth and reorders: SRTP has no order to keep (RFC 3711 §3.3.2), so every surviving packet decrypts.
        pair.wire.conditions = .init(loss: 0.1, delay: .milliseconds(20), jitter: .milliseconds(30))
        for sequence in UInt16(0)..<300 {
            var packet = TransportPair.rtp(sequence: sequence)
            #expect(pair.client.transport.sendRTP(&packet))
            var rtcp = TransportPair.receiverReport(ssrc: UInt32(sequence))
            #expect(pair.server.transport.sendRTCP(&rtcp))
            pair.run(for: .milliseconds(10))
        }
        pair.run(for: .milliseconds(200))

        let lost = pair.wire.counters.lost
        #expect(lost > 20, "the link lost datagrams")
        let sequences = pair.server.rtp.map { UInt16($0[2]) << 8 | UInt16($0[3]) }
        #expect(Set(sequences).count == sequences.count && sequences.count > 240 && sequences.count < 300)
        #expect(zip(sequences, sequences.dropFirst()).contains { $1 < $0 }, "some arrived out of order")
        #expect(pair.server.rtp.allSatisfy { $0.count == 12 + 160 && $0[12...].allSatisfy { $0 == 0x33 } },
                "the payload arrives as it was sent")
        #expect(pair.client.rtcp.count > 240 && pair.client.rtcp.count < 300)
        #expect(pair.server.transport.counters.drops.total == 0 && pair.client.transport.counters.drops.total == 0)
    }

    @Test func forgedDatagramsFromThePeersAddressAreCountedDropsAndChangeNothing() throws {
        let pair = try TransportPair()
        try pair.connect()
        let server = pair.server
        let selected = try #require(server.transport.selectedRemoteAddress)
        let stranger = SocketAddress(ip: IPAddress("10.0.0.66")!, port: 9)

        var genuine = TransportPair.rtp(sequence: 1)
        _ = pair.client.transport.sendRTP(&genuine)
        let protected = try #require(pair.client.transport.pollTransmit()).bytes
        var forgedTag = protected
        forgedTag[forgedTag.count - 1] ^= 0xFF
        // A check as the client would send it, but signed with a password that is not the server's (RFC 8445 §7.3).
        var check = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID())
        check.username = "\(server.credentials.ufrag):\(pair.client.credentials.ufrag)"
        check.priority = 0x7E00_00FF
        check.iceControlling = 1
        check.useCandidate = true
        let bindingWithWrongPassword = check.serialize(integrityKey: Array("not-the-password".utf8), addFingerprint: true)
        let forged: [(String, [UInt8], SocketAddress, DatagramDropReason)] = [
            ("SRTP with a forged tag", forgedTag, selected, .srtpAuthentication),
            ("SRTP too short to carry a tag", Array(protected.prefix(14)), selected, .srtpAuthentication),
            ("a datagram of no protocol on the port", [0xFF, 1, 2, 3], selected, .unknownProtocol),
            ("DTLS from an address that is not the selected pair's", [22, 0xFE, 0xFD] + Array(repeating: 0, count: 20),
             stranger, .dtlsWrongAddress),
            ("a Binding request signed with the wrong password", bindingWithWrongPassword, stranger, .stunIntegrity),
        ]
        for (_, bytes, from, _) in forged { pair.wire.inject(bytes, from: from, to: server.address) }
        pair.wire.inject(protected, from: selected, to: server.address)  // the genuine one
        pair.wire.inject(protected, from: selected, to: server.address)  // and its replay
        pair.run(for: .milliseconds(1))

        let drops = server.transport.counters.drops
        for (what, _, _, reason) in forged where reason != .srtpAuthentication {
            #expect(drops[reason] == 1, "\(what) is dropped and counted as \(reason.label)")
        }
        #expect(drops[.srtpAuthentication] + drops[.srtpMalformed] == 2, "both forged SRTP packets are dropped")
        #expect(drops[.srtpReplay] == 1, "the replay is dropped")
        #expect(server.rtp.count == 1, "the genuine packet, once")
        #expect(server.transport.selectedRemoteAddress == selected, "no forged datagram moved the selected pair")

        // Media keeps flowing, and consent keeps being answered.
        var after = TransportPair.rtp(sequence: 2)
        _ = pair.client.transport.sendRTP(&after)
        pair.run(for: .seconds(40))
        #expect(server.rtp.count == 2)
        #expect(server.transport.iceState == .completed || server.transport.iceState == .connected)
        #expect(pair.client.transport.iceState == .completed || pair.client.transport.iceState == .connected)
    }
}

/// One side of a `TransportPair`: its transport, and what it received.
final class TransportEndpoint {
    let address: SocketAddress
    let credentials: ICECredentials
    let context: DTLSContext
    let transport: BundleTransport
    var events: [BundleTransport.Event] = []
    var rtp: [[UInt8]] = []
    var rtcp: [[UInt8]] = []

    init(address: String, role: ICERole, tieBreaker: UInt64) throws {
        self.address = SocketAddress(address)!
        var random = SplitMix64(seed: tieBreaker)
        credentials = ICECredentials.random(using: &random)
        context = try DTLSContext()
        let agent = ICEAgent(role: role, localCredentials: credentials, tieBreaker: tieBreaker, random: random)
        agent.addLocalCandidate(.host(address: self.address))
        transport = BundleTransport(ice: agent, dtlsContext: context)
    }
}

/// A client (controlling, DTLS client) and a server (controlled, DTLS server) on a `VirtualNetwork`.
final class TransportPair {
    var wire = VirtualNetwork(conditions: .init(delay: .milliseconds(10)), seed: 7)
    let client: TransportEndpoint
    let server: TransportEndpoint

    init() throws {
        client = try TransportEndpoint(address: "10.0.0.1:5000", role: .controlling, tieBreaker: 1)
        server = try TransportEndpoint(address: "10.0.0.2:6000", role: .controlled, tieBreaker: 2)
        for (side, peer, role) in [(client, server, DTLSConnection.Role.client), (server, client, .server)] {
            side.transport.ice.setRemoteCredentials(peer.credentials)
            side.transport.ice.addRemoteCandidate(.host(address: peer.address))
            side.transport.ice.setRemoteEndOfCandidates()
            try side.transport.configureDTLS(role: role, remoteFingerprints: [peer.context.certificate.fingerprint])
        }
    }

    /// Runs until both sides have SRTP keys.
    func connect() throws {
        run(for: .seconds(2)) { client.transport.srtp != nil && server.transport.srtp != nil }
        try #require(client.transport.srtp != nil && server.transport.srtp != nil, "ICE and DTLS complete in 2 s")
    }

    /// Moves virtual time event by event: datagrams as they arrive, timers as they fall due.
    func run(for duration: Duration, until condition: () -> Bool = { false }) {
        let end = wire.now + duration
        while true {
            for side in [client, server] {
                while let transmit = side.transport.pollTransmit() {
                    wire.send(transmit.bytes, from: transmit.source, to: transmit.destination)
                }
                while let event = side.transport.pollEvent() { side.events.append(event) }
            }
            if let datagram = wire.nextDue() {
                deliver(datagram)
                continue
            }
            if condition() { return }
            var next = end
            if let arrival = wire.nextArrival { next = min(next, arrival) }
            for side in [client, server] {
                if let deadline = side.transport.nextDeadline { next = min(next, max(deadline, wire.now)) }
            }
            wire.advance(to: next)
            for side in [client, server] where side.transport.nextDeadline.map({ $0 <= wire.now }) ?? false {
                side.transport.handleTimeout(now: wire.now)
            }
            if wire.now >= end && wire.nextArrival.map({ $0 > end }) ?? true {
                // Drain what is due at the end, then stop.
                while let datagram = wire.nextDue() { deliver(datagram) }
                return
            }
        }
    }

    private func deliver(_ datagram: VirtualNetwork.Datagram) {
        guard let side = [client, server].first(where: { $0.address == datagram.to }) else { return }
        var bytes = datagram.bytes
        bytes.withUnsafeMutableBytes { buffer in
            side.transport.handleReceive(buffer, from: datagram.from, localAddress: datagram.to, now: wire.now) { packet in
                switch packet {
                case let .rtp(decrypted): side.rtp.append(Array(decrypted))
                case let .rtcp(decrypted): side.rtcp.append(Array(decrypted))
                }
            }
        }
    }

    /// A 172-byte RTP packet (PT 111, SSRC 0x1234).
    static func rtp(sequence: UInt16) -> [UInt8] {
        [0x80, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0, 0, 0, 0, 0x12, 0x34]
            + Array(repeating: 0x33, count: 160)
    }

    /// An empty receiver report (RFC 3550 §6.4.2) with the given sender SSRC.
    static func receiverReport(ssrc: UInt32) -> [UInt8] {
        [0x80, 201, 0, 1, UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
    }
}
