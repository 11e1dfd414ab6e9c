import SkylarkBase
import STUN
import Testing

@testable import ICE

@Suite struct ICEAgentTests {
    @Test func twoFullAgentsConnect() throws {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()),
                            ["10.0.0.1:5000", "[fd00::1]:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()),
                            ["10.0.0.2:6000", "[fd00::2]:6000"])
        network.exchange(a, b)
        #expect(a.agent.state == .new)
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })

        // Both agents select the same path, mirrored.
        let pa = try #require(a.agent.selectedPair)
        let pb = try #require(b.agent.selectedPair)
        #expect(pa.local.address == pb.remote.address)
        #expect(pa.remote.address == pb.local.address)
        #expect(pa.local.address?.ip.isIPv4 == pa.remote.address?.ip.isIPv4)
        #expect(a.agent.state == .completed)
        #expect(b.agent.state == .completed)
        #expect(a.states.map(\.1) == [.checking, .connected, .completed])
        #expect(a.selectedChanges == 1 && b.selectedChanges == 1)
        // Connects within a few round trips of virtual time.
        #expect(a.time(of: .connected).map { $0 - network.start } ?? .seconds(99) < .milliseconds(500))
        #expect(a.agent.stats.roundTripTime == .milliseconds(20))
        #expect(a.agent.stats.requestsSent > 0 && b.agent.stats.requestsReceived > 0)
        #expect(a.agent.stats.responsesReceived > 0 && b.agent.stats.responsesSent > 0)
        #expect(a.agent.stats.rejected == 0 && b.agent.stats.rejected == 0)
        #expect(network.rejected == 0)

        // Consent keeps the connection up, with checks every 4–6 s.
        network.run(for: .seconds(40))
        #expect(a.agent.state == .completed && b.agent.state == .completed)
        #expect((6...11).contains(a.agent.stats.consentRequestsSent))
        #expect(b.agent.stats.consentRequestsSent > 5)
    }

    /// RFC 8445 §14.3: checks are retransmitted, so a link losing a third of its datagrams and reordering them
    /// still connects, both sides agreeing on the pair; consent then survives a lossy link.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func agentsConnectOverALossyReorderingLink(seed: UInt64) throws {
        let network = TestNetwork(conditions: .init(loss: 0.33, delay: .milliseconds(30), jitter: .milliseconds(40)),
                                  seed: seed)
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random(), tieBreaker: seed),
                            ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random(), tieBreaker: seed + 1),
                            ["10.0.0.2:6000"])
        network.exchange(a, b)
        #expect(network.run(for: .seconds(10)) { connected(a) && connected(b) })
        #expect(network.wire.counters.lost > 0, "the link lost datagrams")
        let pa = try #require(a.agent.selectedPair)
        let pb = try #require(b.agent.selectedPair)
        #expect(pa.local.address == pb.remote.address && pa.remote.address == pb.local.address)

        // Consent checks are not retransmitted; one answered in 30 s keeps the pair (RFC 7675 §5.1).
        network.wire.conditions.loss = 0.1
        network.run(for: .seconds(60))
        #expect(connected(a) && connected(b), "consent outlives a lossy link")
    }

    @Test func fullAgentConnectsToLiteAgent() {
        let network = TestNetwork()
        let full = network.add("full", ICEAgent(role: .controlling, localCredentials: .random()), ["192.0.2.10:40000"])
        // Created as controlling, but a lite agent is always controlled.
        let lite = network.add("lite", ICEAgent(role: .controlling, isLite: true, localCredentials: .random()),
                               ["198.51.100.1:3478"])
        #expect(lite.agent.role == .controlled && lite.agent.isLite)
        // A lite server learns nothing about the client but its credentials; it answers and selects on nomination.
        full.agent.setRemoteCredentials(lite.agent.localCredentials)
        full.agent.addRemoteCandidate(.host(address: SocketAddress("198.51.100.1:3478")!))
        lite.agent.setRemoteCredentials(full.agent.localCredentials)
        #expect(network.run(for: .seconds(5)) { connected(full) && connected(lite) })
        #expect(lite.agent.selectedPair?.remote.kind == .prflx)
        #expect(lite.agent.selectedPair?.remote.address == SocketAddress("192.0.2.10:40000"))
        #expect(lite.agent.selectedPair?.local.address == SocketAddress("198.51.100.1:3478"))
        #expect(lite.agent.stats.requestsSent == 0)
        // The lite agent stays up while the full agent keeps sending consent checks.
        network.run(for: .seconds(45))
        #expect(connected(full) && connected(lite))
    }

    @Test func fullAgentAnswersBeforeRemoteCredentialsArrive() {
        let network = TestNetwork()
        let browser = network.add("browser", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let server = network.add("server", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        // The browser has the server's offer; the server has not seen the browser's answer yet.
        browser.agent.setRemoteCredentials(server.agent.localCredentials)
        browser.agent.addRemoteCandidate(.host(address: SocketAddress("10.0.0.2:6000")!))
        network.run(for: .milliseconds(300))
        #expect(server.agent.stats.responsesSent > 0)
        #expect(server.agent.state == .checking)
        #expect(server.agent.stats.requestsSent == 0)
        server.agent.setRemoteCredentials(browser.agent.localCredentials)
        #expect(network.run(for: .seconds(5)) { connected(browser) && connected(server) })
    }

    @Test func fullControlledAgentFacingLiteSwitchesToControlling() {
        let network = TestNetwork()
        let full = network.add("full", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.1:5000"])
        let lite = network.add("lite", ICEAgent(role: .controlled, isLite: true, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(full, lite)
        #expect(network.run(for: .seconds(5)) { connected(full) && connected(lite) })
        #expect(full.agent.role == .controlling)
        #expect(full.roleChanges == [.controlling])
        #expect(lite.agent.role == .controlled)
    }

    @Test(arguments: [ICERole.controlling, .controlled])
    func roleConflictResolves(role: ICERole) {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: role, localCredentials: .random(), tieBreaker: 1000), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: role, localCredentials: .random(), tieBreaker: 2000), ["10.0.0.2:6000"])
        network.exchange(a, b)
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })
        #expect(a.agent.role != b.agent.role)
        // The larger tie breaker ends up controlling (RFC 8445 §7.3.1.1).
        #expect(b.agent.role == .controlling)
        let switched = role == .controlling ? a : b
        #expect(switched.roleChanges.first == (role == .controlling ? .controlled : .controlling))
        #expect(a.agent.selectedPair?.remote.address == b.agent.selectedPair?.local.address)
    }

    @Test func learnsPeerReflexiveCandidate() throws {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        a.agent.setRemoteCredentials(b.agent.localCredentials)
        b.agent.setRemoteCredentials(a.agent.localCredentials)
        a.agent.addRemoteCandidate(.host(address: SocketAddress("10.0.0.2:6000")!))
        // B never hears of A's candidate: it learns it from A's check.
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })
        let remote = try #require(b.agent.selectedPair?.remote)
        #expect(remote.kind == .prflx)
        #expect(remote.address == SocketAddress("10.0.0.1:5000"))
        // PRIORITY of the check: type preference 110 with A's local preference.
        #expect(remote.priority == ICECandidate.priority(kind: .prflx, localPreference: 65535, component: 1))
        // The late signalled candidate replaces the peer-reflexive one.
        b.agent.addRemoteCandidate(.host(address: SocketAddress("10.0.0.1:5000")!))
        #expect(b.agent.selectedPair?.remote.kind == .host)
    }

    @Test func wrongPasswordIsRejectedAndCounted() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(a, b)
        // A was told a wrong password for B: B rejects A's checks, so A never sees a response.
        a.agent.setRemoteCredentials(ICECredentials(ufrag: b.agent.localCredentials.ufrag, password: "not-the-password-at-all"))
        network.run(for: .seconds(20))
        #expect(!connected(a) && !connected(b))
        #expect(b.agent.stats.rejectedIntegrity > 0)
        #expect(a.agent.stats.responsesReceived == 0)
        #expect(network.rejected > 0)
        // B's own checks succeed (A's password is right), but nobody nominates.
        #expect(b.agent.state == .checking)
        // All of A's pairs fail after retransmissions; with end-of-candidates that fails the agent.
        #expect(a.agent.state == .failed)
        #expect(a.time(of: .failed).map { $0 - network.start } ?? .seconds(99) < .seconds(16))
    }

    @Test func requestsWithWrongUfragOrIntegrityReturnFalse() {
        let agent = ICEAgent(role: .controlled, localCredentials: ICECredentials(ufrag: "ours", password: "our-password-123456789012"))
        let local = SocketAddress("10.0.0.2:6000")!
        let remote = SocketAddress("10.0.0.1:5000")!
        agent.addLocalCandidate(.host(address: local))
        func request(username: String, key: String) -> [UInt8] {
            var message = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID())
            message.username = username
            message.priority = 1
            message.iceControlling = 7
            return message.serialize(integrityKey: Array(key.utf8), addFingerprint: true)
        }
        func receive(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { agent.handleReceive($0, from: remote, localAddress: local, now: Instant(nanoseconds: 5)) }
        }
        #expect(!receive(request(username: "theirs:ours", key: "our-password-123456789012")))
        #expect(agent.stats.rejectedUsername == 1)
        #expect(!receive(request(username: "ours:theirs", key: "wrong")))
        #expect(agent.stats.rejectedIntegrity == 1)
        #expect(agent.stats.rejected == 2)
        #expect(agent.pollTransmit() == nil)
        #expect(agent.state == .new)
        // The right credentials get a response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
        #expect(receive(request(username: "ours:theirs", key: "our-password-123456789012")))
        guard let response = agent.pollTransmit() else {
            Issue.record("no response")
            return
        }
        #expect(response.destination == remote && response.source == local)
        #expect(STUNMessage.verifyIntegrity(response.bytes, key: Array("our-password-123456789012".utf8)))
        #expect(STUNMessage.verifyFingerprint(response.bytes))
        #expect((try? STUNMessage(parsing: response.bytes))?.xorMappedAddress == remote)
        #expect((try? STUNMessage(parsing: response.bytes))?.messageClass == .successResponse)
        #expect(agent.state == .checking)
        // A response to no transaction of ours is not for this agent.
        var stray = STUNMessage(messageClass: .successResponse, transactionID: STUNMessage.randomTransactionID())
        stray.xorMappedAddress = local
        #expect(!receive(stray.serialize(integrityKey: Array("x".utf8), addFingerprint: true)))
    }

    @Test func consentLossDisconnectsThenFails() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(a, b)
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })
        network.run(for: .seconds(10))
        let cut = network.now
        network.drop = { _ in true }
        network.run(for: .seconds(40))
        for node in [a, b] {
            guard let disconnected = node.time(of: .disconnected), let failed = node.time(of: .failed) else {
                Issue.record("\(node.name) states: \(node.states.map(\.1))")
                continue
            }
            #expect(disconnected - cut >= .seconds(2) && disconnected - cut <= .seconds(9), "\(node.name)")
            #expect(failed - cut >= .seconds(24) && failed - cut <= .seconds(31), "\(node.name)")
            #expect(node.agent.state == .failed)
            #expect(node.agent.nextDeadline == nil)
        }
    }

    @Test func consentRecoversFromShortOutage() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(a, b)
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })
        network.drop = { _ in true }
        #expect(network.run(for: .seconds(15)) { a.agent.state == .disconnected })
        network.drop = { _ in false }
        #expect(network.run(for: .seconds(10)) { a.agent.state == .completed && b.agent.state == .completed })
        network.run(for: .seconds(40))
        #expect(a.agent.state == .completed && b.agent.state == .completed)
    }

    @Test func liteAgentFailsWithoutConsentRequests() {
        let network = TestNetwork()
        let full = network.add("full", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let lite = network.add("lite", ICEAgent(role: .controlled, isLite: true, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(full, lite)
        #expect(network.run(for: .seconds(5)) { connected(full) && connected(lite) })
        let cut = network.now
        network.drop = { _ in true }
        network.run(for: .seconds(35))
        #expect(lite.agent.state == .failed)
        #expect((lite.time(of: .disconnected).map { $0 - cut } ?? .zero) > .seconds(1))
        #expect((lite.time(of: .failed).map { $0 - cut } ?? .zero) >= .seconds(29))
    }

    @Test func restartSelectsANewPair() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(a, b)
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })
        let oldCredentials = b.agent.localCredentials

        // A gains a new interface; both restart with new credentials.
        a.addresses.append(SocketAddress("10.0.1.1:5002")!)
        a.agent.addLocalCandidate(.host(address: SocketAddress("10.0.1.1:5002")!, localPreference: 65534))
        a.agent.restart(localCredentials: .random())
        b.agent.restart(localCredentials: .random())
        #expect(b.agent.localCredentials != oldCredentials)
        // The old pair stays usable while the restart runs.
        #expect(a.agent.selectedPair != nil && b.agent.selectedPair != nil)
        #expect(a.agent.remoteCredentials == nil)
        #expect(connected(a) && connected(b))
        network.run(for: .milliseconds(500))
        #expect(a.selectedChanges == 1)
        network.exchange(a, b)
        #expect(network.run(for: .seconds(5)) { a.selectedChanges == 2 && b.selectedChanges == 2 })
        #expect(connected(a) && connected(b))
        #expect(a.agent.selectedPair?.remote.address == b.agent.selectedPair?.local.address)
        #expect(b.agent.selectedPair?.remote.address == a.agent.selectedPair?.local.address)
        network.run(for: .seconds(40))
        #expect(a.agent.state == .completed && b.agent.state == .completed)

        // Checks with the pre-restart ufrag are no longer for B.
        var stale = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID())
        stale.username = oldCredentials.ufrag + ":x"
        let bytes = stale.serialize(integrityKey: Array(oldCredentials.password.utf8), addFingerprint: true)
        let accepted = bytes.withUnsafeBytes {
            b.agent.handleReceive($0, from: SocketAddress("10.0.0.1:5000")!, localAddress: SocketAddress("10.0.0.2:6000")!,
                                  now: network.now)
        }
        #expect(!accepted)
    }

    @Test func failsWhenPeerNeverAnswers() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        a.agent.setRemoteCredentials(.random())
        a.agent.addRemoteCandidate(.host(address: SocketAddress("10.9.9.9:9")!))
        #expect(network.run(for: .seconds(40)) { a.agent.state == .failed })
        #expect(a.states.map(\.1) == [.checking, .failed])
        #expect(a.agent.stats.requestsSent == ICEAgent.maximumTransmissions)
    }

    @Test func failsAfterCheckingTimeoutWithoutPairs() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.1:5000"])
        a.agent.setRemoteCredentials(.random())
        // Only an mDNS candidate, which the agent cannot resolve; and a TCP one, which it ignores.
        a.agent.addRemoteCandidate(try! ICECandidate(parsing: "candidate:1 1 udp 2122260223 4b3c2d1e-aaaa-bbbb-cccc-0123456789ab.local 54321 typ host"))
        a.agent.addRemoteCandidate(try! ICECandidate(parsing: "candidate:2 1 tcp 1518280447 10.0.0.9 9 typ host tcptype active"))
        a.agent.setRemoteEndOfCandidates()
        network.run(for: .seconds(20))
        #expect(a.agent.state == .checking)
        #expect(a.agent.stats.requestsSent == 0)
        #expect(network.run(for: .seconds(20)) { a.agent.state == .failed })
    }

    @Test func closeStopsEverything() {
        let network = TestNetwork()
        let a = network.add("A", ICEAgent(role: .controlling, localCredentials: .random()), ["10.0.0.1:5000"])
        let b = network.add("B", ICEAgent(role: .controlled, localCredentials: .random()), ["10.0.0.2:6000"])
        network.exchange(a, b)
        #expect(network.run(for: .seconds(5)) { connected(a) && connected(b) })
        a.agent.close()
        #expect(a.agent.state == .closed)
        #expect(a.agent.nextDeadline == nil)
        #expect(a.agent.pollTransmit() == nil)
        network.run(for: .seconds(40))
        #expect(b.agent.state == .failed)
        #expect(a.agent.state == .closed)
    }
}
