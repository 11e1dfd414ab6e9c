import DTLS
import ICE
import RTP
import SDP
import SkylarkBase
import Testing
import Transport
import VirtualNetwork

@testable import SFU

/// Relay cores and clients wired together in memory on a virtual clock: no sockets, no queues, no sleeps. Each
/// client is a full ICE agent (controlling), a DTLS client and SRTP — the library's own `BundleTransport` — at
/// its own address; the cores are the server's shards sharing one `SFUDirectory`, and datagrams reach the shard
/// the way `SFU.route` sends them. Every datagram crosses a `VirtualNetwork`: perfect unless a test sets its
/// conditions (for everyone, or per sender with `wire.linkConditions`).
final class VirtualRelay {
    var wire: VirtualNetwork
    var now: Instant { wire.now }
    let cores: [RelayCore]
    let directory: SFUDirectory
    private let clientContext: DTLSContext
    private let serverContext: DTLSContext
    private var clients: [SocketAddress: VirtualClient] = [:]
    private var slot = [UInt8](repeating: 0, count: 1_500)
    private var nextPort: UInt16 = 40_000
    private var random = SplitMix64(seed: 0xC0FFEE)
    /// Every `sessionEnded` the cores reported, with the reason.
    private(set) var ended: [(id: String, reason: String)] = []
    private(set) var started: [String] = []
    /// Datagrams from the server to clients; return false to lose one.
    var downlinkFilter: (VirtualClient, UnsafeRawBufferPointer) -> Bool = { _, _ in true }

    static let serverAddress = SocketAddress(ip: IPAddress("10.0.0.1")!, port: 8189)

    init(shards: Int = 1, maximumSessions: Int = 100, conditions: VirtualNetwork.Conditions = .perfect) throws {
        wire = VirtualNetwork(conditions: conditions, seed: 0x5EED)
        let configuration = SFUConfiguration(udpAddress: Self.serverAddress, maximumSessions: maximumSessions, workers: shards)
        directory = SFUDirectory(shardCount: shards)
        let context = try DTLSContext()
        serverContext = context
        let anchor = WallClockAnchor(instant: wire.now, unixNanoseconds: 1_750_000_000_000_000_000)
        cores = (0..<shards).map { [directory] index in
            RelayCore(shard: index, configuration: configuration, localAddress: Self.serverAddress, dtlsContext: context,
                      directory: directory, random: SplitMix64(seed: UInt64(index) + 1), wallClock: anchor)
        }
        clientContext = try DTLSContext()
    }

    // MARK: - Sessions

    /// A WHIP publisher on `shard` (claims the stream as `SFU.publish` does), connected unless told otherwise.
    /// With `simulcast`, it offers those rids as OBS does (`a=rid:<id> send`, `a=simulcast:send`, the rid extension).
    func publish(stream: String, video: Bool = false, simulcast: [String] = [], shard: Int = 0,
                 connect: Bool = true) throws -> VirtualClient {
        let client = makeClient(role: .publisher, video: video || !simulcast.isEmpty)
        client.simulcast = simulcast
        let id = "pub-\(client.address.port)"
        let claim = directory.claimPublisher(stream: stream, .init(sessionID: id, shard: shard,
                                                                   videoCodec: client.video ? VideoCodec(name: .vp8) : nil),
                                             replace: true)
        guard case .claimed = claim else { throw SFUError.streamBusy(stream) }
        try attach(client, id: id, stream: stream, shard: shard, connect: connect)
        return client
    }

    /// A WHEP viewer on `shard`.
    func play(stream: String, video: Bool = false, layer: LayerPreference = .high, shard: Int = 0,
              connect: Bool = true) throws -> VirtualClient {
        let client = makeClient(role: .viewer, video: video)
        try attach(client, id: "view-\(client.address.port)", stream: stream, shard: shard, connect: connect, layer: layer)
        return client
    }

    func core(of client: VirtualClient) -> RelayCore { cores[client.shard] }

    func session(of client: VirtualClient) -> MediaSession? { core(of: client).session(id: client.sessionID) }

    /// Ends a client's session as DELETE does.
    func end(_ client: VirtualClient, reason: String) {
        let core = core(of: client)
        if let session = core.session(id: client.sessionID) { core.end(session, reason: reason, now: now) }
        pump()
    }

