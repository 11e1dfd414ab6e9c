import Dispatch
import DTLS
import RTP
import Runtime
import SkylarkBase
import UDPRuntime
import Transport

/// What one shard measured, copied out once a second.
struct ShardSnapshot: Sendable {
    var packetsReceived: UInt64 = 0
    var bytesReceived: UInt64 = 0
    /// Sum over viewers of packets expected from sequence numbers (RFC 3550 §6.4.1 "expected").
    var packetsExpected: UInt64 = 0
    var publisherPacketsSent: UInt64 = 0
    /// The video share of what viewers received.
    var videoPacketsReceived: UInt64 = 0
    var videoBytesReceived: UInt64 = 0
    var delayInterval = Histogram()
    var delayWindow = Histogram()
    var join = Histogram()
    var publisherJoin = Histogram()
    /// POST → first video packet (so a keyframe's wait is in it).
    var videoJoin = Histogram()
    var failures: [String: Int] = [:]
    var viewers = 0
    /// Viewers that got media in the last two seconds.
    var viewersReceiving = 0
    /// Viewers that got video in the last two seconds, by the publisher's layer it came from (lowest first).
    var viewersByLayer: [Int] = []
    var publishersConnected = 0
    /// Viewers that are done joining: media arrived, or they failed.
    var viewersSettled = 0
    var jitterSum: Double = 0
    var jitterCount = 0
    var jitterMax: Double = 0
    /// When the last viewer got its first packet (monotonic ns).
    var lastJoinAt: UInt64 = 0

    mutating func merge(_ other: ShardSnapshot) {
        packetsReceived &+= other.packetsReceived
        bytesReceived &+= other.bytesReceived
        packetsExpected &+= other.packetsExpected
        publisherPacketsSent &+= other.publisherPacketsSent
        videoPacketsReceived &+= other.videoPacketsReceived
        videoBytesReceived &+= other.videoBytesReceived
        videoJoin.merge(other.videoJoin)
        for (layer, count) in other.viewersByLayer.enumerated() {
            if viewersByLayer.count <= layer { viewersByLayer += repeatElement(0, count: layer + 1 - viewersByLayer.count) }
            viewersByLayer[layer] += count
        }
        delayInterval.merge(other.delayInterval)
        delayWindow.merge(other.delayWindow)
        join.merge(other.join)
        publisherJoin.merge(other.publisherJoin)
        for (reason, count) in other.failures { failures[reason, default: 0] += count }
        viewers += other.viewers
        viewersReceiving += other.viewersReceiving
        publishersConnected += other.publishersConnected
        viewersSettled += other.viewersSettled
        jitterSum += other.jitterSum
        jitterCount += other.jitterCount
        jitterMax = max(jitterMax, other.jitterMax)
        lastJoinAt = max(lastJoinAt, other.lastJoinAt)
    }
}

/// A serial queue owning a share of the clients: their sockets' reads (recvmmsg into one `DatagramReceiver`), one
/// repeating timer for ICE/DTLS deadlines, publisher pacing and join timeouts, and the counters.
///
/// A joining client's socket is read on every datagram, so handshakes are not slowed. Once a viewer has media its
/// socket is read on a timer instead (`pollMilliseconds`): on loopback the server's own CPU delivers each datagram
/// into the viewer's socket, and a reader waiting in epoll makes that delivery wake it — per packet, on the
/// server's CPU, a cost viewers on other machines never put on a server. Delay and jitter use the kernel's
/// arrival time (SO_TIMESTAMPNS), so when the socket is read does not change them.
final class Shard: @unchecked Sendable {
    let queue: DispatchQueue
    private let context: DTLSContext
    private let payloadSize: Int
    private let joinTimeout: UInt64
    private let tickInterval: DispatchTimeInterval = .milliseconds(5)
    private let pollInterval: DispatchTimeInterval?

