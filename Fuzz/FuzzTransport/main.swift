// libFuzzer target: a connected server transport (ICE-lite, DTLS, SRTP on one 5-tuple) fed arbitrary datagrams
// from its peer's own address after a real handshake. Whatever the peer did not send must change nothing
// (RFC 6347 §4.1.2.7, RFC 3711 §3.3): after every input the association is still up and genuine media still
// decrypts, or the target stops with the reason.
import FuzzDriver
import DTLS
import ICE
import RTP
import SkylarkBase
import Transport

enum Addresses {
    static let server = SocketAddress(ip: .loopbackV4, port: 8189)
    static let client = SocketAddress(ip: .loopbackV4, port: 50_000)
}

/// The two ends of a connected pair, made once per process.
final class Pair {
    let server: BundleTransport
    let client: BundleTransport
    var now = Instant.zero
    var sequence: UInt16 = 1
    var inputs = 0

    init() throws {
        let serverContext = try DTLSContext()
        let clientContext = try DTLSContext()
        let serverCredentials = ICECredentials(ufrag: "srv1", password: "server-password-for-fuzzing")
        let clientCredentials = ICECredentials(ufrag: "cli1", password: "client-password-for-fuzzing")
        let serverICE = ICEAgent(role: .controlled, isLite: true, localCredentials: serverCredentials)
        serverICE.setRemoteCredentials(clientCredentials)
        serverICE.addLocalCandidate(.host(address: Addresses.server))
        let clientICE = ICEAgent(role: .controlling, localCredentials: clientCredentials)
        clientICE.setRemoteCredentials(serverCredentials)
        clientICE.addLocalCandidate(.host(address: Addresses.client))
        clientICE.addRemoteCandidate(.host(address: Addresses.server))
        server = BundleTransport(ice: serverICE, dtlsContext: serverContext)
        client = BundleTransport(ice: clientICE, dtlsContext: clientContext)
        try server.configureDTLS(role: .server, remoteFingerprints: [clientContext.certificate.fingerprint])
        try client.configureDTLS(role: .client, remoteFingerprints: [serverContext.certificate.fingerprint])
        for _ in 0..<2_000 where !(server.srtp != nil && client.srtp != nil) {
            now = now + .milliseconds(5)
            client.handleTimeout(now: now)
            server.handleTimeout(now: now)
            exchange()
        }
        guard server.srtp != nil, client.srtp != nil else { fatalError("the in-memory handshake did not complete") }
        while server.pollEvent() != nil {}
        while client.pollEvent() != nil {}
    }

    /// Delivers everything queued, both ways, until nothing moves.
    func exchange() {
        for _ in 0..<20 {
            var moved = false
            while let transmit = client.pollTransmit() { moved = true; deliver(transmit.bytes, to: server, from: Addresses.client, at: Addresses.server) }
            while let transmit = server.pollTransmit() { moved = true; deliver(transmit.bytes, to: client, from: Addresses.server, at: Addresses.client) }
            if !moved { return }
        }
    }

    @discardableResult
    func deliver(_ bytes: [UInt8], to transport: BundleTransport, from: SocketAddress, at: SocketAddress) -> Int {
        var media = 0
        var copy = bytes
        copy.withUnsafeMutableBytes { buffer in
            transport.handleReceive(buffer, from: from, localAddress: at, now: now) { _ in media += 1 }
        }
        return media
    }

    /// A genuine RTP packet from the client, protected by its SRTP session.
    func clientRTP(payload: [UInt8] = [0xF8, 0xFF, 0xFE]) -> [UInt8] {
        sequence &+= 1
        var packet = RTPPacketBuilder(payloadType: 111, sequenceNumber: sequence, timestamp: UInt32(sequence) &* 960,
                                      ssrc: 0x1234_5678).serialize(payload: payload)
        guard client.sendRTP(&packet), let transmit = client.pollTransmit() else { fatalError("the client cannot send") }
        return transmit.bytes
    }

    /// A genuine compound RTCP packet (a receiver report) from the client.
    func clientRTCP() -> [UInt8] {
        var packet = RTCPPacket.serializeCompound([.receiverReport(ReceiverReport(ssrc: 0x1234_5678, reports: []))])
        guard client.sendRTCP(&packet), let transmit = client.pollTransmit() else { fatalError("the client cannot send RTCP") }
        return transmit.bytes
    }

    /// A genuine DTLS application-data record from the client.
    func clientRecord(_ payload: [UInt8]) -> [UInt8] {
        guard let dtls = client.dtls, (try? dtls.send(payload)) != nil, let record = dtls.pollTransmit() else {
            fatalError("the client cannot send DTLS application data")
        }
        return record
    }

    func check(_ moment: String) {
        guard server.dtls?.state == .connected, server.srtp != nil, server.selectedRemoteAddress == Addresses.client else {
            fatalError("\(moment): the server's association ended (DTLS \(String(describing: server.dtls?.state)))")
        }
        while let event = server.pollEvent() {
            switch event {
            case .dtlsStateChanged, .dtlsFailed, .iceStateChanged, .selectedPairChanged:
                fatalError("\(moment): a forged datagram changed the server's state: \(event)")
            default: break
            }
        }
    }
}

enum Fixture {
    /// Made on the first input and kept for the whole run, as a server keeps a session.
    nonisolated(unsafe) static var pair: Pair?
}

/// XORs `mask` over `bytes` from `offset`, so a genuine packet becomes a near-miss forgery.
private func mutate(_ bytes: [UInt8], with mask: UnsafeRawBufferPointer) -> [UInt8] {
    var out = bytes
    for (index, byte) in mask.enumerated() where index < out.count { out[index] ^= byte }
    if mask.count > out.count { out += mask[out.count...] }
    return out
}

func fuzzTransport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if Fixture.pair == nil {
        do { Fixture.pair = try Pair() } catch { fatalError("cannot set up the DTLS pair: \(error)") }
    }
    guard let pair = Fixture.pair, size > 0 else { return 0 }
    let bytes = input(data, size)
    let rest = UnsafeRawBufferPointer(rebasing: bytes[1...])
    let datagram: [UInt8]
    // The first byte picks what the rest does to the server: arrive as it is, or spoil a genuine packet.
    switch bytes[0] % 4 {
    case 0: datagram = Array(rest)
    case 1: datagram = mutate(pair.clientRTP(), with: rest)
    case 2: datagram = mutate(pair.clientRTCP(), with: rest)
    default: datagram = mutate(pair.clientRecord([0x13, 0x88, 0x13, 0x88]), with: rest)
    }
    pair.deliver(datagram, to: pair.server, from: Addresses.client, at: Addresses.server)
    while pair.server.pollTransmit() != nil {}
    pair.check("after \(datagram.count) bytes")
    pair.inputs += 1
    if pair.inputs % 256 == 0 {
        // Genuine media still decrypts: the replay window and rollover counter were not moved by forgeries.
        guard pair.deliver(pair.clientRTP(), to: pair.server, from: Addresses.client, at: Addresses.server) == 1 else {
            fatalError("genuine RTP was refused after forged input")
        }
        pair.check("after genuine RTP")
    }
    return 0
}

runFuzzer { data, size in fuzzTransport(data, size) }
