import Runtime
import Testing
import SkylarkBase
@testable import DTLS

/// An established association and what the client sent to build it.
private struct Association {
    let client: DTLSConnection
    let server: DTLSConnection
    /// Every datagram the client sent during the handshake, in order.
    let clientDatagrams: [[UInt8]]

    init(clientContext: DTLSContext, serverContext: DTLSContext) throws {
        client = try DTLSConnection(context: clientContext, role: .client)
        server = try DTLSConnection(context: serverContext, role: .server)
        client.start(now: .zero)
        var sent: [[UInt8]] = []
        for _ in 0..<50 {
            var moved = false
            while let datagram = client.pollTransmit() { moved = true; sent.append(datagram); server.handleReceive(datagram, now: .zero) }
            while let datagram = server.pollTransmit() { moved = true; client.handleReceive(datagram, now: .zero) }
            if !moved { break }
        }
        clientDatagrams = sent
        while client.pollEvent() != nil {}
        while server.pollEvent() != nil {}
    }

    func deliverAll() {
        for _ in 0..<10 {
            var moved = false
            while let datagram = client.pollTransmit() { moved = true; server.handleReceive(datagram, now: .zero) }
            while let datagram = server.pollTransmit() { moved = true; client.handleReceive(datagram, now: .zero) }
            if !moved { break }
        }
    }

    /// Data still flows both ways and neither side reported anything but that data.
    func dataFlows(_ marker: UInt8) throws -> Bool {
        try client.send([marker, 1])
        try server.send([marker, 2])
        deliverAll()
        return server.pollEvent() == .applicationData([marker, 1]) && client.pollEvent() == .applicationData([marker, 2])
            && server.pollEvent() == nil && client.pollEvent() == nil
            && client.state == .connected && server.state == .connected
    }

    /// The next record the client would send: application data, captured instead of delivered.
    func capturedClientRecord(_ payload: [UInt8]) throws -> [UInt8] {
        try client.send(payload)
        return try #require(client.pollTransmit())
    }
}

