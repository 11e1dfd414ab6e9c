import DTLS
import ICE
import Opus
import RTP
import Runtime
import SkylarkBase

/// Moving packets: the network and timer entry points, RTP out of senders and into receivers, RTCP reports,
/// and the connection state that follows from ICE and DTLS.
extension RTCPeerConnection {
    /// Entry point for every datagram (on `queue`).
    func handleDatagram(_ bytes: UnsafeMutableRawBufferPointer, from: SocketAddress, local: SocketAddress) {
        guard !isClosed, let transport else { return }
        transport.handleReceive(bytes, from: from, localAddress: local, now: network.now()) { packet in
            switch packet {
            case let .rtp(buffer): receiveRTP(buffer)
            case let .rtcp(buffer): receiveRTCP(buffer)
            }
        }
        pump()
    }

    func timerFired() {
        guard !isClosed, let transport else { return }
        let now = network.now()
        transport.handleTimeout(now: now)
        if transport.srtp != nil, now >= lastRTCPReport + .seconds(1) {
            lastRTCPReport = now
            sendReports(now: now)
        }
        pump()
    }

    /// Sends what the transport queued, applies its events, and re-arms the timer.
    func pump() {
        guard let transport else { return }
        flushTransmits()
        while let event = transport.pollEvent() {
            switch event {
            case let .iceStateChanged(state):
                iceTransport.stateBox.withLock { $0.state = RTCPeerConnection.transportState(state) }
                let mapped = RTCPeerConnection.connectionState(state)
                if mapped != iceConnectionStateValue {
                    iceConnectionStateValue = mapped
                    emit(.iceConnectionStateChange(mapped))
                }
            case let .selectedPairChanged(local, remote):
                iceTransport.stateBox.withLock { $0.selectedPair = (local.sdpValue, remote.sdpValue) }
            case let .iceRoleChanged(role):
                iceTransport.stateBox.withLock { $0.role = role == .controlling ? .controlling : .controlled }
            case let .dtlsStateChanged(state):
                let mapped: DtlsTransportState
                switch state {
                case .new: mapped = .new
                case .connecting: mapped = .connecting
                case .connected: mapped = .connected
                case .closed: mapped = .closed
                case .failed: mapped = .failed
                }
                dtlsStateValue = mapped
                dtlsTransport.stateBox.withLock { $0 = mapped }
            case .dtlsFailed, .dtlsApplicationData:
                break
            }
            updateConnectionState()
        }
        flushTransmits()
        if let deadline = transport.nextDeadline {
            // Reports run once a second once media can flow.
            let reportDeadline = transport.srtp != nil ? lastRTCPReport + .seconds(1) : deadline
            timer?.schedule(at: min(deadline, reportDeadline))
        } else if transport.srtp != nil {
            timer?.schedule(at: lastRTCPReport + .seconds(1))
        }
    }

    func flushTransmits() {
        guard let transport else { return }
        while let transmit = transport.pollTransmit() {
            network.send(transmit.bytes, from: transmit.source, to: transmit.destination)
        }
    }

    /// W3C §4.4.3 "update the connection state": the worst of ICE and DTLS.
    func updateConnectionState() {
        let ice = iceConnectionStateValue
        let dtls = dtlsStateValue
        let state: RTCPeerConnectionState
        if isClosed {
            state = .closed
        } else if ice == .failed || dtls == .failed {
            state = .failed
        } else if ice == .disconnected {
            state = .disconnected
        } else if (ice == .connected || ice == .completed) && dtls == .connected {
            state = .connected
        } else if ice == .checking || ice == .connected || ice == .completed || dtls == .connecting {
            state = .connecting
        } else {
            state = .new
        }
        guard state != connectionStateValue else { return }
        connectionStateValue = state
        emit(.connectionStateChange(state))
    }

    static func connectionState(_ state: ICEConnectionState) -> RTCIceConnectionState {
        switch state {
        case .new: return .new
        case .checking: return .checking
        case .connected: return .connected
        case .completed: return .completed
        case .failed: return .failed
        case .disconnected: return .disconnected
        case .closed: return .closed
        }
    }

    static func transportState(_ state: ICEConnectionState) -> RTCIceTransportState {
        switch state {
        case .new: return .new
        case .checking: return .checking
        case .connected: return .connected
        case .completed: return .completed
        case .failed: return .failed
        case .disconnected: return .disconnected
        case .closed: return .closed
        }
    }

    // MARK: - Sending

    /// Packetizes one Opus frame (RFC 7587 §4.2: one frame per packet, 48 kHz clock) and sends it.
    func sendAudioFrame(_ frame: EncodedAudioFrame, from sender: RTCRtpSender) {
        guard !isClosed, let transport, transport.srtp != nil,
              let transceiver = transceivers.first(where: { $0.sender === sender }) else { return }
        let state = transceiver.state.withLock { $0 }
        guard let direction = state.currentDirection, direction.sends, !state.stopped else { return }
        var extensions: [(id: UInt8, value: [UInt8])] = []
        if let id = state.audioLevelExtensionID {
            // RFC 6464 §3: V bit (voice activity) and the level in -dBov.
            extensions.append((id, [(frame.levelDBov < 127 ? 0x80 : 0) | (frame.levelDBov & 0x7F)]))
        }
        if let id = state.midExtensionID, let mid = state.mid { extensions.append((id, Array(mid.utf8))) }
        var packet = sender.state.withLock { senderState -> [UInt8] in
            defer {
                senderState.sequenceNumber &+= 1
                senderState.timestamp &+= frame.samples
                senderState.sentFirstPacket = true
                senderState.packetsSent &+= 1
                senderState.bytesSent &+= UInt64(frame.payload.count)
            }
            senderState.lastPacketTimestamp = senderState.timestamp
            var header = RTPPacketBuilder(payloadType: state.payloadType,
                                          sequenceNumber: senderState.sequenceNumber,
                                          timestamp: senderState.timestamp, ssrc: sender.ssrc,
                                          marker: !senderState.sentFirstPacket)
            for item in extensions { header.addExtension(id: item.id, value: item.value) }
            return header.serialize(payload: frame.payload)
        }
        transport.sendRTP(&packet)
        flushTransmits()
    }

