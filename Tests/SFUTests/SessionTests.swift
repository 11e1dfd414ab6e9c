import SDP
import SkylarkBase
import Testing

@testable import SFU

/// Session bookkeeping and PATCH (RFC 9725 §4.3), without media: the clients never connect.
@Suite struct SessionTests {
    let restartLines = [
        "a=ice-ufrag:nEwU",
        "a=ice-pwd:newpasswordnewpassword12",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=candidate:1 1 udp 2122260223 192.0.2.9 50000 typ host",
        "a=end-of-candidates",
    ]

    func publishChromium(_ sfu: SFU) async throws(SFUError) -> (id: String, answer: String, etag: String) {
        try await sfu.publish(stream: "s", offer: CapturedOffers.text("chromium-whip-audio"))
    }

    @Test func patchNeedsAMatchingIfMatch() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let session = try await publishChromium(sfu)
        let trickle = "a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.9 50000 typ host\r\n"
        #expect(await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.patch(sessionID: session.id, fragment: trickle, ifMatch: nil)
        } == .preconditionRequired)
        #expect(await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.patch(sessionID: session.id, fragment: trickle, ifMatch: "\"stale\"")
        } == .preconditionFailed)
        #expect(try await sfu.patch(sessionID: session.id, fragment: trickle, ifMatch: session.etag) == .trickled)
        #expect(try await sfu.patch(sessionID: session.id, fragment: trickle, ifMatch: "*") == .trickled)
        #expect(await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.patch(sessionID: "nope", fragment: trickle, ifMatch: "*")
        } == .unknownSession)
        #expect(await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.patch(sessionID: session.id, fragment: "garbage", ifMatch: session.etag)
        }.map { if case .badFragment = $0 { true } else { false } } == true)
    }

    /// An ICE restart: new server credentials in the returned fragment and a new ETag; the old ETag stops working.
    func checkRestart(lineEnding: String) async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let session = try await publishChromium(sfu)
        let oldUfrag = try #require(SessionDescription(parsing: session.answer).iceCredentials(forMedia: 0)?.ufrag)
        let fragment = restartLines.joined(separator: lineEnding) + lineEnding
        #expect(await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.patch(sessionID: session.id, fragment: fragment, ifMatch: "\"stale\"")
        } == .preconditionFailed)
        let result = try await sfu.patch(sessionID: session.id, fragment: fragment, ifMatch: session.etag)
        guard case let .restarted(answerFragment, etag) = result else {
            Issue.record("expected .restarted, got \(result)")
            return
        }
        #expect(etag != session.etag)
        let lines = answerFragment.split(separator: "\r\n").map(String.init)
        let ufrag = try #require(lines.first { $0.hasPrefix("a=ice-ufrag:") }).dropFirst("a=ice-ufrag:".count)
        #expect(ufrag != Substring(oldUfrag) && etag == "\"\(ufrag)\"")
        #expect(lines.contains { $0.hasPrefix("a=ice-pwd:") && $0.count >= 10 + 22 })
        #expect(lines.contains("a=mid:0"))
        #expect(lines.contains { $0.hasPrefix("a=candidate:") && $0.contains("127.0.0.1 \(sfu.localAddress.port) typ host") })
        #expect(lines.contains("a=end-of-candidates"))
        if lineEnding == "\r\n" {
            // The server's own (CRLF) fragment is one the server can read.
            #expect(try SDPFragment(parsing: answerFragment).ufrag == String(ufrag))
        }
        #expect(await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.patch(sessionID: session.id, fragment: "a=end-of-candidates\r\n", ifMatch: session.etag)
        } == .preconditionFailed)
        #expect(try await sfu.patch(sessionID: session.id, fragment: "a=end-of-candidates\r\n", ifMatch: etag) == .trickled)
    }

    /// What clients send: CRLF (RFC 8840 §9 / RFC 8866 §5).
    @Test func iceRestartWithCRLF() async throws { try await checkRestart(lineEnding: "\r\n") }

    @Test func iceRestartWithLF() async throws { try await checkRestart(lineEnding: "\n") }

    @Test func secondPublisherIsBusyUnlessReplacing() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let first = try await publishChromium(sfu)
        let error = await expectSFUError { () async throws(SFUError) in _ = try await publishChromium(sfu) }
        #expect(error == .streamBusy("s"))
        #expect(error?.status == 409)
        let second = try await sfu.publish(stream: "s", offer: CapturedOffers.text("firefox-whip-audio"), replace: true)
        let sessions = await sfu.sessionList()
        #expect(sessions.map(\.id) == [second.id])
        #expect(await sfu.session(id: first.id) == nil)
        // Another stream is independent.
        _ = try await sfu.publish(stream: "other", offer: CapturedOffers.text("chromium-whip-audio"))
        #expect(await sfu.streamList().map(\.name) == ["other", "s"])
    }

    @Test func endFreesSessionsAndStreams() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let ended = EndedLog()
        sfu.onSessionEnded = { info, reason in ended.add(info.id, reason) }
        let viewer = try await sfu.play(stream: "s", offer: CapturedOffers.text("chromium-whep-audio"))
        #expect(await sfu.streamList() == [StreamInfo(name: "s", publishing: false, viewers: 1, hasVideo: false)])
        let publisher = try await sfu.publish(stream: "s", offer: CapturedOffers.text("chromium-whip-audio-video"))
        #expect(await sfu.streamList() == [StreamInfo(name: "s", publishing: true, viewers: 1, hasVideo: true)])
        let sessions = await sfu.sessionList()
        #expect(sessions.map(\.id) == [viewer.id, publisher.id])
        #expect(sessions.map(\.role) == ["viewer", "publisher"])
        #expect(sessions.allSatisfy { !$0.connected && $0.stream == "s" })
        let counters = await sfu.metrics()
        #expect(counters.publishers == 1 && counters.viewers == 1)
        #expect(await sfu.end(sessionID: publisher.id, reason: "bye"))
        #expect(await sfu.end(sessionID: publisher.id, reason: "again") == false)
        #expect(await sfu.streamList() == [StreamInfo(name: "s", publishing: false, viewers: 1, hasVideo: false)])
        #expect(await sfu.end(sessionID: viewer.id, reason: "bye"))
        #expect(await sfu.sessionList().isEmpty)
        #expect(await sfu.streamList().isEmpty)
        #expect(ended.entries.map(\.0) == [publisher.id, viewer.id])
        #expect(ended.entries.allSatisfy { $0.1 == "bye" })
        // The stream's name can be published again.
        _ = try await publishChromium(sfu)
    }

    @Test func sessionLimit() async throws {
        let sfu = try SFU(configuration: SFUConfiguration(udpAddress: SocketAddress(ip: .loopbackV4, port: 0), maximumSessions: 1))
        defer { sfu.shutdown() }
        _ = try await publishChromium(sfu)
        let error = await expectSFUError { () async throws(SFUError) in
            _ = try await sfu.play(stream: "s", offer: CapturedOffers.text("chromium-whep-audio"))
        }
        #expect(error == .full)
        #expect(await sfu.sessionList().count == 1)
    }

    /// A client that never sends a connectivity check is dropped after the consent timeout.
    @Test func sessionThatNeverConnectsIsDropped() async throws {
        let sfu = try SFU(configuration: SFUConfiguration(udpAddress: SocketAddress(ip: .loopbackV4, port: 0),
                                                          connectTimeout: .milliseconds(200)))
        defer { sfu.shutdown() }
        let ended = EndedLog()
        sfu.onSessionEnded = { info, reason in ended.add(info.id, reason) }
        let session = try await publishChromium(sfu)
        for _ in 0..<200 where await !sfu.sessionList().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await sfu.sessionList().isEmpty)
        #expect(await sfu.streamList().isEmpty)
        #expect(ended.entries.map(\.0) == [session.id])
    }
}

import Synchronization

final class EndedLog: Sendable {
    private let list = Mutex<[(String, String)]>([])
    func add(_ id: String, _ reason: String) { list.withLock { $0.append((id, reason)) } }
    var entries: [(String, String)] { list.withLock { $0 } }
}