    private func makeClient(role: MediaSession.Role, video: Bool) -> VirtualClient {
        nextPort += 1
        let address = SocketAddress(ip: IPAddress("10.0.1.2")!, port: nextPort)
        let client = VirtualClient(role: role, video: video, address: address, context: clientContext,
                                   credentials: ICECredentials.random(using: &random), ssrcBase: UInt32(nextPort) << 8)
        clients[address] = client
        return client
    }

    private func attach(_ client: VirtualClient, id: String, stream: String, shard: Int, connect: Bool,
                        layer: LayerPreference = .high) throws {
        let offer = try NegotiatedOffer(offer: SessionDescription(parsing: client.offer()), publisher: client.role == .publisher)
        let session = try cores[shard].makeSession(id: id, role: client.role, stream: stream, offer: offer, now: now)
        session.layers.preference = layer
        client.sessionID = id
        client.shard = shard
        client.accept(credentials: session.transport.ice.localCredentials, fingerprint: serverContext.certificate.fingerprint,
                      server: Self.serverAddress)
        pump()
        if connect {
            run(for: .milliseconds(500))
            #expect(session.isConnected && client.isConnected, "the client connects within 500 ms of virtual time")
        }
    }

    // MARK: - Time and delivery

    /// Moves the clock forward by `duration`, running every timer of the cores and the clients when it is due.
    func run(for duration: Duration) {
        let end = now + duration
        while true {
            var next = end
            for core in cores { if let deadline = core.nextDeadline, deadline < next { next = deadline } }
            for client in clients.values where client.isRunning {
                if let deadline = client.transport.nextDeadline, deadline < next { next = deadline }
            }
            if let arrival = wire.nextArrival, arrival < next { next = arrival }
            wire.advance(to: next)
            for core in cores where core.nextDeadline.map({ $0 <= now }) ?? false { core.handleTimeout(now: now) }
            for client in clients.values where client.isRunning {
                if let deadline = client.transport.nextDeadline, deadline <= now { client.transport.handleTimeout(now: now) }
            }
            pump()
            if now >= end { return }
        }
    }

    /// Delivers datagrams and events until nothing moves.
    func pump() {
        var moved = true
        while moved {
            moved = drainCores()
            for client in clients.values {
                while let transmit = client.transport.pollTransmit() {
                    moved = true
                    guard client.isRunning else { continue }  // a silent client loses what it would send
                    wire.send(transmit.bytes, from: client.address, to: transmit.destination)
                }
            }
            while var datagram = wire.nextDue() {
                moved = true
                if datagram.to == Self.serverAddress {
                    route(datagram.bytes, from: datagram.from)
                    // As the driver does: every output of one input is polled before the next input.
                    _ = drainCores()
                } else if let client = clients[datagram.to] {
                    let keep = datagram.bytes.withUnsafeBytes { downlinkFilter(client, $0) }
                    if keep { client.receive(&datagram.bytes, from: datagram.from, now: now) }
                }
            }
        }
    }

    /// Polls every core's events and datagrams until none is left; whether there were any.
    private func drainCores() -> Bool {
        var moved = false
        for core in cores {
            while let event = core.pollEvent() {
                moved = true
                handle(event)
            }
            while true {
                let written = slot.withUnsafeMutableBytes { core.pollTransmit(into: $0) }
                guard let (length, destination) = written else { break }
                moved = true
                wire.send(Array(slot[0..<length]), from: Self.serverAddress, to: destination)
            }
            while let event = core.pollEvent() {
                moved = true
                handle(event)
            }
        }
        return moved
    }

    /// Publisher → viewers: `count` packets of 20 ms from `client`, pumped one by one.
    func send(from client: VirtualClient, audioPackets count: Int) {
        for _ in 0..<count {
            client.sendAudio(now: now)
            pump()
            run(for: .milliseconds(20))
        }
    }

    func send(from client: VirtualClient, videoPackets count: Int) {
        for _ in 0..<count {
            client.sendVideo(now: now)
            pump()
            run(for: .milliseconds(10))
        }
    }

    /// As `SFU.route`: STUN by the ufrag in USERNAME, the rest by address.
    private func route(_ bytes: [UInt8], from remote: SocketAddress) {
        var copy = bytes
        let ufrag = bytes.first.map { $0 <= 3 } == true
            ? bytes.withUnsafeBytes { ICEAgent.usernameFragments(ofRequest: $0)?.local } : nil
        let target = cores.count == 1 ? 0 : directory.shard(forUfrag: ufrag, address: remote)
        guard let target else { return }
        copy.withUnsafeMutableBytes { cores[target].handleDatagram($0, from: remote, now: now) }
    }