private func record(type: UInt8, version: UInt16 = 0xFEFD, epoch: UInt16, sequence: UInt64 = 0,
                    body: [UInt8]) -> [UInt8] {
    var bytes = [type, UInt8(version >> 8), UInt8(version & 0xFF), UInt8(epoch >> 8), UInt8(epoch & 0xFF)]
    for shift in stride(from: 40, through: 0, by: -8) { bytes.append(UInt8((sequence >> UInt64(shift)) & 0xFF)) }
    bytes += [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    return bytes
}

/// RFC 6347 §4.1.2.7: whatever arrives from the peer's address that the peer did not send is discarded and
/// counted, and the association goes on. These cases once ended associations on some OpenSSL 3.0 releases.
@Suite struct DTLSForgedRecordTests {
    static let serverContext = try! DTLSContext()
    static let clientContext = try! DTLSContext()

    static let forgeries: [(name: String, datagram: [UInt8], reason: DTLSDiscardReason)] = {
        var cases: [(String, [UInt8], DTLSDiscardReason)] = [
            ("15-byte epoch-1 application data", [0x17, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 2, 2, 0], .notAuthenticated),
            ("epoch-1 record with a 3-byte body", [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3], .notAuthenticated),
            ("plaintext fatal alert", record(type: 21, epoch: 0, sequence: 9, body: [2, 40]), .unexpectedEpoch),
            ("close_notify without a MAC", record(type: 21, epoch: 1, sequence: 9, body: [1, 0]), .notAuthenticated),
            ("epoch-2 record", record(type: 23, epoch: 2, body: [UInt8](repeating: 7, count: 40)), .unexpectedEpoch),
            ("DTLS 1.0 version after the handshake", record(type: 23, version: 0xFEFF, epoch: 1,
                                                            body: [UInt8](repeating: 7, count: 40)), .unsupportedVersion),
            ("TLS version", record(type: 23, version: 0x0303, epoch: 1, body: [UInt8](repeating: 7, count: 40)),
             .unsupportedVersion),
            ("heartbeat content type", record(type: 24, epoch: 1, body: [UInt8](repeating: 1, count: 40)),
             .unknownContentType),
            ("content type 63", record(type: 63, epoch: 1, body: [1]), .unknownContentType),
            ("header cut short", [23, 0xFE, 0xFD, 0, 1, 0], .truncated),
            ("body cut short", Array(record(type: 23, epoch: 1, body: [UInt8](repeating: 3, count: 100)).prefix(60)),
             .truncated),
            ("oversized length", record(type: 23, epoch: 1, body: [UInt8](repeating: 3, count: 18_500)), .badLength),
        ]
        for length in [1, 23, 24, 25, 40, 200, 1200] {
            var generator = SystemRandomNumberGenerator()
            let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            cases.append(("random \(length)-byte epoch-1 body", record(type: 23, epoch: 1, sequence: 99, body: body),
                          .notAuthenticated))
        }
        return cases
    }()

    @Test(arguments: 0..<forgeries.count)
    func forgedRecordIsDiscardedAndCounted(_ index: Int) throws {
        let forgery = Self.forgeries[index]
        let association = try Association(clientContext: Self.clientContext, serverContext: Self.serverContext)
        #expect(association.server.state == .connected, "\(forgery.name)")
        for _ in 0..<3 {
            association.server.handleReceive(forgery.datagram, now: .zero)
            association.client.handleReceive(forgery.datagram, now: .zero)
        }
        #expect(association.server.discardedRecords[forgery.reason] == 3, "\(forgery.name)")
        #expect(association.client.discardedRecords[forgery.reason] == 3, "\(forgery.name)")
        #expect(association.server.discardedRecords.total == 3, "\(forgery.name)")
        #expect(association.server.pollTransmit() == nil && association.client.pollTransmit() == nil,
                "\(forgery.name): a discarded record is not answered")
        #expect(try association.dataFlows(1), "\(forgery.name)")
    }

    @Test func aTamperedCopyOfARealRecordIsNotAuthenticated() throws {
        let association = try Association(clientContext: Self.clientContext, serverContext: Self.serverContext)
        let real = try association.capturedClientRecord([9, 9, 9])
        for position in [3, 10, 12 + 1, 13 + 8, real.count - 1] where position < real.count {
            var tampered = real
            tampered[position] ^= 0x01
            association.server.handleReceive(tampered, now: .zero)
        }
        #expect(association.server.discardedRecords.total == 5)
        #expect(association.server.pollEvent() == nil)
        association.server.handleReceive(real, now: .zero)
        #expect(association.server.pollEvent() == .applicationData([9, 9, 9]))
        // The same record again is a replay: OpenSSL drops it without a second delivery.
        association.server.handleReceive(real, now: .zero)
        #expect(association.server.pollEvent() == nil)
        #expect(try association.dataFlows(2))
    }

    @Test func aForgedRecordDoesNotHideTheRealOneBehindIt() throws {
        let association = try Association(clientContext: Self.clientContext, serverContext: Self.serverContext)
        let real = try association.capturedClientRecord([5])
        let forged = record(type: 23, epoch: 1, sequence: 500, body: [UInt8](repeating: 0xAA, count: 30))
        association.server.handleReceive(forged + real, now: .zero)
        #expect(association.server.discardedRecords[.notAuthenticated] == 1)
        #expect(association.server.pollEvent() == .applicationData([5]))
    }

    @Test func clientHellosOnAnEstablishedAssociationAreDiscarded() throws {
        let association = try Association(clientContext: Self.clientContext, serverContext: Self.serverContext)
        let stranger = try DTLSConnection(context: try DTLSContext(), role: .client)
        stranger.start(now: .zero)
        let strangerHello = try #require(stranger.pollTransmit())
        let originalHello = try #require(association.clientDatagrams.first)
        association.server.handleReceive(strangerHello, now: .zero)
        association.server.handleReceive(originalHello, now: .zero)
        #expect(association.server.discardedRecords[.unexpectedEpoch] == 2)
        #expect(association.server.pollTransmit() == nil)
        #expect(try association.dataFlows(3))
    }

    @Test func aReplayedFinalFlightChangesNothing() throws {
        let association = try Association(clientContext: Self.clientContext, serverContext: Self.serverContext)
        for datagram in association.clientDatagrams.suffix(2) { association.server.handleReceive(datagram, now: .zero) }
        association.deliverAll()
        #expect(association.server.discardedRecords[.unexpectedEpoch] > 0, "the flight's epoch-0 records")
        #expect(try association.dataFlows(4))
    }

    /// The server's final flight is lost: the client retransmits its own, which reaches an already established
    /// server, and the server must answer it so the client can finish (RFC 6347 §4.2.4).
    @Test func aRetransmittedFinalFlightIsAnsweredAfterTheServerConnected() async throws {
        let client = try DTLSConnection(context: Self.clientContext, role: .client, initialRetransmitMilliseconds: 20)
        let server = try DTLSConnection(context: Self.serverContext, role: .server)
        client.start(now: Instant.now())
        for _ in 0..<50 {
            var moved = false
            while let datagram = client.pollTransmit() { moved = true; server.handleReceive(datagram, now: Instant.now()) }
            if server.state == .connected { while server.pollTransmit() != nil {} ; break }  // lost
            while let datagram = server.pollTransmit() { moved = true; client.handleReceive(datagram, now: Instant.now()) }
            if !moved { break }
        }
        #expect(server.state == .connected && client.state == .connecting)
        try await Task.sleep(for: .milliseconds(60))
        client.handleTimeout(now: Instant.now())
        var retransmitted = 0
        while let datagram = client.pollTransmit() { retransmitted += 1; server.handleReceive(datagram, now: Instant.now()) }
        #expect(retransmitted > 0)
        while let datagram = server.pollTransmit() { client.handleReceive(datagram, now: Instant.now()) }
        #expect(client.state == .connected && server.state == .connected)
        while server.pollEvent() != nil {}
        try client.send([1])
        while let datagram = client.pollTransmit() { server.handleReceive(datagram, now: Instant.now()) }
        #expect(server.pollEvent() == .applicationData([1]))
    }

    @Test func onlyAnAuthenticatedCloseNotifyEndsTheAssociation() throws {
        let association = try Association(clientContext: Self.clientContext, serverContext: Self.serverContext)
        for forgery in Self.forgeries { association.server.handleReceive(forgery.datagram, now: .zero) }
        #expect(association.server.state == .connected)
        association.client.close()
        association.deliverAll()
        #expect(association.server.state == .closed)
        #expect(association.server.pollEvent() == .closed)
    }

    /// Every AEAD suite the context offers derives the right record key: real records pass, forged ones do not.
    @Test(arguments: ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"])
    func recordsAreAuthenticatedWithEverySuite(_ suite: String) throws {
        let pinned = try DTLSContext(certificate: DTLSCertificate(), srtpProfiles: DTLSSRTPProfile.supported,
                                     cipherSuites: suite)
        let association = try Association(clientContext: pinned, serverContext: Self.serverContext)
        #expect(association.server.state == .connected)
        let expected = ["ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                        "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                        "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"][suite]
        #expect(association.server.cipherSuite == expected)
        #expect(association.client.cipherSuite == expected)
        for size in [0, 1, 100, 1100] {
            let payload = [UInt8](repeating: 0x42, count: size)
            try association.client.send(payload.isEmpty ? [0] : payload)
            try association.server.send(payload.isEmpty ? [0] : payload)
        }
        association.deliverAll()
        var serverGot = 0, clientGot = 0
        while case .applicationData = association.server.pollEvent() { serverGot += 1 }
        while case .applicationData = association.client.pollEvent() { clientGot += 1 }
        #expect(serverGot == 4 && clientGot == 4)
        #expect(association.server.discardedRecords.total == 0 && association.client.discardedRecords.total == 0)
        association.server.handleReceive(record(type: 23, epoch: 1, sequence: 77,
                                                body: [UInt8](repeating: 1, count: 48)), now: .zero)
        #expect(association.server.discardedRecords[.notAuthenticated] == 1)
        #expect(try association.dataFlows(5))
    }
}