    // MARK: - Receiving

    private func receiveRTP(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let header = try? RTPHeader(parsing: UnsafeRawBufferPointer(buffer)) else { return }
        // Route by SSRC from the SDP, then by the mid extension, then by payload type (RFC 8843 §9.2).
        var target = transceivers.first { $0.receiver.state.withLock { $0.remoteSSRC } == header.ssrc }
        if target == nil {
            target = transceivers.first { t in
                let state = t.state.withLock { $0 }
                guard let id = state.midExtensionID, let mid = state.mid,
                      let value = header.extensionElement(id: id, in: UnsafeRawBufferPointer(buffer)) else { return false }
                return Array(value) == Array(mid.utf8)
            }
        }
        if target == nil {
            target = transceivers.first { t in
                let state = t.state.withLock { $0 }
                return !state.stopped && state.currentDirection?.receives == true && state.payloadType == header.payloadType
                    && t.receiver.state.withLock { $0.remoteSSRC == nil }
            }
            target?.receiver.state.withLock { $0.remoteSSRC = header.ssrc }
        }
        guard let transceiver = target, !transceiver.stopped else { return }
        let receiver = transceiver.receiver
        let payload = Array(buffer[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
        var level: UInt8?
        if let id = transceiver.state.withLock({ $0.audioLevelExtensionID }),
           let value = header.extensionElement(id: id, in: UnsafeRawBufferPointer(buffer)), let first = value.first {
            level = first & 0x7F
        }
        let (callback, decoder, ready) = receiver.state.withLock { state -> ((@Sendable (RTCRtpPacket) -> Void)?, OpusDecoder?, [[UInt8]?]) in
            state.packetsReceived &+= 1
            state.bytesReceived &+= UInt64(payload.count)
            guard receiver.track.hasPCMSinks else { return (state.onPacket, nil, []) }
            if state.decoder == nil { state.decoder = try? OpusDecoder(sampleRate: 48_000, channels: 2) }
            return (state.onPacket, state.decoder, state.reorder.insert(sequence: header.sequenceNumber, payload: payload))
        }
        if receiver.track.muted { receiver.track.markUnmuted() }
        callback?(RTCRtpPacket(payloadType: header.payloadType, sequenceNumber: header.sequenceNumber,
                               timestamp: header.timestamp, ssrc: header.ssrc, marker: header.marker,
                               payload: payload, audioLevel: level))
        guard let decoder else { return }
        for item in ready {
            // A packet given up on is concealed by the decoder (RFC 6716 §4.4), one frame of the last size.
            let frameSize = receiver.state.withLock { $0.lastFrameSize }
            guard let pcm = try? decoder.decode(item, frameSize: item == nil ? frameSize : nil), !pcm.isEmpty else { continue }
            let event = RTCOnDataEvent(samples: pcm, sampleRate: 48_000, channelCount: 2)
            let linear = AudioAnalysis.audioLevel(pcm)
            receiver.state.withLock { state in
                state.lastAudioLevel = linear
                if item != nil { state.lastFrameSize = pcm.count / 2 }
            }
            receiver.track.deliver(pcm: event)
        }
    }

    private func receiveRTCP(_ buffer: UnsafeMutableRawBufferPointer) {
        // Reports are parsed for their statistics; feedback for audio needs no action.
        _ = try? RTCPPacket.parseCompound(UnsafeRawBufferPointer(buffer))
    }

    /// Sender reports for active senders, receiver reports otherwise (RFC 3550 §6.4), with an SDES CNAME.
    private func sendReports(now: Instant) {
        guard let transport else { return }
        for transceiver in transceivers where !transceiver.stopped {
            let state = transceiver.sender.state.withLock { $0 }
            guard state.sentFirstPacket else { continue }
            let ntp = NTPTime(unixNanoseconds: WallClock.nanosecondsSince1970())
            var packet = RTCPPacket.serializeCompound([
                .senderReport(SenderReport(ssrc: transceiver.sender.ssrc, ntpTimestamp: ntp,
                                           rtpTimestamp: state.lastPacketTimestamp,
                                           packetCount: UInt32(truncatingIfNeeded: state.packetsSent),
                                           octetCount: UInt32(truncatingIfNeeded: state.bytesSent), reports: [])),
                .sourceDescription([SDESChunk(ssrc: transceiver.sender.ssrc, items: [.cname(cname)])]),
            ])
            transport.sendRTCP(&packet)
        }
        flushTransmits()
    }
}
