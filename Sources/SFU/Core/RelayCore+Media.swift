import CMemoryHints
import RTP
import SkylarkBase
import SRTP
import Transport

/// The media half of the core: RTP in and out to the viewers, RTCP both ways, keyframe requests and RTX.
extension RelayCore {
    // MARK: - RTP from publishers

    func receiveRTP(_ buffer: UnsafeMutableRawBufferPointer, on session: MediaSession, now: Instant) {
        guard session.role == .publisher,
              let header = try? RTPHeader(parsing: UnsafeRawBufferPointer(buffer)) else { return }
        session.counters.packetsIn &+= 1
        session.counters.bytesIn &+= UInt64(buffer.count)
        let raw = UnsafeRawBufferPointer(buffer)
        let payload = UnsafeRawBufferPointer(rebasing: buffer[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
        var video: VideoPacketInfo?
        if header.payloadType == session.offer.audio?.payloadType {
            session.audioSSRC = header.ssrc
        } else if let section = session.offer.video, header.payloadType == section.payloadType {
            let ridID = session.video.ridExtensionID
            guard let layer = session.video.layer(ssrc: header.ssrc, rid: {
                ridID.flatMap { header.extensionElement(id: $0, in: raw) }.map { String(decoding: $0, as: UTF8.self) }
            }) else {
                session.drops[.rtpUnknownLayer] &+= 1  // simulcast from an SSRC no rid named yet
                return
            }
            session.video.layers[layer].remember(raw, sequence: header.sequenceNumber)
            session.video.layers[layer].record(bytes: buffer.count, now: now)
            session.video.rank(now: now)
            let ranking = session.video.ranking
            let keyframe = ranking.isSimulcast && (section.videoCodec?.payloadFormat.startsKeyframe(payload) ?? false)
            video = VideoPacketInfo(codec: section.videoCodec, ssrc: header.ssrc, startsKeyframe: keyframe, ranking: ranking)
        } else {
            return  // RTX, FEC or anything not negotiated: not relayed.
        }
        session.receiveStatistics[header.ssrc, default: RTPReceiveStatistics(clockRate: video != nil ? 90_000 : 48_000)]
            .record(sequenceNumber: header.sequenceNumber, rtpTimestamp: header.timestamp, arrival: now)
        // The other shards first (the driver hands events over before it sends), so their fan-out runs alongside
        // this one's.
        if directory.shardCount > 1 { relay(payload: payload, header: header, video: video, stream: session.stream) }
        if let audience = viewers[session.stream] {
            startFanOut(payload: payload, header: header, video: video, to: audience, now: now)
        }
    }

    /// Hands a publisher's packet to every other shard with viewers of the stream.
    private func relay(payload: UnsafeRawBufferPointer, header: RTPHeader, video: VideoPacketInfo?, stream: String) {
        let others = directory.shardsWithViewers(of: stream) & ~(1 << UInt64(shard))
        guard others != 0 else { return }
        events.append(.relay(RelayedPacket(stream: stream, header: header, payload: Array(payload), video: video),
                             shards: others))
    }

    /// Starts forwarding one packet to `audience`: the datagrams are written as the driver polls for them.
    func startFanOut(payload: UnsafeRawBufferPointer, header: RTPHeader, video: VideoPacketInfo?,
                     to audience: [MediaSession], now: Instant) {
        fanOut.start(payload: payload, header: header, video: video, audience: audience, now: now)
    }

    /// The pending fan-out's next datagram, for the next connected viewer.
    ///
    /// While one viewer's copy is made, the next viewers' state is loaded into the cache: each viewer's session,
    /// transport and SRTP context have gone cold in the 20 ms since the last packet, and fetching them one pointer
    /// after another costs more than the copy itself. Each step follows a pointer in an object the step before
    /// asked for, one viewer earlier.
    func nextFanOutDatagram(into slot: UnsafeMutableRawBufferPointer) -> (length: Int, destination: SocketAddress)? {
        let audience = fanOut.audience
        let count = audience.count
        var index = fanOut.next
        guard let header = fanOut.header else { return nil }
        let video = fanOut.video, now = fanOut.now, payloadCount = fanOut.payloadCount
        let written = fanOut.payload.withUnsafeBytes { stored -> (length: Int, destination: SocketAddress)? in
            let payload = UnsafeRawBufferPointer(rebasing: stored[0..<payloadCount])
            while index < count {
                if index + 4 < count { skylark_prefetch(Unmanaged.passUnretained(audience[index + 4]).toOpaque()) }
                if index + 3 < count { skylark_prefetch(Unmanaged.passUnretained(audience[index + 3].transport).toOpaque()) }
                if index + 2 < count, let srtp = audience[index + 2].transport.srtp {
                    skylark_prefetch(Unmanaged.passUnretained(srtp).toOpaque())
                }
                if index + 1 < count { audience[index + 1].transport.srtp?.prefetchForProtect() }
                let viewer = audience[index]
                index += 1
                guard viewer.isConnected else { continue }
                if let video, !wants(video, viewer: viewer, now: now) { continue }
                if let written = forward(payload: payload, header: header, isVideo: video != nil, to: viewer, into: slot, now: now) {
                    return written
                }
            }
            return nil
        }
        fanOut.next = index
        if written == nil { fanOut.finish() }
        return written
    }

    /// Whether `viewer` is sent a video packet: it decodes the codec, and the packet is of its layer (or a keyframe
    /// of the layer it is switching to). A viewer waiting for a keyframe asks for one, at most every 500 ms.
    private func wants(_ video: VideoPacketInfo, viewer: MediaSession, now: Instant) -> Bool {
        guard decodes(video.codec, viewer: viewer, now: now) else { return false }
        let forward = viewer.layers.shouldForward(ssrc: video.ssrc, startsKeyframe: video.startsKeyframe,
                                                   ranking: video.ranking)
        if viewer.layers.wantsKeyframe, now - viewer.lastKeyframeRequest >= .milliseconds(500) {
            viewer.lastKeyframeRequest = now
            requestKeyframe(stream: viewer.stream, layer: viewer.layers.target, force: false, now: now)
        }
        return forward
    }

    /// Whether `viewer` can decode the publisher's video `codec`; checked once per codec the viewer meets. A viewer
    /// that cannot is marked to end (see `undecodableVideo`).
    private func decodes(_ codec: VideoCodec?, viewer: MediaSession, now: Instant) -> Bool {
        if viewer.checkedVideoSource != codec || viewer.checkedVideoSource == nil {
            viewer.checkedVideoSource = codec
            guard let codec, let mine = viewer.offer.video?.videoCodec else {
                viewer.decodesVideoSource = false
                return false
            }
            viewer.decodesVideoSource = mine.decodes(codec)
            if !viewer.decodesVideoSource, viewer.undecodableVideo == nil {
                viewer.undecodableVideo = codec
                scheduleEndCheck(viewer, now: now)
            }
        }
        return viewer.decodesVideoSource
    }

    /// Rewrites one packet for one viewer (its SSRC, sequence, timestamp and payload type; header extensions are
    /// dropped since their ids are per-session) and encrypts it into `slot`.
    private func forward(payload: UnsafeRawBufferPointer, header: RTPHeader, isVideo: Bool, to viewer: MediaSession,
                         into slot: UnsafeMutableRawBufferPointer, now: Instant) -> (length: Int, destination: SocketAddress)? {
        guard let mapped = isVideo ? viewer.videoOut?.forward(header, payloadBytes: payload.count, now: now)
                                   : viewer.audioOut?.forward(header, payloadBytes: payload.count, now: now),
              let stream = isVideo ? viewer.videoOut : viewer.audioOut else { return nil }
        let length = 12 + payload.count
        guard length + SRTPSession.maximumOverhead <= slot.count else { return nil }
        Self.writeRTP(into: slot, marker: header.marker, payloadType: stream.payloadType, sequence: mapped.sequence,
                      timestamp: mapped.timestamp, ssrc: stream.ssrc, payload: payload)
        guard let written = viewer.transport.protectRTPInPlace(slot, length: length) else { return nil }
        viewer.counters.packetsOut &+= 1
        viewer.counters.bytesOut &+= UInt64(length)
        return written
    }

    /// A 12-byte RTP header (RFC 3550 §5.1) and the payload; with `originalSequence`, an RTX packet's OSN ahead of
    /// the payload (RFC 4588 §4). `buffer` must hold them.
    static func writeRTP(into buffer: UnsafeMutableRawBufferPointer, marker: Bool, payloadType: UInt8, sequence: UInt16,
                         timestamp: UInt32, ssrc: UInt32, payload: UnsafeRawBufferPointer, originalSequence: UInt16? = nil) {
        guard let base = buffer.baseAddress else { return }
        let headerLength = originalSequence == nil ? 12 : 14
        buffer[0] = 0x80
        buffer[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
        buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        if let originalSequence { buffer.storeBytes(of: originalSequence.bigEndian, toByteOffset: 12, as: UInt16.self) }
        if let source = payload.baseAddress { (base + headerLength).copyMemory(from: source, byteCount: payload.count) }
    }

    // MARK: - RTCP from clients

    func receiveRTCP(_ buffer: UnsafeMutableRawBufferPointer, on session: MediaSession, now: Instant) {
        guard let packets = try? RTCPPacket.parseCompound(UnsafeRawBufferPointer(buffer)) else {
            session.drops[.rtcpMalformed] &+= 1
            return
        }
        for packet in packets {
            switch packet {
            case let .senderReport(report) where session.role == .publisher:
                session.lastSenderReport[report.ssrc] = (report.ntpTimestamp.middle32, now)
            case let .receiverReport(report):
                applyReceiverReports(report.reports, on: session, now: now)
            case let .senderReport(report):
                applyReceiverReports(report.reports, on: session, now: now)
            case .pli, .fir:
                // The viewer's decoder needs a keyframe of the layer it is on.
                if session.role == .viewer {
                    requestKeyframe(stream: session.stream, layer: session.layers.current, force: false, now: now)
                }
            case let .nack(nack) where session.role == .viewer:
                session.nackedSinceLastReport += nack.lostSequenceNumbers.count
                resend(nack.lostSequenceNumbers, to: session, now: now)
            default:
                break
            }
        }
    }

    /// Viewers' reports: loss, jitter and RTT (RFC 3550 §6.4.1: RTT = now − LSR − DLSR, in 1/65536 s).
    private func applyReceiverReports(_ blocks: [RTCPReportBlock], on session: MediaSession, now: Instant) {
        for block in blocks where block.ssrc == session.audioOut?.ssrc || block.ssrc == session.videoOut?.ssrc {
            session.counters.packetsLost = Int64(block.cumulativeLost)
            session.counters.jitter = Double(block.jitter) / Double(block.ssrc == session.videoOut?.ssrc ? 90_000 : 48_000)
            if block.lastSenderReport != 0 {
                let nowMiddle = ntpTime(at: now).middle32
                let rtt = Double(nowMiddle &- block.lastSenderReport &- block.delaySinceLastSenderReport) / 65_536
                if rtt >= 0 && rtt < 60 { session.counters.roundTripTime = rtt }
            }
            if block.ssrc == session.videoOut?.ssrc, let stream = session.videoOut { reportVideoLoss(block, stream, on: session, now: now) }
        }
    }

    /// The viewer's loss since its last report, the higher of what it says it lost and what it asked to have again,
    /// moves it between layers (see `LayerSelection`).
    private func reportVideoLoss(_ block: RTCPReportBlock, _ stream: OutgoingStream, on viewer: MediaSession, now: Instant) {
        let sent = Int(stream.packetsSent &- viewer.videoSentAtLastReport)
        let nacked = sent > 0 ? min(1, Double(viewer.nackedSinceLastReport) / Double(sent)) : 0
        viewer.videoSentAtLastReport = stream.packetsSent
        viewer.nackedSinceLastReport = 0
        viewer.layers.reportLoss(max(Double(block.fractionLost) / 256, nacked), now: now)
    }

    private func ntpTime(at now: Instant) -> NTPTime { NTPTime(unixNanoseconds: wallClock.nanosecondsSince1970(at: now)) }

    // MARK: - Keyframes

    /// Asks the stream's publisher, on whichever shard it lives, for a keyframe of one layer (nil: of every layer).
    func requestKeyframe(stream: String, layer: UInt32?, force: Bool, now: Instant) {
        guard let publisher = directory.publisher(of: stream) else { return }
        guard publisher.shard == shard else {
            return events.append(.message(.requestKeyframe(publisherID: publisher.sessionID, layer: layer, force: force),
                                          shard: publisher.shard))
        }
        if let session = sessions[publisher.sessionID] { requestKeyframe(from: session, layer: layer, now: now, force: force) }
    }

    /// Picture Loss Indication to the publisher (RFC 4585 §6.3.1) for one layer's SSRC or every layer's, at most
    /// every 500 ms per layer unless forced.
    func requestKeyframe(from publisher: MediaSession, layer: UInt32?, now: Instant, force: Bool) {
        guard publisher.isConnected else { return }
        var packets: [RTCPPacket] = [.receiverReport(ReceiverReport(ssrc: publisher.rtcpSSRC, reports: []))]
        for index in publisher.video.layers.indices {
            guard let ssrc = publisher.video.layers[index].ssrc, layer == nil || layer == ssrc else { continue }
            guard force || now - publisher.video.layers[index].lastKeyframeRequest >= .milliseconds(500) else { continue }
            publisher.video.layers[index].lastKeyframeRequest = now
            packets.append(.pli(PictureLossIndication(senderSSRC: publisher.rtcpSSRC, mediaSSRC: ssrc)))
        }
        guard packets.count > 1 else { return }
        var packet = RTCPPacket.serializeCompound(packets)
        publisher.transport.sendRTCP(&packet)
        drain(publisher, now: now)
    }

    // MARK: - Retransmissions

    /// Retransmits video a viewer lost (RFC 4585 §6.2.1) as RTX (RFC 4588), from the publisher's recent packets —
    /// fetched by the publisher's shard when it lives elsewhere. A viewer without RTX gets no retransmission:
    /// sending a packet again under its own index would encrypt a second time with the same keystream
    /// (RFC 3711 §9.1) or GCM nonce (RFC 7714 §14.1), and the SRTP layer refuses that.
    private func resend(_ sequences: [UInt16], to viewer: MediaSession, now: Instant) {
        guard let stream = viewer.videoOut, stream.retransmission != nil, let sourceSSRC = stream.sourceSSRC,
              let publisher = directory.publisher(of: viewer.stream) else { return }
        let wanted = sequences.prefix(64).compactMap { sequence in
            stream.sourceSequence(forViewerSequence: sequence).map { (viewer: sequence, source: $0) }
        }
        guard !wanted.isEmpty else { return }
        let request = RetransmissionRequest(publisherID: publisher.sessionID, sourceSSRC: sourceSSRC, sequences: wanted,
                                            viewerShard: shard, viewerID: viewer.id)
        if publisher.shard == shard {
            retransmit(retransmissionPackets(for: request), to: viewer, now: now)
        } else {
            events.append(.message(.fetchRetransmissions(request), shard: publisher.shard))
        }
    }

    /// The packets of this shard's publisher a request asks for, where they are still kept.
    func retransmissionPackets(for request: RetransmissionRequest) -> [RetransmissionRequest.Packet] {
        guard let source = sessions[request.publisherID] else { return [] }
        return request.sequences.compactMap { sequence in
            guard let layer = source.video.layer(ssrc: request.sourceSSRC),
                  let packet = source.video.layers[layer].packet(sequence: sequence.source), packet.count >= 12,
                  UInt32(packet[8]) << 24 | UInt32(packet[9]) << 16 | UInt32(packet[10]) << 8 | UInt32(packet[11]) == request.sourceSSRC
            else { return nil }
            return RetransmissionRequest.Packet(viewerSequence: sequence.viewer, original: packet)
        }
    }

    /// Sends each packet as RTX: the viewer's RTX SSRC, payload type and sequence number, and the original
    /// sequence number (OSN) ahead of the payload (RFC 4588 §4).
    func retransmit(_ packets: [RetransmissionRequest.Packet], to viewer: MediaSession, now: Instant) {
        for packet in packets {
            guard let stream = viewer.videoOut, let rtx = stream.retransmission,
                  let header = try? RTPHeader(parsing: packet.original) else { continue }
            var bytes = [UInt8](repeating: 0, count: 14 + header.payloadLength)
            packet.original.withUnsafeBytes { original in
                let payload = UnsafeRawBufferPointer(rebasing: original[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
                bytes.withUnsafeMutableBytes { buffer in
                    Self.writeRTP(into: buffer, marker: header.marker, payloadType: rtx.payloadType, sequence: rtx.nextSequence,
                                  timestamp: header.timestamp &+ stream.timestampOffset, ssrc: rtx.ssrc, payload: payload,
                                  originalSequence: packet.viewerSequence)
                }
            }
            let length = bytes.count
            if viewer.transport.sendRTP(&bytes) {
                viewer.videoOut?.retransmission?.nextSequence &+= 1
                viewer.counters.packetsOut &+= 1
                viewer.counters.bytesOut &+= UInt64(length)
            }
        }
        drain(viewer, now: now)
    }

    // MARK: - Reports

    /// Receiver reports to publishers, sender reports to viewers, each with an SDES CNAME (RFC 3550 §6.1).
    func sendReports(_ session: MediaSession, now: Instant) {
        var packets: [RTCPPacket] = []
        switch session.role {
        case .publisher:
            var blocks: [RTCPReportBlock] = []
            for ssrc in session.receiveStatistics.keys.sorted() {
                var lsr: UInt32 = 0, dlsr: UInt32 = 0
                if let last = session.lastSenderReport[ssrc] {
                    lsr = last.middle
                    dlsr = UInt32(clamping: Int64((now - last.arrival).seconds * 65_536))
                }
                if let block = session.receiveStatistics[ssrc]?.makeReportBlock(ssrc: ssrc, lastSenderReport: lsr,
                                                                                  delaySinceLastSenderReport: dlsr) {
                    blocks.append(block)
                }
            }
            packets.append(.receiverReport(ReceiverReport(ssrc: session.rtcpSSRC, reports: blocks)))
            packets.append(.sourceDescription([SDESChunk(ssrc: session.rtcpSSRC, items: [.cname("skylark")])]))
        case .viewer:
            let ntp = ntpTime(at: now)
            for stream in [session.audioOut, session.videoOut].compactMap({ $0 }) where stream.packetsSent > 0 {
                let elapsed = stream.lastSendTime.map { (now - $0).seconds } ?? 0
                let rtpNow = stream.lastTimestamp &+ UInt32(clamping: Int64(elapsed * Double(stream.clockRate)))
                packets.append(.senderReport(SenderReport(ssrc: stream.ssrc, ntpTimestamp: ntp, rtpTimestamp: rtpNow,
                                                          packetCount: stream.packetsSent, octetCount: stream.octetsSent,
                                                          reports: [])))
                packets.append(.sourceDescription([SDESChunk(ssrc: stream.ssrc, items: [.cname("skylark")])]))
            }
        }
        guard !packets.isEmpty else { return }
        var compound = RTCPPacket.serializeCompound(packets)
        session.transport.sendRTCP(&compound)
        drain(session, now: now)
    }
}
