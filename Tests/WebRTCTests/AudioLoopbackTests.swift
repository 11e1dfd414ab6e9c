import DTLS
import Opus
import STUN
import Synchronization
import Testing
import SkylarkBase
import SkylarkTestSupport
@testable import WebRTC
import Transport

/// Offer/answer between two connections in one process.
func negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) async throws {
    let offer = try await offerer.createOffer()
    try await offerer.setLocalDescription(offer)
    try await answerer.setRemoteDescription(#require(offerer.localDescription))
    let answer = try await answerer.createAnswer()
    try await answerer.setLocalDescription(answer)
    try await offerer.setRemoteDescription(#require(answerer.localDescription))
}

@Suite(.serialized) struct AudioLoopbackTests {
    /// Two peers on 127.0.0.1 over real UDP; each sends a tone, each hears the other's.
    @Test(arguments: [true, false])
    func toneCrossesRealUDP(firstPeerOffers: Bool) async throws {
        let configuration = RTCConfiguration(bindAddresses: [.loopbackV4])
        let alice = try RTCPeerConnection(configuration: configuration)
        let bob = try RTCPeerConnection(configuration: configuration)
        defer { alice.close(); bob.close() }
        let aliceTone = try getUserMedia(constraints: MediaStreamConstraints(toneFrequency: 440))
        let bobTone = try getUserMedia(constraints: MediaStreamConstraints(toneFrequency: 660))
        try alice.addTrack(aliceTone.getAudioTracks()[0], aliceTone)
        try bob.addTrack(bobTone.getAudioTracks()[0], bobTone)
        let aliceHeard = Mutex<HeardAudio?>(nil), bobHeard = Mutex<HeardAudio?>(nil)
        alice.onTrack = { event in aliceHeard.withLock { $0 = HeardAudio(track: event.track) } }
        bob.onTrack = { event in bobHeard.withLock { $0 = HeardAudio(track: event.track) } }
        if firstPeerOffers {
            try await negotiate(offerer: alice, answerer: bob)
        } else {
            try await negotiate(offerer: bob, answerer: alice)
        }
        for _ in 0..<300 where alice.connectionState != .connected || bob.connectionState != .connected {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(alice.connectionState == .connected && bob.connectionState == .connected)
        try await Task.sleep(for: .milliseconds(1_500))
        let aliceFrequency = try #require(aliceHeard.withLock { $0 }).frequency
        let bobFrequency = try #require(bobHeard.withLock { $0 }).frequency
        #expect(abs(bobFrequency - 440) < 5, "bob heard \(bobFrequency) Hz")
        #expect(abs(aliceFrequency - 660) < 5, "alice heard \(aliceFrequency) Hz")
        #expect(bob.getReceivers()[0].packetsReceived > 40)
        #expect(AudioAnalysis.audioLevel(bobHeard.withLock { $0 }!.all.suffix(9_600).map { $0 }) > 0.05)
        aliceTone.getTracks().forEach { $0.stop() }
        bobTone.getTracks().forEach { $0.stop() }
    }

    /// The same in memory on a simulated clock, with loss and reordering.
    @Test func toneCrossesALossyReorderingSimulatedNetwork() async throws {
        let network = SimulatedNetwork(conditions: .init(loss: 0, delay: .milliseconds(20), jitter: .milliseconds(15)), seed: 7)
        let configuration = RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 1)], network: network)
        let alice = try RTCPeerConnection(configuration: configuration)
        let bob = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 2)], network: network))
        defer { alice.close(); bob.close() }
        let source = RTCAudioSource()
        try alice.addTrack(source.createTrack())
        let heard = Mutex<HeardAudio?>(nil)
        bob.onTrack = { event in heard.withLock { $0 = HeardAudio(track: event.track) } }
        try await negotiate(offerer: alice, answerer: bob)
        // Connect on a clean network, then make it lossy (OpenSSL's DTLS timers run on the wall clock).
        network.run(for: .seconds(2))
        #expect(alice.connectionState == .connected && bob.connectionState == .connected)
        network.conditions.loss = 0.05
        var tone = ToneGenerator(frequency: 523.25, amplitude: 0.3, sampleRate: 48_000, channels: 1)
        var nextFrame = network.now()
        network.run(for: .seconds(3)) { now in
            while nextFrame <= now {
                source.onData(RTCOnDataEvent(samples: tone.nextFrame(), sampleRate: 48_000, channelCount: 1))
                nextFrame += .milliseconds(10)
                // Senders hand frames to the connection's queue asynchronously: let them go out at this instant.
                alice.queue.sync {}
            }
        }
        let received = bob.getReceivers()[0].packetsReceived
        // 150 packets sent in 3 s, 5 % lost.
        #expect(received > 120 && received < 150, "received \(received)")
        let frequency = try #require(heard.withLock { $0 }).frequency
        #expect(abs(frequency - 523.25) < 5, "heard \(frequency) Hz")
    }
}

