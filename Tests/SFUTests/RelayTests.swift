import Runtime
import SkylarkBase
import SkylarkTestSupport
import Synchronization
import Testing
@testable import SFU
@testable import WebRTC
import Opus

/// A WHIP/WHEP client made of the library's peer connection, on 127.0.0.1.
struct Client {
    let connection: RTCPeerConnection
    var session: (id: String, answer: String, etag: String)?

    static func publisher(tone: Double) throws -> (Client, MediaStream) {
        let connection = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.loopbackV4]))
        let stream = try getUserMedia(constraints: MediaStreamConstraints(toneFrequency: tone))
        _ = try connection.addTransceiver(stream.getAudioTracks()[0], RtpTransceiverInit(direction: .sendonly, streams: [stream]))
        return (Client(connection: connection), stream)
    }

    static func viewer() throws -> (Client, HeardAudio) {
        let connection = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.loopbackV4]))
        let transceiver = try connection.addTransceiver(.audio, RtpTransceiverInit(direction: .recvonly))
        return (Client(connection: connection), HeardAudio(track: transceiver.receiver.track))
    }

    /// Creates the offer, hands it to the server, applies the answer.
    mutating func negotiate(_ exchange: (String) async throws(SFUError) -> (id: String, answer: String, etag: String)) async throws {
        let offer = try await connection.createOffer()
        try await connection.setLocalDescription(offer)
        let local = try #require(connection.localDescription)
        #expect(local.sdp.contains("a=candidate:"), "the library's offer carries its candidates")
        let result = try await exchange(local.sdp)
        session = result
        try await connection.setRemoteDescription(RTCSessionDescription(type: .answer, sdp: result.answer))
    }
}

func waitUntil(seconds: Double, _ condition: () async -> Bool) async throws -> Bool {
    let deadline = Instant.now() + .milliseconds(Int64(seconds * 1_000))
    while Instant.now() < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Publishers and viewers on real UDP through the SFU, all in this process.
@Suite(.serialized) struct RelayTests {
    /// With three workers the sessions land on different shards (round-robin): the publisher's packets are relayed
    /// to the other shards' viewers, and the replacing publisher lives on yet another one.
    @Test(arguments: [1, 3])
    func toneReachesEveryViewerAndSurvivesAReplacedPublisher(workers: Int) async throws {
        let sfu = try makeLoopbackSFU(workers: workers)
        defer { sfu.shutdown() }

        // A viewer that comes before anyone publishes.
        var (early, earlyHears) = try Client.viewer()
        defer { early.connection.close() }
        try await early.negotiate { offer async throws(SFUError) in try await sfu.play(stream: "live", offer: offer) }

        var (publisher, tone) = try Client.publisher(tone: 440)
        defer { publisher.connection.close(); tone.getTracks().forEach { $0.stop() } }
        try await publisher.negotiate { offer async throws(SFUError) in try await sfu.publish(stream: "live", offer: offer) }

        var (late, lateHears) = try Client.viewer()
        defer { late.connection.close() }
        try await late.negotiate { offer async throws(SFUError) in try await sfu.play(stream: "live", offer: offer) }

        let clients = [early, publisher, late]
        let connected = try await waitUntil(seconds: 5) { clients.allSatisfy { $0.connection.connectionState == .connected } }
        #expect(connected, "\(clients.map(\.connection.connectionState))")
        try #require(connected)
        #expect(try await waitUntil(seconds: 2) { await sfu.sessionList().allSatisfy(\.connected) })
        #expect(await sfu.streamList() == [StreamInfo(name: "live", publishing: true, viewers: 2, hasVideo: false)])

        try await Task.sleep(for: .milliseconds(1_500))
        let earlyFrequency = earlyHears.frequency(after: 4_800)
        let lateFrequency = lateHears.frequency(after: 4_800)
        #expect(abs(earlyFrequency - 440) < 5, "the early viewer heard \(earlyFrequency) Hz")
        #expect(abs(lateFrequency - 440) < 5, "the late viewer heard \(lateFrequency) Hz")
        let publisherID = try #require(publisher.session?.id)
        let publisherInfo = try #require(await sfu.session(id: publisherID))
        #expect(publisherInfo.counters.packetsIn > 40, "\(publisherInfo.counters)")

        // A second publisher: refused, then taken with replace.
        var (second, secondTone) = try Client.publisher(tone: 660)
        defer { second.connection.close(); secondTone.getTracks().forEach { $0.stop() } }
        let secondOffer = try await second.connection.createOffer()
        try await second.connection.setLocalDescription(secondOffer)
        let offerText = try #require(second.connection.localDescription?.sdp)
        let busy = await expectSFUError { () async throws(SFUError) in _ = try await sfu.publish(stream: "live", offer: offerText) }
        #expect(busy == .streamBusy("live"))
        let replaced = try await sfu.publish(stream: "live", offer: offerText, replace: true)
        second.session = replaced
        try await second.connection.setRemoteDescription(RTCSessionDescription(type: .answer, sdp: replaced.answer))
        #expect(await sfu.session(id: publisherID) == nil, "the first publisher was ended")
        #expect(try await waitUntil(seconds: 5) { second.connection.connectionState == .connected })

        // The viewers never renegotiate: the same SSRC keeps going, now with the new tone.
        let earlyMark = earlyHears.count + 24_000, lateMark = lateHears.count + 24_000  // skip the switch (0.5 s)
        try await Task.sleep(for: .milliseconds(2_000))
        let earlyAfter = earlyHears.frequency(after: earlyMark)
        let lateAfter = lateHears.frequency(after: lateMark)
        #expect(abs(earlyAfter - 660) < 5, "the early viewer heard \(earlyAfter) Hz after the switch")
        #expect(abs(lateAfter - 660) < 5, "the late viewer heard \(lateAfter) Hz after the switch")
        #expect(early.connection.connectionState == .connected && late.connection.connectionState == .connected)
        #expect(await sfu.streamList() == [StreamInfo(name: "live", publishing: true, viewers: 2, hasVideo: false)])

        // DELETE everything.
        for client in [early, late, second] {
            let id = try #require(client.session?.id)
            #expect(await sfu.end(sessionID: id, reason: "test over"))
        }
        #expect(await sfu.sessionList().isEmpty)
        #expect(await sfu.streamList().isEmpty)
        let counters = await sfu.metrics()
        #expect(counters.publishers == 0 && counters.viewers == 0)
    }
}
