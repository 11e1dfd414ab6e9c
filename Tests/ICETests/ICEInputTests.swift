import SkylarkBase
import STUN
import Testing

@testable import ICE

@Suite struct ICEInputTests {
    static let local = SocketAddress("10.0.0.2:6000")!
    static let remote = SocketAddress("10.0.0.1:5000")!
    static let credentials = ICECredentials(ufrag: "srvU", password: "server-password-abcdefgh")

    static func request(username: String = "srvU:cliU", key: String = "server-password-abcdefgh") -> [UInt8] {
        var message = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID())
        message.username = username
        message.priority = 1_845_501_695
        message.iceControlling = 42
        message.useCandidate = true
        return message.serialize(integrityKey: Array(key.utf8), addFingerprint: true)
    }

    @Test func usernameFragmentsOfRequests() {
        let fragments = Self.request(username: "ours:theirs").withUnsafeBytes { ICEAgent.usernameFragments(ofRequest: $0) }
        #expect(fragments?.local == "ours" && fragments?.remote == "theirs")
        // Works without knowing the key, so a shared-port server can route before authenticating.
        let other = Self.request(username: "a:b:c", key: "unknown").withUnsafeBytes { ICEAgent.usernameFragments(ofRequest: $0) }
        #expect(other?.local == "a" && other?.remote == "b:c")
        for bytes: [UInt8] in [
            [], [0, 1, 2], Array(repeating: 0, count: 20), Vectors.garbage,
            Array(Self.request().prefix(40)),
            STUNMessage(messageClass: .successResponse, transactionID: Array(0..<12)).serialize(),
            { var m = STUNMessage(messageClass: .request, transactionID: Array(0..<12)); m.username = "nocolon"; return m.serialize() }(),
        ] {
            #expect(bytes.withUnsafeBytes { ICEAgent.usernameFragments(ofRequest: $0) } == nil)
        }
    }

    @Test func garbageAndTruncatedDatagramsReturnFalse() {
        for isLite in [false, true] {
            let agent = ICEAgent(role: .controlled, isLite: isLite, localCredentials: Self.credentials)
            agent.addLocalCandidate(.host(address: Self.local))
            let valid = Self.request()
            var inputs: [[UInt8]] = [[], [0x16, 0xFE, 0xFD], Vectors.garbage, Array(repeating: 0, count: 20)]
            for length in 0..<valid.count { inputs.append(Array(valid.prefix(length))) }
            // DTLS and RTP first bytes (RFC 7983) are never taken for STUN.
            inputs.append([0x16] + valid.dropFirst())
            inputs.append([0x80] + valid.dropFirst())
            for input in inputs {
                let accepted = input.withUnsafeBytes {
                    agent.handleReceive($0, from: Self.remote, localAddress: Self.local, now: Instant(nanoseconds: 1))
                }
                #expect(!accepted)
            }
            #expect(agent.pollTransmit() == nil)
            #expect(agent.state == .new)
            #expect(agent.stats.requestsReceived == 0)
        }
    }

    @Test func mutatedRequestsNeverTrap() {
        var random = SplitMix64(seed: 7675)
        let agent = ICEAgent(role: .controlled, localCredentials: Self.credentials)
        agent.addLocalCandidate(.host(address: Self.local))
        let valid = Self.request()
        var accepted = 0
        for round in 0..<5000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if round % 5 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            let now = Instant(nanoseconds: UInt64(round) * 1_000_000)
            if bytes.withUnsafeBytes({ agent.handleReceive($0, from: Self.remote, localAddress: Self.local, now: now) }) {
                accepted += 1
            }
            agent.handleTimeout(now: now)
            while agent.pollTransmit() != nil {}
            while agent.pollEvent() != nil {}
        }
        // Only mutations in the (unauthenticated) header bits that change nothing relevant can pass.
        #expect(accepted < 100)
        #expect(agent.stats.rejected > 1000)
    }

    @Test func liteAgentSelectsOnUseCandidateAndAnswersWithIntegrity() {
        let agent = ICEAgent(role: .controlling, isLite: true, localCredentials: Self.credentials)
        agent.addLocalCandidate(.host(address: Self.local))
        let accepted = Self.request().withUnsafeBytes {
            agent.handleReceive($0, from: Self.remote, localAddress: Self.local, now: Instant(nanoseconds: 1))
        }
        #expect(accepted)
        #expect(agent.role == .controlled)
        #expect(agent.state == .connected)
        #expect(agent.selectedPair?.remote.address == Self.remote)
        #expect(agent.selectedPair?.remote.kind == .prflx)
        #expect(agent.selectedPair?.remote.priority == 1_845_501_695)
        guard let response = agent.pollTransmit() else {
            Issue.record("no response")
            return
        }
        #expect(STUNMessage.verifyIntegrity(response.bytes, key: Array(Self.credentials.password.utf8)))
        #expect(STUNMessage.verifyFingerprint(response.bytes))
        #expect(agent.pollTransmit() == nil)  // A lite agent never checks.
        var events: [ICEEvent] = []
        while let event = agent.pollEvent() { events.append(event) }
        #expect(events.count == 3)  // checking, selected pair, connected
        if case .selectedPairChanged = events[1] {} else { Issue.record("expected selectedPairChanged, got \(events)") }
    }
}

enum Vectors {
    /// Bytes that look like nothing in particular.
    static let garbage: [UInt8] = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
}
