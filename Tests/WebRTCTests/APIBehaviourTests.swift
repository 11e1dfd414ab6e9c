import Testing
import SkylarkBase
import SkylarkTestSupport
@testable import WebRTC

@Suite struct APIBehaviourTests {
    func makeConnection() throws -> RTCPeerConnection {
        try RTCPeerConnection(configuration: RTCConfiguration(network: SimulatedNetwork()))
    }

    @Test func mediaStreamHasUUIDAndIgnoresDuplicateTracks() throws {
        let source = RTCAudioSource()
        let track = source.createTrack()
        let stream = MediaStream()
        #expect(stream.id.count == 36)
        #expect(stream.id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        stream.addTrack(track)
        stream.addTrack(track)
        #expect(stream.getTracks().count == 1)
        #expect(stream.getAudioTracks().count == 1 && stream.getVideoTracks().isEmpty)
        #expect(stream.getTrackById(track.id) === track)
        #expect(stream.active)
        let clone = stream.clone()
        #expect(clone.id != stream.id && clone.getTracks().count == 1 && clone.getTracks()[0].id != track.id)
        stream.removeTrack(track)
        stream.removeTrack(track)
        #expect(stream.getTracks().isEmpty)
    }

    @Test func trackLifecycle() {
        let track = RTCAudioSource().createTrack()
        #expect(track.kind == .audio && track.readyState == .live && track.enabled && !track.muted)
        track.enabled = false
        let clone = track.clone()
        #expect(clone.id != track.id && !clone.enabled)
        track.stop()
        #expect(track.readyState == .ended)
        #expect(clone.readyState == .live)
    }

    @Test func enumerationsExposeNameAndValue() {
        #expect(RTCIceConnectionState.checking.name == "checking" && RTCIceConnectionState.checking.value == 1)
        #expect(RTCIceConnectionState.max.value == 7)
        #expect(RTCIceComponent.rtp.name == "RTP" && RTCIceComponent.rtcp.name == "RTCP")
        #expect(TransceiverDirection.allCases.map(\.name) == ["sendrecv", "sendonly", "recvonly", "inactive", "stopped"])
        #expect(MediaType.unsupported.value == 3)
        #expect(RTCSdpType.rollback.value == 3 && RTCSdpType.pranswer.name == "pranswer")
        #expect(DtlsTransportState.failed.value == 4)
        #expect(RTCPeerConnectionState.allCases.count == 6 && SctpTransportState.allCases.count == 4)
        #expect(MediaStreamSourceState.muted.value == 3 && MediaStreamTrackState.ended.value == 1)
        #expect(RTCIceRole.unknown.value == 2 && CricketIceGatheringState.complete.value == 2)
        #expect(RTCIceGatheringState.gathering.name == "gathering" && RTCIceTransportState.closed.value == 6)
    }

    @Test func addTrackTwiceIsANoOpAndTransceiversKeepOrder() throws {
        let pc = try makeConnection()
        let source = RTCAudioSource()
        let first = source.createTrack(), second = source.createTrack()
        let sender = try pc.addTrack(first)
        #expect(try pc.addTrack(first) === sender)
        let video = try pc.addTransceiver(.video, RtpTransceiverInit(direction: .recvonly))
        try pc.addTrack(second)
        let transceivers = pc.getTransceivers()
        #expect(transceivers.count == 3)
        #expect(transceivers[0].sender === sender && transceivers[1] === video)
        #expect(transceivers[2].sender.track === second)
        #expect(pc.getSenders().count == 3 && pc.getReceivers().count == 3)
        #expect(transceivers.allSatisfy { $0.mid == nil && $0.currentDirection == nil })
        #expect(pc.sctp == nil)
    }

    @Test func removeTrackKeepsTheSenderWithoutTrack() throws {
        let pc = try makeConnection()
        let sender = try pc.addTrack(RTCAudioSource().createTrack())
        try pc.removeTrack(sender)
        #expect(sender.track == nil)
        #expect(pc.getSenders().contains { $0 === sender })
        #expect(pc.getTransceivers()[0].direction == .recvonly)
    }

    @Test func stoppedTransceiverReportsStopped() throws {
        let pc = try makeConnection()
        let transceiver = try pc.addTransceiver(.audio)
        transceiver.stop()
        #expect(transceiver.currentDirection == .stopped)
        #expect(transceiver.stopped)
        #expect(transceiver.receiver.track.readyState == .ended)
    }

    @Test func offerDescribesTheTransceivers() async throws {
        let pc = try makeConnection()
        let stream = MediaStream()
        let track = RTCAudioSource().createTrack()
        try pc.addTrack(track, stream)
        let offer = try await pc.createOffer()
        #expect(offer.type == .offer)
        #expect(offer.sdp.contains("m=audio"))
        #expect(offer.sdp.contains("a=rtpmap:111 opus/48000/2"))
        #expect(offer.sdp.contains("a=setup:actpass"))
        #expect(offer.sdp.contains("a=msid:\(stream.id) \(track.id)"))
        #expect(offer.sdp.contains("a=fingerprint:sha-256 "))
        #expect(pc.getTransceivers()[0].mid == "0")
    }

    @Test func restartIceChangesCredentials() async throws {
        let pc = try makeConnection()
        try pc.addTransceiver(.audio)
        func ufrag(_ sdp: String) -> Substring? {
            sdp.split(separator: "\r\n").first { $0.hasPrefix("a=ice-ufrag:") }
        }
        let first = try await pc.createOffer()
        try await pc.setLocalDescription(first)
        let again = try await pc.createOffer()
        #expect(ufrag(first.sdp) == ufrag(again.sdp))
        pc.restartIce()
        let restarted = try await pc.createOffer()
        #expect(ufrag(first.sdp) != ufrag(restarted.sdp))
        pc.close()
    }

    @Test func wrongSignalingStateThrows() async throws {
        let pc = try makeConnection()
        await #expect(throws: RTCException.self) { _ = try await pc.createAnswer() }
        try pc.addTransceiver(.audio)
        let offer = try await pc.createOffer()
        await #expect(throws: RTCException.self) {
            try await pc.setRemoteDescription(RTCSessionDescription(type: .answer, sdp: offer.sdp))
        }
        pc.close()
        #expect(pc.signalingState == .closed)
        await #expect(throws: RTCException.self) { _ = try await pc.createOffer() }
    }

    @Test func unreadableSDPNamesTheLine() async throws {
        let pc = try makeConnection()
        do {
            try await pc.setRemoteDescription(RTCSessionDescription(type: .offer, sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio notaport UDP/TLS/RTP/SAVPF 111\r\n"))
            Issue.record("expected a parse error")
        } catch let error as SdpParseException {
            #expect(error.line == 5)
        }
        await #expect(throws: SdpParseException.self) {
            try await pc.setRemoteDescription(RTCSessionDescription(type: .offer, sdp: "garbage"))
        }
        #expect(pc.signalingState == .stable)
    }

    @Test func getUserMediaGivesALiveToneTrack() throws {
        let stream = try getUserMedia()
        #expect(stream.getAudioTracks().count == 1)
        #expect(stream.getAudioTracks()[0].readyState == .live)
        #expect(throws: RTCException.self) { try getUserMedia(constraints: MediaStreamConstraints(video: true)) }
        stream.getTracks().forEach { $0.stop() }
    }
}
