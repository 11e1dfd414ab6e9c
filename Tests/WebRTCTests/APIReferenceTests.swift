import Opus
import Synchronization
import Testing
import SkylarkBase
import SkylarkTestSupport
@testable import WebRTC

/// Two connections on one simulated network, alice offering; `connect()` negotiates and lets ICE and DTLS finish.
private struct Pair {
    let network = SimulatedNetwork(seed: 11)
    let alice: RTCPeerConnection
    let bob: RTCPeerConnection

    init() throws {
        alice = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 1)], network: network))
        bob = try RTCPeerConnection(configuration: RTCConfiguration(bindAddresses: [.v4(10, 0, 0, 2)], network: network))
    }

    func connect() async throws {
        try await negotiate(offerer: alice, answerer: bob)
        network.run(for: .seconds(2))
    }

    /// Runs the network for `seconds`, pushing 10 ms of tone into each source every 10 ms of simulated time.
    func feed(_ sources: [RTCAudioSource], seconds: Int64, frequency: Double = 440) {
        var tone = ToneGenerator(frequency: frequency, amplitude: 0.3, sampleRate: 48_000, channels: 1)
        var next = network.now()
        network.run(for: .seconds(seconds)) { now in
            while next <= now {
                let samples = tone.nextFrame()
                for source in sources { source.onData(RTCOnDataEvent(samples: samples, sampleRate: 48_000, channelCount: 1)) }
                next += .milliseconds(10)
                // Senders hand frames to the connection's queue asynchronously: let them go out at this instant.
                alice.queue.sync {}
            }
        }
    }

    func close() {
        alice.close()
        bob.close()
    }
}

/// Counts the samples a local or remote track hands to an `RTCAudioSink`, and whether any was not zero.
private final class SampleCounter: Sendable {
    private final class Counts: Sendable {
        let value = Mutex<(samples: Int, nonZero: Int)>((0, 0))
    }

    private let counts = Counts()
    let sink: RTCAudioSink

    init(_ track: MediaStreamTrack) {
        sink = RTCAudioSink(track: track)
        sink.onData = { [counts] event in
            counts.value.withLock { $0.samples += event.samples.count; $0.nonZero += event.samples.filter { $0 != 0 }.count }
        }
    }

    var samples: Int { counts.value.withLock { $0.samples } }
    var nonZero: Int { counts.value.withLock { $0.nonZero } }
}

/// One test per member of the python-webrtc reference that needed work, plus the enumerations in full.
@Suite(.serialized) struct APIReferenceTests {
    // MARK: Enumerations