    private func handle(_ event: RelayEvent) {
        switch event {
        case let .sessionStarted(info): started.append(info.id)
        case let .sessionEnded(info, reason): ended.append((info.id, reason))
        case let .relay(packet, shards):
            for index in cores.indices where shards & (1 << UInt64(index)) != 0 { cores[index].handleRelayed(packet, now: now) }
        case let .message(message, shard): cores[shard].handle(message, now: now)
        case .releaseFreeMemory: break
        }
    }
}

/// A WHIP or WHEP client of `VirtualRelay`: what it sent, and every RTP and RTCP packet it received, decrypted.
final class VirtualClient {
    struct Received {
        var header: RTPHeader
        var payload: [UInt8]
        var at: Instant
    }

    let role: MediaSession.Role
    let video: Bool
    let address: SocketAddress
    let credentials: ICECredentials
    let transport: BundleTransport
    private let context: DTLSContext
    var sessionID = ""
    var shard = 0
    /// False: the client goes silent (no checks, no media), as a closed laptop lid.
    var isRunning = true
    private(set) var rtp: [Received] = []
    private(set) var rtcp: [RTCPPacket] = []

    // Publisher side: what it sends.
    var audioSSRC: UInt32
    var videoSSRC: UInt32
    var audioSequence: UInt16 = 1_000
    var audioTimestamp: UInt32 = 50_000
    var videoSequence: UInt16 = 30_000
    var videoTimestamp: UInt32 = 900_000
    private(set) var sentVideo: [[UInt8]] = []

    static let opus: UInt8 = 111, vp8: UInt8 = 96, rtx: UInt8 = 97

    init(role: MediaSession.Role, video: Bool, address: SocketAddress, context: DTLSContext, credentials: ICECredentials,
         ssrcBase: UInt32) {
        self.role = role
        self.video = video
        self.address = address
        self.context = context
        self.credentials = credentials
        audioSSRC = ssrcBase | 1
        videoSSRC = ssrcBase | 2
        let agent = ICEAgent(role: .controlling, localCredentials: credentials, tieBreaker: UInt64(ssrcBase))
        agent.addLocalCandidate(.host(address: address))
        transport = BundleTransport(ice: agent, dtlsContext: context)
    }

    var isConnected: Bool { transport.srtp != nil }