@Suite struct HostileInputTests {
    /// Garbage, truncated packets and a replayed SRTP packet are counted and dropped; audio keeps flowing.
    @Test func badDatagramsAreCountedAndTheConnectionKeepsWorking() async throws {
        let network = SimulatedNetwork(seed: 3)
        let alice = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 1)], network: network))
        let bob = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 2)], network: network))
        defer { alice.close(); bob.close() }
        let source = RTCAudioSource()
        try alice.addTrack(source.createTrack())
        let captured = Mutex<[([UInt8], SocketAddress, SocketAddress)]>([])
        network.onSend = { bytes, from, to in
            if let first = bytes.first, first >= 128, first <= 191 { captured.withLock { $0.append((bytes, from, to)) } }
        }
        try await negotiate(offerer: alice, answerer: bob)
        network.run(for: .seconds(2))
        #expect(bob.connectionState == .connected)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.3, sampleRate: 48_000, channels: 1)
        func feed(_ seconds: Int) {
            var next = network.now()
            network.run(for: .seconds(Int64(seconds))) { now in
                while next <= now {
                    source.onData(RTCOnDataEvent(samples: tone.nextFrame(), sampleRate: 48_000, channelCount: 1))
                    next += .milliseconds(10)
                    alice.queue.sync {}
                }
            }
        }
        feed(1)
        let before = bob.getReceivers()[0].packetsReceived
        let droppedBefore = bob.transportCounters.drops
        let (packet, from, to) = try #require(captured.withLock { $0.first { $0.0.count > 20 } })
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 2, 12, 20, 100, 1_500] {
            let garbage = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            network.inject(garbage, from: from, to: to)
        }
        network.inject([0x00, 0x01, 0x00, 0x50, 0x21, 0x12, 0xA4, 0x42], from: from, to: to)  // truncated STUN
        network.inject(Array(packet.prefix(15)), from: from, to: to)  // truncated SRTP
        network.inject(packet, from: from, to: to)  // replayed SRTP
        feed(1)
        let counters = bob.transportCounters
        #expect(counters.drops[.srtpReplay] == droppedBefore[.srtpReplay] + 1, "\(counters)")
        #expect(counters.drops[.srtpMalformed] + counters.drops[.srtpAuthentication]
                    > droppedBefore[.srtpMalformed] + droppedBefore[.srtpAuthentication], "\(counters)")
        #expect(counters.drops[.stunUnexpected] > droppedBefore[.stunUnexpected], "\(counters)")
        #expect(bob.getReceivers()[0].packetsReceived >= before + 45)
        #expect(bob.connectionState == .connected)
    }

    /// Datagrams forged from the sender's own address — SRTP and SRTCP with its SSRC and indices far ahead,
    /// DTLS records, ClientHellos, STUN checks with a bad MESSAGE-INTEGRITY or FINGERPRINT, also from a new
    /// address — are dropped and counted by reason, and change nothing: the selected pair stays, the SRTP
    /// rollover counter and replay window stay (the real packets after them still decrypt), DTLS stays up.
    @Test func forgedDatagramsFromThePeersAddressChangeNothing() async throws {
        let network = SimulatedNetwork(seed: 5)
        let alice = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 1)], network: network))
        let bob = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 2)], network: network))
        defer { alice.close(); bob.close() }
        let source = RTCAudioSource()
        try alice.addTrack(source.createTrack())
        let captured = Mutex<[([UInt8], SocketAddress, SocketAddress)]>([])
        network.onSend = { bytes, from, to in
            if let first = bytes.first, first >= 128, first <= 191 { captured.withLock { $0.append((bytes, from, to)) } }
        }
        try await negotiate(offerer: alice, answerer: bob)
        network.run(for: .seconds(2))
        #expect(bob.connectionState == .connected)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.3, sampleRate: 48_000, channels: 1)
        func feed(_ seconds: Int) {
            var next = network.now()
            network.run(for: .seconds(Int64(seconds))) { now in
                while next <= now {
                    source.onData(RTCOnDataEvent(samples: tone.nextFrame(), sampleRate: 48_000, channelCount: 1))
                    next += .milliseconds(10)
                    alice.queue.sync {}
                }
            }
        }
        feed(1)
        let (rtp, from, to) = try #require(captured.withLock { $0.last { !(64...95).contains($0.0[1] & 0x7F) } })
        let pairBefore = bob.onQueue { bob.transport?.selectedRemoteAddress }
        #expect(pairBefore == from)
        let droppedBefore = bob.transportCounters.drops
        let receivedBefore = bob.getReceivers()[0].packetsReceived
        let credentials = try #require(bob.onQueue { bob.transport?.ice.localCredentials })
        let aliceUfrag = try #require(alice.onQueue { alice.transport?.ice.localCredentials.ufrag })

        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        var forged: [[UInt8]] = []
        // SRTP with the real SSRC, sequence numbers ahead by 1 to 32 767 (a forged index past the window would
        // move the rollover counter if it were accepted), garbage tags.
        for ahead in [1, 2, 100, 20_000, 32_767] {
            var packet = rtp
            let sequence = (UInt16(packet[2]) << 8 | UInt16(packet[3])) &+ UInt16(ahead)
            packet[2] = UInt8(sequence >> 8)
            packet[3] = UInt8(sequence & 0xFF)
            for index in (packet.count - 10)..<packet.count { packet[index] = UInt8.random(in: 0...255, using: &generator) }
            forged.append(packet)
        }
        // SRTCP sender report with the sender's SSRC and a garbage tag and index. The E flag is set where each
        // profile reads it: before a 10- or 4-byte tag (RFC 3711 §3.4), or last (AEAD, RFC 7714 §9): without it the
        // packet is refused as malformed before authentication, which is also a drop, but not the one counted here.
        var trailer = random(16)
        trailer[2] |= 0x80
        trailer[8] |= 0x80
        trailer[12] |= 0x80
        forged.append([0x80, 200, 0, 6] + Array(rtp[8..<12]) + random(20) + [0x80, 0, 0, 9] + trailer)
        // DTLS: the 15-byte epoch-1 record, a plaintext fatal alert, random epoch-1 records, a ClientHello.
        forged.append([0x17, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 2, 2, 0])
        forged.append([0x15, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40])
        forged.append([0x17, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 1, 0, 0, 48] + random(48))
        let stranger = try DTLSConnection(context: DTLSContext(), role: .client)
        stranger.start(now: .zero)
        forged.append(try #require(stranger.pollTransmit()))
        // STUN checks: a wrong password, and a broken FINGERPRINT.
        func check(key: String) -> [UInt8] {
            var message = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID())
            message.username = "\(credentials.ufrag):\(aliceUfrag)"
            message.priority = 0x7E00_00FF
            message.iceControlling = 1
            message.useCandidate = true
            return message.serialize(integrityKey: Array(key.utf8), addFingerprint: true)
        }
        forged.append(check(key: "not-the-password-of-this-session"))
        var badFingerprint = check(key: credentials.password)
        badFingerprint[badFingerprint.count - 1] ^= 0xFF
        forged.append(badFingerprint)
        for _ in 0..<20 {
            for datagram in forged { network.inject(datagram, from: from, to: to) }
        }
        // The same checks from an address the session has never seen must not move the pair either.
        let newAddress = SocketAddress("10.0.0.9:40000")!
        network.inject(check(key: "not-the-password-of-this-session"), from: newAddress, to: to)
        network.inject(badFingerprint, from: newAddress, to: to)
        feed(1)

        let drops = bob.transportCounters.drops
        func added(_ reason: DatagramDropReason) -> UInt64 { drops[reason] - droppedBefore[reason] }
        #expect(added(.srtpAuthentication) == 20 * 6, "\(drops)")
        #expect(added(.dtlsNotAuthenticated) == 20 * 2, "\(drops)")
        #expect(added(.dtlsUnexpectedEpoch) == 20 * 2, "\(drops)")
        #expect(added(.stunIntegrity) == 20 + 1, "\(drops)")
        #expect(added(.stunFingerprint) == 20 + 1, "\(drops)")
        #expect(bob.onQueue { bob.transport?.selectedRemoteAddress } == pairBefore)
        #expect(bob.connectionState == .connected && alice.connectionState == .connected)
        // 50 real packets followed the forged ones: all decrypted, so the SRTP state did not move.
        #expect(bob.getReceivers()[0].packetsReceived >= receivedBefore + 48)
        #expect(drops[.srtpReplay] == droppedBefore[.srtpReplay])
    }
}
