import RTP
import SkylarkBase
import Testing

@testable import SFU

/// The relay core on virtual time: real ICE, DTLS and SRTP on both sides, no sockets and no sleeps, so minutes of
/// a session's life take milliseconds. `RelayTests` and the interop suite run the same paths on real UDP.
@Suite struct RelayCoreTests {
    @Test func viewerHearsThePublisherWithItsOwnNumbering() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "live")
        let viewer = try relay.play(stream: "live")
        relay.send(from: publisher, audioPackets: 50)

        #expect(viewer.rtp.count == 50)
        let ssrcs = Set(viewer.rtp.map(\.header.ssrc))
        #expect(ssrcs.count == 1 && !ssrcs.contains(publisher.audioSSRC), "the viewer's SSRC is the server's own")
        for (previous, next) in zip(viewer.rtp, viewer.rtp.dropFirst()) {
            #expect(next.header.sequenceNumber == previous.header.sequenceNumber &+ 1)
            #expect(next.header.timestamp == previous.header.timestamp &+ 960)
        }
        // The payload is the publisher's, byte for byte: it names the publisher's sequence number.
        #expect(viewer.rtp.first?.payload.prefix(3) == [0xA0, UInt8(1_000 >> 8), UInt8(1_000 & 0xFF)])
        let session = try #require(relay.session(of: viewer))
        #expect(session.counters.packetsOut == 50)
    }

    /// A lossy, reordering uplink: the relay forwards in arrival order but keeps the publisher's numbering (one
    /// offset, RFC 3550 §5.1), so the viewer's jitter buffer can restore the order and sees the gaps as losses.
    @Test func uplinkLossAndReorderingReachTheViewerAsTheyWere() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "live")
        let viewer = try relay.play(stream: "live")
        relay.wire.linkConditions[publisher.address] = .init(loss: 0.1, delay: .milliseconds(20), jitter: .milliseconds(50))
        relay.send(from: publisher, audioPackets: 200)
        relay.run(for: .milliseconds(200))

        let published = viewer.rtp.map { UInt16($0.payload[1]) << 8 | UInt16($0.payload[2]) }
        let arrived = try #require(relay.session(of: publisher)).counters.packetsIn
        #expect((150..<195).contains(arrived), "the uplink lost about a tenth: \(arrived) of 200 arrived")
        #expect(UInt64(viewer.rtp.count) == arrived && Set(published).count == viewer.rtp.count,
                "every packet that reached the server reached the viewer, once")
        let offsets = Set(zip(viewer.rtp, published).map { $0.header.sequenceNumber &- $1 })
        #expect(offsets.count == 1, "one sequence offset for every packet: \(offsets.sorted())")
        let reordered = zip(published, published.dropFirst()).filter { Int16(bitPattern: $1 &- $0) < 0 }.count
        #expect(reordered > 5, "the link reordered packets, and the viewer got them in arrival order")
        for (received, sequence) in zip(viewer.rtp, published) {
            #expect(received.header.timestamp &- viewer.rtp[0].header.timestamp
                == UInt32(bitPattern: Int32(Int16(bitPattern: sequence &- published[0])) &* 960),
                "timestamps follow the publisher's")
        }
    }

    @Test func viewersBeforeThePublisherHearItWhenItArrives() throws {
        let relay = try VirtualRelay()
        let early = try relay.play(stream: "live")
        relay.run(for: .seconds(3))
        #expect(early.rtp.isEmpty)
        let publisher = try relay.publish(stream: "live")
        relay.send(from: publisher, audioPackets: 10)
        #expect(early.rtp.count == 10)
    }

    @Test func silentViewerLosesConsentAfter30Seconds() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "live")
        let viewer = try relay.play(stream: "live")
        viewer.isRunning = false  // no more consent checks from it
        relay.run(for: .seconds(29))
        #expect(relay.session(of: viewer) != nil, "consent holds for 30 s (RFC 7675 §5.1)")
        relay.run(for: .seconds(2))
        #expect(relay.session(of: viewer) == nil)
        #expect(relay.ended.first?.id == viewer.sessionID)
        #expect(relay.ended.first?.reason == "ICE consent expired (RFC 7675)")
        #expect(relay.session(of: publisher) != nil, "the publisher, which kept checking, stays")
        #expect(relay.directory.shardsWithViewers(of: "live") == 0, "the stream has no viewers left")
    }

    @Test func sessionThatNeverConnectsEndsAfterTheConnectTimeout() throws {
        let relay = try VirtualRelay()
        let viewer = try relay.play(stream: "live", connect: false)
        viewer.isRunning = false
        relay.run(for: .seconds(14))
        #expect(relay.session(of: viewer) != nil)
        relay.run(for: .seconds(2))
        #expect(relay.session(of: viewer) == nil)
        let reason = try #require(relay.ended.first?.reason)
        #expect(reason.hasPrefix("never connected") || reason.hasPrefix("ICE failed"), "\(reason)")
    }

    @Test func replacedPublisherContinuesTheViewersNumbering() throws {
        let relay = try VirtualRelay()
        let first = try relay.publish(stream: "live")
        let viewer = try relay.play(stream: "live")
        relay.send(from: first, audioPackets: 20)
        relay.end(first, reason: "replaced by a new publisher")
        relay.run(for: .milliseconds(100))

        let second = try relay.publish(stream: "live")
        second.audioSequence = 7  // its own numbering, far from the first one's
        second.audioTimestamp = 123
        relay.send(from: second, audioPackets: 20)

        #expect(viewer.rtp.count == 40)
        #expect(Set(viewer.rtp.map(\.header.ssrc)).count == 1, "one SSRC throughout: the viewer never renegotiates")
        let before = viewer.rtp[19].header, after = viewer.rtp[20].header
        #expect(after.sequenceNumber == before.sequenceNumber &+ 1, "the sequence continues as if nothing happened")
        let gap = after.timestamp &- before.timestamp
        #expect(gap > 960 && gap < 48_000, "the timestamp moves on by about the time that passed: \(gap) ticks")
        #expect(viewer.rtp[20].payload.prefix(3) == [0xA0, 0, 7], "and the packets are the new publisher's")
        #expect(relay.ended.map(\.reason) == ["replaced by a new publisher"])
    }

    @Test(arguments: [1, 2])
    func nackIsAnsweredWithRTX(shards: Int) throws {
        let relay = try VirtualRelay(shards: shards)
        let publisher = try relay.publish(stream: "live", video: true, shard: 0)
        let viewer = try relay.play(stream: "live", video: true, shard: shards - 1)
        // The viewer loses the tenth video packet on the way.
        relay.send(from: publisher, videoPackets: 9)
        var dropNext = true
        relay.downlinkFilter = { client, _ in
            guard client === viewer, dropNext else { return true }
            dropNext = false
            return false
        }
        relay.send(from: publisher, videoPackets: 1)
        relay.downlinkFilter = { _, _ in true }
        relay.send(from: publisher, videoPackets: 5)
        let media = viewer.rtp.filter { $0.header.payloadType == VirtualClient.vp8 }
        #expect(media.count == 14, "one of 15 was lost")
        let lostSequence = media[8].header.sequenceNumber &+ 1
        #expect(media[9].header.sequenceNumber == lostSequence &+ 1)

        viewer.sendRTCP([.nack(GenericNACK(senderSSRC: 1, mediaSSRC: media[0].header.ssrc, lostSequenceNumbers: [lostSequence]))])
        relay.pump()
        let retransmissions = viewer.rtp.filter { $0.header.payloadType == VirtualClient.rtx }
        let rtx = try #require(retransmissions.first, "the NACK was answered")
        #expect(retransmissions.count == 1)
        #expect(rtx.header.ssrc != media[0].header.ssrc, "RTX has its own SSRC (RFC 4588 §4)")
        #expect(Array(rtx.payload.prefix(2)) == [UInt8(lostSequence >> 8), UInt8(lostSequence & 0xFF)], "OSN first")
        #expect(Array(rtx.payload.dropFirst(2)) == publisher.sentVideo[9], "then the lost packet's payload")
    }

    @Test func pictureLossIsThrottledToOneRequestPer500ms() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "live", video: true)
        relay.send(from: publisher, videoPackets: 3)
        let viewer = try relay.play(stream: "live", video: true)
        relay.pump()
        #expect(publisher.pictureLossIndications == 1, "a viewer that joins asks for a keyframe at once")
        relay.run(for: .seconds(1))
        relay.send(from: publisher, videoPackets: 3)
        let ssrc = try #require(viewer.rtp.last?.header.ssrc)
        for _ in 0..<5 {
            viewer.sendRTCP([.pli(PictureLossIndication(senderSSRC: 1, mediaSSRC: ssrc))])
            relay.run(for: .milliseconds(50))
        }
        #expect(publisher.pictureLossIndications == 2, "five PLIs in 250 ms reach the publisher as one")
        relay.run(for: .milliseconds(400))
        viewer.sendRTCP([.pli(PictureLossIndication(senderSSRC: 1, mediaSSRC: ssrc))])
        relay.pump()
        #expect(publisher.pictureLossIndications == 3, "500 ms later the next one goes through")
    }

    @Test func viewersOnAnotherShardAreServed() throws {
        let relay = try VirtualRelay(shards: 3)
        let publisher = try relay.publish(stream: "live", shard: 1)
        let local = try relay.play(stream: "live", shard: 1)
        let remote = try relay.play(stream: "live", shard: 2)
        let elsewhere = try relay.play(stream: "other", shard: 0)
        relay.send(from: publisher, audioPackets: 25)
        #expect(local.rtp.count == 25)
        #expect(remote.rtp.count == 25)
        #expect(elsewhere.rtp.isEmpty)
        #expect(relay.directory.shardsWithViewers(of: "live") == 0b110)
        // A video keyframe request crosses shards too.
        let video = try relay.publish(stream: "cam", video: true, shard: 0)
        relay.send(from: video, videoPackets: 2)
        _ = try relay.play(stream: "cam", video: true, shard: 2)
        relay.pump()
        #expect(video.pictureLossIndications == 1)
    }

    @Test func sessionLimitRefusesAndFreesSlots() throws {
        let relay = try VirtualRelay(maximumSessions: 2)
        let publisher = try relay.publish(stream: "live")
        _ = try relay.play(stream: "live")
        #expect(throws: SFUError.full) { _ = try relay.play(stream: "live", connect: false) }
        relay.end(publisher, reason: "test over")
        _ = try relay.play(stream: "live")
        #expect(relay.cores[0].sessionCount == 2)
    }

    @Test func reportsGoBothWays() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "live")
        let viewer = try relay.play(stream: "live")
        relay.send(from: publisher, audioPackets: 150)  // 3 s
        let receiverReports = publisher.rtcp.filter { if case .receiverReport = $0 { return true } else { return false } }
        let senderReports = viewer.rtcp.compactMap { packet -> SenderReport? in
            if case let .senderReport(report) = packet { return report } else { return nil }
        }
        #expect(receiverReports.count >= 2, "about one a second (RFC 3550 §6.3.1)")
        #expect(senderReports.count >= 2)
        let last = try #require(senderReports.last)
        #expect(last.ssrc == viewer.rtp.last?.header.ssrc && last.packetCount > 50)
    }
}