    /// An offer as browsers write it: BUNDLE, rtcp-mux, actpass; Opus, and VP8 with NACK, PLI and RTX.
    func offer() -> String {
        let direction = role == .publisher ? "sendonly" : "recvonly"
        var lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", video ? "a=group:BUNDLE 0 1" : "a=group:BUNDLE 0",
                     "a=fingerprint:\(context.certificate.fingerprint.sdpValue)", "a=setup:actpass",
                     "a=ice-ufrag:\(credentials.ufrag)", "a=ice-pwd:\(credentials.password)",
                     "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0", "a=\(direction)", "a=rtcp-mux",
                     "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1"]
        if role == .publisher { lines.append("a=ssrc:\(audioSSRC) cname:virtual") }
        lines.append("a=candidate:1 1 udp 2130706431 \(address.ip) \(address.port) typ host")
        if video {
            lines += ["m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 0.0.0.0", "a=mid:1", "a=\(direction)", "a=rtcp-mux",
                      "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000",
                      "a=fmtp:97 apt=96"]
            if role == .publisher { lines.append("a=ssrc:\(videoSSRC) cname:virtual") }
            if !simulcast.isEmpty {
                lines += ["a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"]
                lines += simulcast.map { "a=rid:\($0) send" } + ["a=simulcast:send " + simulcast.joined(separator: ";")]
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Simulcast rids it offers (publishers), and per layer its SSRC and numbering.
    var simulcast: [String] = []
    private var layerSequences: [UInt16] = [100, 20_000, 40_000, 60_000]
    private var layerTimestamps: [UInt32] = [0, 0, 0, 0]

    func layerSSRC(_ index: Int) -> UInt32 { videoSSRC &+ 16 &+ UInt32(index) }

    /// One VP8 frame of simulcast layer `index` in one packet: its rid in the header extension (RFC 8852 §3.1,
    /// one-byte form, id 2 as OBS maps it) and `[layer index, frame number]` after the VP8 descriptor and payload
    /// header, so a viewer can tell which layer reached it.
    func sendLayer(_ index: Int, keyframe: Bool, size: Int, withRid: Bool = true) {
        let rid = Array(simulcast[index].utf8)
        var packet = Self.rtp(payloadType: Self.vp8, sequence: layerSequences[index], timestamp: layerTimestamps[index],
                              ssrc: layerSSRC(index), payload: [], marker: true)
        if withRid {
            packet[0] |= 0x10
            let words = (1 + rid.count + 3) / 4
            packet += [0xBE, 0xDE, 0, UInt8(words), 0x20 | UInt8(rid.count - 1)] + rid
            packet += Array(repeating: 0, count: words * 4 - 1 - rid.count)
        }
        packet += [0x10, keyframe ? 0x00 : 0x01, UInt8(index), UInt8(truncatingIfNeeded: layerSequences[index])]
        packet += Array(repeating: 0x66, count: max(0, size - 4))
        layerSequences[index] &+= 1
        layerTimestamps[index] &+= 3_000
        transport.sendRTP(&packet)
    }

    /// Applies the server's answer: its credentials, fingerprint and host candidate; the server is the DTLS server.
    func accept(credentials remote: ICECredentials, fingerprint: CertificateFingerprint, server: SocketAddress) {
        transport.ice.setRemoteCredentials(remote)
        transport.ice.addRemoteCandidate(.host(address: server))
        transport.ice.setRemoteEndOfCandidates()
        try? transport.configureDTLS(role: .client, remoteFingerprints: [fingerprint])
    }

    func receive(_ datagram: inout [UInt8], from remote: SocketAddress, now: Instant) {
        guard isRunning else { return }
        datagram.withUnsafeMutableBytes { bytes in
            transport.handleReceive(bytes, from: remote, localAddress: address, now: now) { packet in
                switch packet {
                case let .rtp(buffer):
                    let raw = UnsafeRawBufferPointer(buffer)
                    guard let header = try? RTPHeader(parsing: raw) else { return }
                    let payload = Array(raw[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
                    rtp.append(Received(header: header, payload: payload, at: now))
                case let .rtcp(buffer):
                    rtcp += (try? RTCPPacket.parseCompound(UnsafeRawBufferPointer(buffer))) ?? []
                }
            }
        }
    }

    /// 20 ms of audio: the payload says which packet it is (its sequence number), so a viewer can tell.
    func sendAudio(now: Instant) {
        var packet = Self.rtp(payloadType: Self.opus, sequence: audioSequence, timestamp: audioTimestamp, ssrc: audioSSRC,
                              payload: [0xA0, UInt8(audioSequence >> 8), UInt8(audioSequence & 0xFF)] + Array(repeating: 0x55, count: 60))
        audioSequence &+= 1
        audioTimestamp &+= 960
        transport.sendRTP(&packet)
    }

    /// One VP8 packet (a frame every 3 packets, 90 kHz), kept so retransmissions can be compared.
    func sendVideo(now: Instant) {
        let payload = [0x10, UInt8(videoSequence >> 8), UInt8(videoSequence & 0xFF)] + Array(repeating: UInt8(0x77), count: 900)
        let marker = videoSequence % 3 == 2
        var packet = Self.rtp(payloadType: Self.vp8, sequence: videoSequence, timestamp: videoTimestamp, ssrc: videoSSRC,
                              payload: payload, marker: marker)
        sentVideo.append(payload)
        videoSequence &+= 1
        if marker { videoTimestamp &+= 3_000 }
        transport.sendRTP(&packet)
    }

    /// Sends RTCP (e.g. a NACK or PLI as a viewer).
    func sendRTCP(_ packets: [RTCPPacket]) {
        var compound = RTCPPacket.serializeCompound(packets)
        transport.sendRTCP(&compound)
    }

    static func rtp(payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32, payload: [UInt8],
                    marker: Bool = false) -> [UInt8] {
        var packet = [0x80, (marker ? 0x80 : 0) | payloadType, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8(truncatingIfNeeded: timestamp >> UInt32(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8(truncatingIfNeeded: ssrc >> UInt32(shift))) }
        return packet + payload
    }

    var pictureLossIndications: Int { rtcp.filter { if case .pli = $0 { return true } else { return false } }.count }
}
