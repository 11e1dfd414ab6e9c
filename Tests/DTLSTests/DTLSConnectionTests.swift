import Runtime
import Testing
import SkylarkBase
@testable import DTLS

/// Runs two DTLS connections against each other in memory until neither has anything to send.
private func pump(_ a: DTLSConnection, _ b: DTLSConnection, now: Instant, drop: (Int) -> Bool = { _ in false },
                  rounds: Int = 50) {
    var sent = 0
    for _ in 0..<rounds {
        var moved = false
        while let datagram = a.pollTransmit() {
            moved = true
            sent += 1
            if !drop(sent) { b.handleReceive(datagram, now: now) }
        }
        while let datagram = b.pollTransmit() {
            moved = true
            sent += 1
            if !drop(sent) { a.handleReceive(datagram, now: now) }
        }
        if !moved { break }
    }
}

private func connectedExport(_ connection: DTLSConnection) -> DTLSConnection.SRTPKeyExport? {
    while let event = connection.pollEvent() {
        if case let .connected(export) = event { return export }
    }
    return nil
}

@Suite struct DTLSConnectionTests {
    static let serverContext = try! DTLSContext()
    static let clientContext = try! DTLSContext()

    @Test func certificateIsP256WithSHA256Fingerprint() throws {
        let certificate = try DTLSCertificate()
        #expect(certificate.fingerprint.algorithm == "sha-256")
        #expect(certificate.fingerprint.bytes.count == 32)
        #expect(certificate.fingerprint.sdpValue.hasPrefix("sha-256 ") && certificate.fingerprint.sdpValue.count == 8 + 95)
        #expect(try DTLSCertificate().fingerprint != certificate.fingerprint)
    }

    @Test func handshakeExportsTheSameKeysOnBothSides() throws {
        let client = try DTLSConnection(context: Self.clientContext, role: .client,
                                        remoteFingerprints: [Self.serverContext.certificate.fingerprint])
        let server = try DTLSConnection(context: Self.serverContext, role: .server,
                                        remoteFingerprints: [Self.clientContext.certificate.fingerprint])
        client.start(now: .zero)
        server.start(now: .zero)
        pump(client, server, now: .zero)
        #expect(client.state == .connected)
        #expect(server.state == .connected)
        let clientKeys = try #require(connectedExport(client))
        let serverKeys = try #require(connectedExport(server))
        #expect(clientKeys.profile == .aeadAes128Gcm)
        #expect(clientKeys.keyingMaterial == serverKeys.keyingMaterial)
        #expect(clientKeys.keyingMaterial.count == 56)
        #expect(clientKeys.isClient && !serverKeys.isClient)
        #expect(server.remoteCertificateFingerprint == Self.clientContext.certificate.fingerprint)
    }

    @Test func negotiatesAESCMWhenThatIsAllThePeerOffers() throws {
        let onlyCM = try DTLSContext(certificate: DTLSCertificate(), srtpProfiles: [.aes128CmSha1_80])
        let client = try DTLSConnection(context: onlyCM, role: .client)
        let server = try DTLSConnection(context: Self.serverContext, role: .server)
        client.start(now: .zero)
        pump(client, server, now: .zero)
        let keys = try #require(connectedExport(server))
        #expect(keys.profile == .aes128CmSha1_80)
        #expect(keys.keyingMaterial.count == 60)
    }

    @Test func wrongFingerprintFailsTheHandshake() throws {
        let wrong = CertificateFingerprint(algorithm: "sha-256", bytes: [UInt8](repeating: 0xAB, count: 32))
        let client = try DTLSConnection(context: Self.clientContext, role: .client, remoteFingerprints: [wrong])
        let server = try DTLSConnection(context: Self.serverContext, role: .server)
        client.start(now: .zero)
        pump(client, server, now: .zero)
        #expect(client.state == .failed)
        var failure: DTLSError?
        while let event = client.pollEvent() { if case let .failed(error) = event { failure = error } }
        guard case .fingerprintMismatch? = failure else {
            Issue.record("expected a fingerprint mismatch, got \(String(describing: failure))")
            return
        }
    }