    // Owned by `queue`.
    private var clients: [LoadClient] = []
    private var counters = ShardSnapshot()
    private let batch = DatagramBatch(capacity: 16)
    private let receiver = DatagramReceiver()
    /// Viewers with media, read by `poll` instead of a read source.
    private var polled: [LoadClient] = []
    private var timer: DispatchSourceTimer?
    private var pollTimer: DispatchSourceTimer?
    private var stopped = false

    init(index: Int, context: DTLSContext, payloadSize: Int, joinTimeoutSeconds: Double, pollMilliseconds: Int = 20) {
        queue = DispatchQueue(label: "skylark.load.shard\(index)")
        self.context = context
        self.payloadSize = payloadSize
        joinTimeout = UInt64(joinTimeoutSeconds * 1e9)
        pollInterval = pollMilliseconds > 0 ? .milliseconds(pollMilliseconds) : nil
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + tickInterval, repeating: tickInterval, leeway: .milliseconds(1))
        timer.setEventHandler { [unowned self] in self.tick() }
        timer.resume()
        self.timer = timer
        if let interval = pollInterval {
            let pollTimer = DispatchSource.makeTimerSource(queue: queue)
            pollTimer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(1))
            pollTimer.setEventHandler { [unowned self] in self.poll() }
            pollTimer.resume()
            self.pollTimer = pollTimer
        }
    }

    // MARK: - Called on `queue`

    /// Takes over an answered client: builds its transport, starts reading its socket and sends the first checks.
    func adopt(_ pending: PendingClient) {
        guard !stopped else {
            pending.socket.close()
            return
        }
        let client: LoadClient
        do {
            client = try LoadClient(pending, context: context)
        } catch {
            fail(reason: "DTLS setup: \(error)")
            pending.socket.close()
            return
        }
        clients.append(client)
        if client.role == .viewer { counters.viewers += 1 }
        if client.role == .viewer {
            do {
                try client.socket.enableReceiveTimestamps()
            } catch {
                fail(reason: "\(error)")
            }
        }
        client.socket.startReceiving(on: queue, using: receiver) { [unowned self, unowned client] bytes, from, stamp in
            self.receive(bytes, from: from, kernelTime: stamp, on: client)
        }
        client.transport.handleTimeout(now: Instant.now())
        service(client)
    }

    func fail(reason: String) {
        counters.failures[reason, default: 0] += 1
    }

    /// Copies the counters; `resetWindow` starts the measuring window's delay histogram afresh.
    func snapshot(resetWindow: Bool) -> ShardSnapshot {
        let now = monotonicNanoseconds()
        var copy = counters
        copy.viewersReceiving = 0
        copy.publishersConnected = 0
        copy.viewersSettled = 0
        copy.viewersByLayer = []
        for client in clients {
            switch client.role {
            case .viewer:
                if (client.phase == .media && (client.hasVideo || !client.expectsVideo)) || client.phase == .failed {
                    copy.viewersSettled += 1
                }
                guard client.phase == .media else { continue }
                if now &- client.lastMediaAt < 2_000_000_000 { copy.viewersReceiving += 1 }
                if client.hasVideo && now &- client.lastVideoAt < 2_000_000_000 {
                    let layer = client.videoLayer
                    if copy.viewersByLayer.count <= layer {
                        copy.viewersByLayer += repeatElement(0, count: layer + 1 - copy.viewersByLayer.count)
                    }
                    copy.viewersByLayer[layer] += 1
                }
                let jitter = client.tracker.jitterNanoseconds
                copy.jitterSum += jitter
                copy.jitterCount += 1
                copy.jitterMax = max(copy.jitterMax, jitter)
            case .publisher:
                if client.phase == .secured { copy.publishersConnected += 1 }
            }
        }
        counters.delayInterval.reset()
        if resetWindow { counters.delayWindow.reset() }
        return copy
    }

    /// Stops pacing and timers and returns the session paths to DELETE (publishers last).
    func stop() -> [String] {
        stopped = true
        timer?.cancel()
        timer = nil
        pollTimer?.cancel()
        pollTimer = nil
        return clients.filter { $0.role == .viewer }.map(\.sessionPath) + clients.filter { $0.role == .publisher }.map(\.sessionPath)
    }

    /// Closes every socket without a DTLS close_notify (the sessions were deleted over HTTP).
    func closeSockets() {
        for client in clients { client.socket.close() }
        clients.removeAll()
        polled.removeAll()
    }

    // MARK: - Internals

    /// `kernelTime`: when the kernel queued the datagram (CLOCK_REALTIME ns), 0 when unknown.
    private func receive(_ bytes: UnsafeMutableRawBufferPointer, from remote: SocketAddress, kernelTime: Int64,
                         on client: LoadClient) {
        guard let first = bytes.first, client.phase != .failed else { return }
        let now = Instant.now()
        if first >= 128 && first <= 191 {
            // Media: decrypted in place, measured without allocating.
            let arrival = kernelTime > 0 ? UInt64(kernelTime) : WallClock.nanosecondsSince1970()
            let wireBytes = bytes.count
            client.transport.handleReceive(bytes, from: remote, localAddress: client.socket.localAddress, now: now) { packet in
                switch packet {
                case let .rtp(buffer) where client.role == .viewer:
                    self.media(UnsafeRawBufferPointer(buffer), wireBytes: wireBytes, arrival: arrival, on: client)
                case let .rtcp(buffer) where client.video != nil:
                    self.keyframeRequests(UnsafeRawBufferPointer(buffer), to: client)
                default:
                    break
                }
            }
            return
        }
        client.transport.handleReceive(bytes, from: remote, localAddress: client.socket.localAddress, now: now) { _ in }
        service(client)
    }

    private func media(_ packet: UnsafeRawBufferPointer, wireBytes: Int, arrival: UInt64, on client: LoadClient) {
        guard let header = try? RTPHeader(parsing: packet) else { return }
        let isVideo = header.payloadType != OfferWriter.opusPayloadType
        // Audio carries the send time first; video after its VP8 headers, with the layer index after the counter.
        let measurement = isVideo ? VideoLoad.measurementOffset : 0
        guard header.payloadLength >= measurement + (isVideo ? 17 : 16) else { return }
        let offset = header.payloadOffset + measurement
        var sent: UInt64 = 0
        for index in 0..<8 { sent = sent << 8 | UInt64(packet[offset + index]) }
        let delay = arrival >= sent ? arrival - sent : 0
        let transit = Int64(bitPattern: arrival &- sent)
        counters.packetsReceived &+= 1
        counters.bytesReceived &+= UInt64(wireBytes)
        counters.delayInterval.record(delay)
        counters.delayWindow.record(delay)
        let processed = monotonicNanoseconds()
        if isVideo {
            counters.videoPacketsReceived &+= 1
            counters.videoBytesReceived &+= UInt64(wireBytes)
            counters.packetsExpected &+= client.videoTracker.record(sequence: header.sequenceNumber, transitNanoseconds: transit)
            client.videoLayer = Int(packet[offset + 16] & 0x03)
            client.lastVideoAt = processed
            if !client.hasVideo {
                client.hasVideo = true
                counters.videoJoin.record(processed &- client.postSentAt)
            }
        } else {
            counters.packetsExpected &+= client.tracker.record(sequence: header.sequenceNumber, transitNanoseconds: transit)
        }
        client.lastMediaAt = processed
        if client.phase != .media {
            client.phase = .media
            counters.join.record(processed &- client.postSentAt)
            counters.lastJoinAt = max(counters.lastJoinAt, processed)
            if pollInterval != nil {
                client.socket.stopReceiving()
                polled.append(client)
            }
        }
    }

    /// PLI (RFC 4585 §6.3.1) and FIR (RFC 5104 §4.3.1) from the server: the layer asked about sends a keyframe next.
    private func keyframeRequests(_ compound: UnsafeRawBufferPointer, to client: LoadClient) {
        var packets = RTCPScanner.packets(in: compound)
        while let item = packets.next() {
            guard item.packetType == 206, let ssrcs = item.feedbackSSRCs(in: compound) else { continue }
            if item.count == 1 {
                client.video?.requestKeyframe(ssrc: ssrcs.media)
            } else if item.count == 4, item.bodyRange.count >= 12 {
                let at = item.bodyRange.lowerBound + 8  // the first FCI entry's SSRC
                let ssrc = compound[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                client.video?.requestKeyframe(ssrc: ssrc)
            }
        }
    }

    /// Reads the sockets of viewers that have media (see the type's comment).
    private func poll() {
        guard !stopped else { return }
        for client in polled where client.phase != .failed {
            receiver.drain(client.socket) { bytes, from, stamp in
                receive(bytes, from: from, kernelTime: stamp, on: client)
            }
        }
    }

    /// Sends what the transport queued, reads its events and caches its next deadline.
    private func service(_ client: LoadClient) {
        flush(client)
        while let event = client.transport.pollEvent() {
            switch event {
            case let .dtlsFailed(error):
                terminate(client, reason: "DTLS failed: \(error)")
            case .iceStateChanged(.failed):
                terminate(client, reason: "ICE failed")
            case .dtlsStateChanged(.connected):
                if client.phase == .connecting {
                    client.phase = .secured
                    if client.role == .publisher {
                        counters.publisherJoin.record(monotonicNanoseconds() &- client.postSentAt)
                        client.nextSendAt = monotonicNanoseconds()
                    }
                }
            case .dtlsStateChanged(.closed):
                terminate(client, reason: "the server closed DTLS (session ended)")
            default:
                break
            }
        }
        client.deadline = client.phase == .failed ? nil : client.transport.nextDeadline
    }

    private func flush(_ client: LoadClient) {
        while let transmit = client.transport.pollTransmit() {
            if batch.isFull { batch.send(on: client.socket) }
            batch.append(transmit.bytes, to: transmit.destination)
        }
        batch.send(on: client.socket)
    }

    private func terminate(_ client: LoadClient, reason: String) {
        guard client.phase != .failed else { return }
        let label = client.role == .publisher ? "publisher: " : ""
        client.phase = .failed
        fail(reason: label + reason)
        client.deadline = nil
    }

    private func tick() {
        guard !stopped else { return }
        let now = Instant.now()
        let clock = monotonicNanoseconds()
        for client in clients where client.phase != .failed {
            if let deadline = client.deadline, deadline <= now {
                client.transport.handleTimeout(now: now)
                service(client)
            }
            if client.phase == .connecting || (client.role == .viewer && client.phase == .secured),
               clock &- client.postSentAt > joinTimeout {
                let what = client.role == .publisher ? "not connected" : "no media"
                terminate(client, reason: "\(what) within \(joinTimeout / 1_000_000_000) s (\(client.stateDescription))")
                continue
            }
            if client.expectsVideo && client.phase == .media && !client.hasVideo && clock &- client.postSentAt > joinTimeout {
                terminate(client, reason: "audio but no video within \(joinTimeout / 1_000_000_000) s")
                continue
            }
            if client.role == .publisher && client.phase == .secured { pace(client, clock: clock) }
        }
    }

    /// 50 packets a second; a late tick sends what is due (each stamped when it leaves), a long stall skips ahead.
    private func pace(_ client: LoadClient, clock: UInt64) {
        if clock &- client.nextSendAt > 200_000_000 && clock > client.nextSendAt { client.nextSendAt = clock }
        while client.nextSendAt <= clock {
            var packet = client.nextPacket(payloadSize: payloadSize, now: WallClock.nanosecondsSince1970())
            if client.transport.sendRTP(&packet) { counters.publisherPacketsSent &+= 1 }
            client.nextSendAt &+= 20_000_000
        }
        if client.video != nil {
            client.video!.sendDue(clock: clock, wallClock: WallClock.nanosecondsSince1970) { packet in
                if client.transport.sendRTP(&packet) { counters.publisherPacketsSent &+= 1 }
            }
        }
        flush(client)
    }
}