    @Test func everyEnumerationHasTheReferenceMembersInOrder() {
        #expect(CricketIceGatheringState.allCases.map(\.name) == ["new", "gathering", "complete"])
        #expect(RTCIceGatheringState.allCases.map(\.name) == ["new", "gathering", "complete"])
        #expect(DtlsTransportState.allCases.map(\.name) == ["new", "connecting", "connected", "closed", "failed"])
        #expect(MediaStreamSourceState.allCases.map(\.name) == ["initializing", "live", "ended", "muted"])
        #expect(MediaStreamTrackState.allCases.map(\.name) == ["live", "ended"])
        #expect(MediaType.allCases.map(\.name) == ["audio", "video", "data", "unsupported"])
        #expect(RTCIceComponent.allCases.map(\.name) == ["RTP", "RTCP"])
        #expect(RTCIceComponent.allCases.map(\.value) == [1, 2])
        #expect(RTCIceConnectionState.allCases.map(\.name)
            == ["new", "checking", "connected", "completed", "failed", "disconnected", "closed", "max"])
        #expect(RTCIceRole.allCases.map(\.name) == ["controlling", "controlled", "unknown"])
        #expect(RTCIceTransportState.allCases.map(\.name)
            == ["new", "checking", "connected", "completed", "disconnected", "failed", "closed"])
        #expect(RTCPeerConnectionState.allCases.map(\.name)
            == ["new", "connecting", "connected", "disconnected", "failed", "closed"])
        #expect(RTCSdpType.allCases.map(\.name) == ["offer", "pranswer", "answer", "rollback"])
        #expect(SctpTransportState.allCases.map(\.name) == ["new", "connecting", "connected", "closed"])
        #expect(TransceiverDirection.allCases.map(\.name) == ["sendrecv", "sendonly", "recvonly", "inactive", "stopped"])
        // Values are the positions in the reference's member list.
        #expect(DtlsTransportState.allCases.map(\.value) == Array(0..<5))
        #expect(RTCIceTransportState.allCases.map(\.value) == Array(0..<7))
    }

    // MARK: Exceptions and the common base

    @Test func everyErrorIsAPythonWebRTCExceptionBase() async throws {
        let pc = try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
        defer { pc.close() }
        var caught: [String] = []
        do { _ = try await pc.createAnswer() } catch let error as any PythonWebRTCExceptionBase {
            caught.append(error.message)
            #expect(error is RTCException)
        }
        do { try await pc.setRemoteDescription(RTCSessionDescriptionInit(type: .offer, sdp: "garbage")) } catch let error as any PythonWebRTCExceptionBase {
            caught.append(error.message)
            #expect(error is SdpParseException)
        }
        #expect(caught.count == 2 && caught.allSatisfy { !$0.isEmpty })
        let native: any PythonWebRTCExceptionBase = PythonWebRTCException("no certificate")
        #expect(native.message == "no certificate" && native.description == "no certificate")
    }

    @Test func everyReferenceClassIsAWebRTCObject() throws {
        let pc = try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
        defer { pc.close() }
        let source = RTCAudioSource()
        let transceiver = try pc.addTransceiver(source.createTrack())
        let objects: [any WebRTCObject] = [
            pc, MediaStream(), source.createTrack(), source, RTCOnDataEvent(samples: []), pc.dtlsTransport,
            pc.dtlsTransport.iceTransport, transceiver, transceiver.sender, transceiver.receiver,
            RTCSessionDescription(type: .offer, sdp: ""), RTCSessionDescriptionInit(type: .answer),
            RtpEncodingParameters(), RtpTransceiverInit(),
            RTCSctpTransport(transport: pc.dtlsTransport, state: .new, maxChannels: nil, maxMessageSize: nil),
        ]
        #expect(objects.count == 15)
        #expect(objects.filter { $0 is RTCRtpTransceiver }.count == 1)
    }

    // MARK: RTCOnDataEvent

    @Test func onDataEventKeepsItsFieldsAndRoundTripsAudioData() {
        let bytes: [UInt8] = [0x01, 0x00, 0xFF, 0x7F, 0x00, 0x80, 0xFE, 0xFF]
        let event = RTCOnDataEvent(audioData: bytes, numberOfFrames: 2, sampleRate: 16_000, channelCount: 2)
        #expect(event.samples == [1, Int16.max, Int16.min, -2])
        #expect(event.audioData == bytes)
        #expect(event.bitsPerSample == 16 && event.sampleRate == 16_000 && event.channelCount == 2 && event.numberOfFrames == 2)
        let eight = RTCOnDataEvent(audioData: [1, 2, 3, 4], numberOfFrames: 4, bitsPerSample: 8)
        #expect(eight.bitsPerSample == 8 && eight.samples.isEmpty && eight.numberOfFrames == 4)
    }

    @Test func sourceTakesOnlySixteenBitData() {
        let source = RTCAudioSource()
        let track = source.createTrack()
        let heard = SampleCounter(track)
        let tenMs = [UInt8](repeating: 0x10, count: 960)
        source.onData(RTCOnDataEvent(audioData: tenMs, numberOfFrames: 960, bitsPerSample: 8))
        #expect(heard.samples == 0)
        source.onData(RTCOnDataEvent(audioData: tenMs, numberOfFrames: 480, bitsPerSample: 16))
        #expect(heard.samples == 480 && heard.nonZero == 480)
        // A disabled track renders silence; a stopped one renders nothing.
        track.enabled = false
        source.onData(RTCOnDataEvent(audioData: tenMs, numberOfFrames: 480))
        #expect(heard.samples == 960 && heard.nonZero == 480)
        track.stop()
        source.onData(RTCOnDataEvent(audioData: tenMs, numberOfFrames: 480))
        #expect(heard.samples == 960)
    }

    // MARK: MediaStream and MediaStreamTrack

    @Test func mediaStreamActiveFollowsItsTracksAndLookupsMiss() {
        let source = RTCAudioSource()
        let first = source.createTrack(), second = source.createTrack()
        let stream = MediaStream(tracks: [first, second, first])
        #expect(stream.getTracks().count == 2)
        #expect(stream.getTrackById("not-a-track") == nil)
        stream.removeTrack(source.createTrack())
        #expect(stream.getTracks().count == 2)
        first.stop()
        #expect(stream.active)
        second.stop()
        #expect(!stream.active)
        #expect(!MediaStream().active)
        let clone = stream.clone()
        #expect(clone.getTracks().allSatisfy { $0.readyState == .ended } && clone.getTracks().count == 2)
        #expect(Set(clone.getTracks().map(\.id)).isDisjoint(with: stream.getTracks().map(\.id)))
    }

    @Test func localTrackCloneIsFedBySameSourceButStopsAlone() {
        let source = RTCAudioSource()
        let track = source.createTrack()
        let clone = track.clone()
        #expect(track.id.count == 36 && clone.id != track.id && clone.kind == .audio && !clone.isRemote)
        let original = SampleCounter(track), copy = SampleCounter(clone)
        source.onData(RTCOnDataEvent(samples: [Int16](repeating: 100, count: 480)))
        #expect(original.samples == 480 && copy.samples == 480)
        track.stop()
        source.onData(RTCOnDataEvent(samples: [Int16](repeating: 100, count: 480)))
        #expect(original.samples == 480 && copy.samples == 960)
        #expect(clone.readyState == .live && track.readyState == .ended)
    }

    @Test func remoteTrackCloneHearsTheReceiverAndEndsWithTheTransceiver() async throws {
        let pair = try Pair()
        defer { pair.close() }
        let source = RTCAudioSource()
        try pair.alice.addTrack(source.createTrack())
        try await pair.connect()
        let receiverTransceiver = try #require(pair.bob.getTransceivers().first)
        let remote = receiverTransceiver.receiver.track
        #expect(remote.muted && remote.isRemote)
        let clone = remote.clone()
        #expect(clone.muted && clone.isRemote && clone.kind == .audio && clone.id != remote.id)
        let heard = HeardAudio(track: clone)
        pair.feed([source], seconds: 1, frequency: 660)
        #expect(!remote.muted && !clone.muted)
        #expect(abs(heard.frequency - 660) < 5, "clone heard \(heard.frequency) Hz")
        // Stopping the receiver's own track leaves the clone playing.
        remote.stop()
        let before = heard.all.count
        pair.feed([source], seconds: 1, frequency: 660)
        #expect(clone.readyState == .live && heard.all.count > before + 40_000)
        receiverTransceiver.stop()
        #expect(clone.readyState == .ended)
    }

    // MARK: Transports

    @Test func transportsReportTheNegotiatedConnection() async throws {
        let pair = try Pair()
        defer { pair.close() }
        let sender = try pair.alice.addTrack(RTCAudioSource().createTrack())
        #expect(sender.transport == nil)
        let ice = pair.alice.dtlsTransport.iceTransport
        #expect(ice.state == .new && ice.gatheringState == .new && ice.role == .unknown && pair.alice.dtlsTransport.state == .new)
        try await pair.connect()
        let aliceDTLS = try #require(sender.transport)
        #expect(aliceDTLS === pair.alice.getTransceivers()[0].receiver.transport)
        #expect(aliceDTLS.state == .connected)
        #expect(aliceDTLS.iceTransport.component == .rtp)
        #expect(aliceDTLS.iceTransport.gatheringState == .complete)
        #expect([.connected, .completed].contains(aliceDTLS.iceTransport.state))
        #expect(aliceDTLS.iceTransport.role == .controlling)
        let bobDTLS = try #require(pair.bob.getReceivers().first?.transport)
        #expect(bobDTLS !== aliceDTLS && bobDTLS.state == .connected && bobDTLS.iceTransport.role == .controlled)
        // No data channel is negotiated, so there is no SCTP transport.
        #expect(pair.alice.sctp == nil && pair.bob.sctp == nil)
        pair.alice.close()
        #expect(aliceDTLS.state == .closed && aliceDTLS.iceTransport.state == .closed)
    }

    @Test func sctpTransportCarriesItsLimits() throws {
        let pc = try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
        defer { pc.close() }
        let sctp = RTCSctpTransport(transport: pc.dtlsTransport, state: .connecting, maxChannels: 65_535, maxMessageSize: 262_144)
        #expect(sctp.transport === pc.dtlsTransport && sctp.state == .connecting)
        #expect(sctp.maxChannels == 65_535 && sctp.maxMessageSize == 262_144)
    }

    // MARK: RTCRtpTransceiver and RtpTransceiverInit

    @Test func transceiverInitSetsDirectionAndStreams() async throws {
        let pair = try Pair()
        defer { pair.close() }
        let stream = MediaStream()
        let source = RTCAudioSource()
        let transceiver = try pair.alice.addTransceiver(source.createTrack(), RtpTransceiverInit(direction: .sendonly, streams: [stream]))
        #expect(transceiver.direction == .sendonly && transceiver.mid == nil && transceiver.currentDirection == nil)
        let events = Mutex<[RTCTrackEvent]>([])
        pair.bob.onTrack = { event in events.withLock { $0.append(event) } }
        try await pair.connect()
        #expect(transceiver.mid == "0" && transceiver.currentDirection == .sendonly)
        let remote = try #require(pair.bob.getTransceivers().first)
        #expect(remote.mid == "0" && remote.currentDirection == .recvonly && remote.direction == .recvonly)
        let event = try #require(events.withLock { $0.first })
        #expect(event.streams.map(\.id) == [stream.id])
        #expect(event.streams.first?.getTrackById(event.track.id) === remote.receiver.track)
        #expect(event.transceiver === remote && event.receiver === remote.receiver)
    }

    @Test func directionChangesReachTheNextOfferAndStoppedIsRefused() async throws {
        let pc = try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
        defer { pc.close() }
        let transceiver = try pc.addTransceiver(.audio)
        #expect(transceiver.direction == .sendrecv && transceiver.kind == .audio)
        transceiver.direction = .recvonly
        #expect(try await pc.createOffer().sdp.contains("a=recvonly"))
        transceiver.direction = .stopped
        #expect(transceiver.direction == .recvonly && !transceiver.stopped)
        transceiver.stop()
        transceiver.direction = .sendrecv
        #expect(transceiver.direction == .stopped && transceiver.currentDirection == .stopped && transceiver.stopped)
        #expect(pc.getSenders().isEmpty && pc.getReceivers().isEmpty && pc.getTransceivers().count == 1)
        #expect(transceiver.receiver.track.readyState == .ended)
    }

    // MARK: RtpEncodingParameters

    @Test func sendEncodingsAreValidatedAsW3CSays() throws {
        let pc = try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
        defer { pc.close() }
        func name(_ encodings: [RtpEncodingParameters], kind: MediaType = .audio) -> String? {
            do {
                _ = try pc.addTransceiver(kind, RtpTransceiverInit(sendEncodings: encodings))
                return nil
            } catch let error as RTCException { return error.name } catch { return "\(error)" }
        }
        #expect(name([RtpEncodingParameters(rid: "a b")]) == "TypeError")
        #expect(name([RtpEncodingParameters(rid: "")]) == "TypeError")
        #expect(name([RtpEncodingParameters(rid: "hi"), RtpEncodingParameters(rid: "hi")]) == "TypeError")
        #expect(name([RtpEncodingParameters(rid: "hi"), RtpEncodingParameters()]) == "TypeError")
        #expect(name([RtpEncodingParameters(scaleResolutionDownBy: 0.5)], kind: .video) == "RangeError")
        #expect(name([RtpEncodingParameters(maxFramerate: 0)], kind: .video) == "RangeError")
        #expect(name([RtpEncodingParameters(maxBitrate: -1)]) == "RangeError")
        #expect(pc.getTransceivers().isEmpty)
        // Audio drops the video-only members instead of rejecting them; one stream per sender.
        let audio = try pc.addTransceiver(.audio, RtpTransceiverInit(sendEncodings: [
            RtpEncodingParameters(maxBitrate: 32_000, maxFramerate: 0, rid: "lo", scaleResolutionDownBy: 0.5),
            RtpEncodingParameters(rid: "hi"),
        ]))
        #expect(audio.sender.state.withLock { $0.encodings } == [RtpEncodingParameters(maxBitrate: 32_000, rid: "lo")])
        let video = try pc.addTransceiver(.video)
        #expect(video.sender.state.withLock { $0.encodings } == [RtpEncodingParameters(scaleResolutionDownBy: 1)])
        #expect(try pc.addTransceiver(.audio).sender.state.withLock { $0.encodings } == [RtpEncodingParameters()])
    }

    @Test func inactiveEncodingSendsNothingAndMaxBitrateCapsTheEncoder() async throws {
        let pair = try Pair()
        defer { pair.close() }
        let free = RTCAudioSource(), capped = RTCAudioSource(), silent = RTCAudioSource()
        let freeSender = try pair.alice.addTrack(free.createTrack())
        let cappedSender = try pair.alice.addTransceiver(capped.createTrack(),
                                                         RtpTransceiverInit(sendEncodings: [RtpEncodingParameters(maxBitrate: 8_000)])).sender
        let silentSender = try pair.alice.addTransceiver(silent.createTrack(),
                                                         RtpTransceiverInit(sendEncodings: [RtpEncodingParameters(active: false)])).sender
        try await pair.connect()
        pair.feed([free, capped, silent], seconds: 1)
        #expect(freeSender.packetsSent >= 45 && cappedSender.packetsSent >= 45)
        #expect(silentSender.packetsSent == 0)
        let receivers = pair.bob.getReceivers()
        #expect(receivers.count == 3 && receivers[2].packetsReceived == 0 && receivers[1].packetsReceived >= 45)
        let freeBytes = Double(freeSender.bytesSent) / Double(freeSender.packetsSent)
        let cappedBytes = Double(cappedSender.bytesSent) / Double(cappedSender.packetsSent)
        // 8 kbit/s in 20 ms frames is 20 bytes a packet.
        #expect(cappedBytes <= 30, "capped: \(cappedBytes) bytes a packet")
        #expect(freeBytes > 2 * cappedBytes, "uncapped: \(freeBytes) bytes a packet")
    }

    // MARK: Session descriptions and getUserMedia

    @Test func sessionDescriptionInitDefaultsToEmptySDPAndIsAccepted() async throws {
        let initializer = RTCSessionDescriptionInit(type: .rollback)
        #expect(initializer.sdp.isEmpty)
        let description = RTCSessionDescription(RTCSessionDescriptionInit(type: .answer, sdp: "v=0"))
        #expect(description.type == .answer && description.sdp == "v=0")
        let pc = try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
        defer { pc.close() }
        try pc.addTransceiver(.audio)
        let offer = try await pc.createOffer()
        try await pc.setLocalDescription(RTCSessionDescriptionInit(type: offer.type, sdp: offer.sdp))
        #expect(pc.signalingState == .haveLocalOffer && pc.localDescription?.type == .offer)
    }

    @Test func getUserMediaToneIsAudible() async throws {
        let stream = try getUserMedia(constraints: MediaStreamConstraints(toneFrequency: 1_000))
        let track = try #require(stream.getAudioTracks().first)
        #expect(stream.id.count == 36 && stream.active && stream.getVideoTracks().isEmpty)
        let heard = HeardAudio(track: track)
        for _ in 0..<100 where heard.all.count < 14_400 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(abs(heard.frequency - 1_000) < 10, "heard \(heard.frequency) Hz")
        track.stop()
        #expect(!stream.active)
        #expect(throws: RTCException.self) { try getUserMedia(constraints: MediaStreamConstraints(audio: false)) }
    }
}