    @Test func fragmentedClientHelloIsReassembled() throws {
        // A tiny MTU forces OpenSSL to fragment every handshake message, as Chrome does with its ClientHello.
        let client = try DTLSConnection(context: Self.clientContext, role: .client, mtu: 256)
        let server = try DTLSConnection(context: Self.serverContext, role: .server)
        client.start(now: .zero)
        var first: [[UInt8]] = []
        while let datagram = client.pollTransmit() { first.append(datagram) }
        #expect(first.allSatisfy { $0.count <= 256 })
        for datagram in first { server.handleReceive(datagram, now: .zero) }
        pump(client, server, now: .zero)
        #expect(server.state == .connected && client.state == .connected)
    }

    @Test func lostFlightIsRetransmittedAfterTheTimer() async throws {
        let client = try DTLSConnection(context: Self.clientContext, role: .client, initialRetransmitMilliseconds: 20)
        let server = try DTLSConnection(context: Self.serverContext, role: .server)
        let start = Instant.now()
        client.start(now: start)
        while client.pollTransmit() != nil {}  // the ClientHello is lost
        let deadline = try #require(client.nextDeadline)
        #expect(deadline > start)
        // OpenSSL's timer runs on the wall clock: wait it out.
        try await Task.sleep(for: .milliseconds(40))
        client.handleTimeout(now: Instant.now())
        pump(client, server, now: Instant.now())
        #expect(client.state == .connected && server.state == .connected)
    }

    @Test func applicationDataFlowsBothWays() throws {
        let client = try DTLSConnection(context: Self.clientContext, role: .client)
        let server = try DTLSConnection(context: Self.serverContext, role: .server)
        client.start(now: .zero)
        pump(client, server, now: .zero)
        _ = connectedExport(server)
        try client.send([1, 2, 3])
        pump(client, server, now: .zero)
        #expect(server.pollEvent() == .applicationData([1, 2, 3]))
        client.close()
        pump(client, server, now: .zero)
        #expect(server.state == .closed)
    }

    /// A connected endpoint hands its record buffers back between records; everything after the handshake must
    /// still work: a retransmitted final flight, garbage, data both ways and close_notify from either side.
    @Test func connectedEndpointsWorkAfterReleasingTheirBuffers() throws {
        for closer in ["client", "server"] {
            let client = try DTLSConnection(context: Self.clientContext, role: .client)
            let server = try DTLSConnection(context: Self.serverContext, role: .server)
            client.start(now: .zero)
            var clientFlights: [[UInt8]] = []
            for _ in 0..<50 {
                var moved = false
                while let datagram = client.pollTransmit() { moved = true; clientFlights.append(datagram); server.handleReceive(datagram, now: .zero) }
                while let datagram = server.pollTransmit() { moved = true; client.handleReceive(datagram, now: .zero) }
                if !moved { break }
            }
            #expect(client.state == .connected && server.state == .connected)
            _ = connectedExport(client)
            _ = connectedExport(server)
            // The client's final flight again, as if the server's answer to it was lost, then garbage.
            for datagram in clientFlights.suffix(1) { server.handleReceive(datagram, now: .zero) }
            server.handleReceive([23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3], now: .zero)
            while let datagram = server.pollTransmit() { client.handleReceive(datagram, now: .zero) }
            #expect(server.state == .connected && client.state == .connected)
            try server.send([4, 5, 6])
            pump(client, server, now: .zero)
            #expect(client.pollEvent() == .applicationData([4, 5, 6]))
            try client.send([7])
            pump(client, server, now: .zero)
            #expect(server.pollEvent() == .applicationData([7]))
            if closer == "client" {
                client.close()
                pump(client, server, now: .zero)
                #expect(server.state == .closed)
                #expect(server.pollEvent() == .closed)
            } else {
                server.close()
                pump(client, server, now: .zero)
                #expect(client.state == .closed)
                #expect(client.pollEvent() == .closed)
            }
        }
    }

    @Test func garbageNeverTraps() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let server = try DTLSConnection(context: Self.serverContext, role: .server)
            for _ in 0..<5 {
                let count = Int.random(in: 0...300, using: &generator)
                var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if !bytes.isEmpty { bytes[0] = UInt8.random(in: 20...63, using: &generator) }
                server.handleReceive(bytes, now: .zero)
                while server.pollTransmit() != nil {}
            }
            #expect(server.state != .connected)
        }
    }
}
