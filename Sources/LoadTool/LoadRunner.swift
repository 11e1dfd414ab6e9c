import Dispatch
import DTLS
import Glibc
import ICE
import SkylarkBase
import Synchronization
import UDPRuntime

/// Runs a load test: publishers first, then viewers (optionally ramped), then a measuring window, then DELETE.
/// Blocks the calling thread; reports go to `output` once a second and at the end.
public final class LoadRunner: Sendable {
    public let configuration: LoadConfiguration
    private let context: DTLSContext
    private let shards: [Shard]
    private let signallingFailures = Mutex<[String: Int]>([:])
    private let nextViewer = Atomic<Int>(0)
    private let deleteFailures = Atomic<Int>(0)

    public init(configuration: LoadConfiguration) throws(DTLSError) {
        self.configuration = configuration
        let context = try DTLSContext()
        self.context = context
        shards = (0..<max(1, configuration.shards)).map {
            Shard(index: $0, context: context, payloadSize: max(16, configuration.payloadSize),
                  joinTimeoutSeconds: configuration.joinTimeoutSeconds, pollMilliseconds: configuration.pollMilliseconds)
        }
    }

    /// Runs everything and returns the window's figures. `interval` gets a report every second.
    public func run(interval: (LoadInterval) -> Void) -> LoadSummary {
        let config = configuration
        SystemSampling.raiseOpenFileLimit(to: config.viewers + config.publishers + 256)
        let started = monotonicNanoseconds()
        let rssBefore = config.serverPID.flatMap(SystemSampling.process)?.residentBytes
        var previous = (time: started, snapshot: ShardSnapshot())

        func report(phase: String, resetWindow: Bool = false, silent: Bool = false) -> ShardSnapshot {
            let now = monotonicNanoseconds()
            let snapshot = collect(resetWindow: resetWindow)
            if silent {
                previous = (now, snapshot)
                return snapshot
            }
            let seconds = max(1e-3, Double(now - previous.time) / 1e9)
            let packets = Double(snapshot.packetsReceived - previous.snapshot.packetsReceived)
            let expected = Double(snapshot.packetsExpected - previous.snapshot.packetsExpected)
            interval(LoadInterval(
                elapsedSeconds: Double(now - started) / 1e9, phase: phase,
                viewers: config.viewers, viewersReceiving: snapshot.viewersReceiving,
                packetsPerSecond: packets / seconds,
                bytesPerSecond: Double(snapshot.bytesReceived - previous.snapshot.bytesReceived) / seconds,
                video: config.video != .none,
                videoBytesPerSecond: Double(snapshot.videoBytesReceived - previous.snapshot.videoBytesReceived) / seconds,
                viewersByLayer: snapshot.viewersByLayer,
                lossPercent: Self.loss(expected: expected, received: packets),
                jitterMilliseconds: snapshot.jitterCount == 0 ? 0 : snapshot.jitterSum / Double(snapshot.jitterCount) / 1e6,
                joinP50Milliseconds: snapshot.join.quantile(0.5).map(Self.ms),
                joinP99Milliseconds: snapshot.join.quantile(0.99).map(Self.ms),
                delayP50Milliseconds: snapshot.delayInterval.quantile(0.5).map(Self.ms),
                delayP99Milliseconds: snapshot.delayInterval.quantile(0.99).map(Self.ms),
                delayMaxMilliseconds: snapshot.delayInterval.count == 0 ? nil : Self.ms(snapshot.delayInterval.maximum),
                failures: snapshot.failures.values.reduce(0, +)))
            previous = (now, snapshot)
            return snapshot
        }

        // Publishers first, so viewers' join time includes their first packet and not the publisher's handshake.
        let group = DispatchGroup()
        for index in 0..<config.publishers {
            DispatchQueue.global().async(group: group) { self.join(role: .publisher, index: index) }
        }
        group.wait()
        let publisherDeadline = monotonicNanoseconds() + UInt64(config.joinTimeoutSeconds * 1e9)
        while monotonicNanoseconds() < publisherDeadline {
            let snapshot = collect(resetWindow: false)
            if snapshot.publishersConnected + snapshot.failures.count(where: { $0.key.hasPrefix("publisher") }) >= config.publishers
                || signallingFailures.withLock({ $0.values.reduce(0, +) }) >= config.publishers { break }
            usleep(10_000)
        }

        // Viewers, from a few blocking signalling workers.
        let rampStart = monotonicNanoseconds()
        let workers = max(1, min(config.signallingWorkers, config.viewers))
        for _ in 0..<workers {
            DispatchQueue.global().async(group: group) {
                while true {
                    let index = self.nextViewer.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < config.viewers else { return }
                    if let ramp = config.ramp, ramp > 0 {
                        sleep(untilMonotonic: rampStart + UInt64(Double(index) / ramp * 1e9))
                    }
                    self.join(role: .viewer, index: index)
                }
            }
        }

        // Joining: report every second until every viewer has media or has failed.
        var nextReport = monotonicNanoseconds() + 1_000_000_000
        var signallingDoneAt: UInt64?
        while true {
            sleep(untilMonotonic: nextReport)
            nextReport += 1_000_000_000
            let snapshot = report(phase: "join")
            if signallingDoneAt == nil, group.wait(timeout: .now()) == .success { signallingDoneAt = monotonicNanoseconds() }
            let signallingFailed = signallingFailures.withLock { $0.values.reduce(0, +) }
            if let doneAt = signallingDoneAt {
                let settled = snapshot.viewersSettled + signallingFailed >= config.viewers
                let gaveUp = monotonicNanoseconds() - doneAt > UInt64((config.joinTimeoutSeconds + 2) * 1e9)
                if settled || gaveUp { break }
            }
        }

        // The measuring window.
        let windowStart = monotonicNanoseconds()
        let serverStart = config.serverPID.flatMap(SystemSampling.process)
        let clientStart = SystemSampling.ownCPUSeconds()
        let udpStart = SystemSampling.udpCounters()
        let base = report(phase: "measure", resetWindow: true, silent: true)
        let windowEndAt = windowStart + UInt64(config.seconds * 1e9)
        nextReport = windowStart + 1_000_000_000
        while nextReport < windowEndAt {
            sleep(untilMonotonic: nextReport)
            nextReport += 1_000_000_000
            _ = report(phase: "measure")
        }
        sleep(untilMonotonic: windowEndAt)
        let final = report(phase: "measure")
        let windowEnd = monotonicNanoseconds()
        let serverEnd = config.serverPID.flatMap(SystemSampling.process)
        let clientEnd = SystemSampling.ownCPUSeconds()
        let udpEnd = SystemSampling.udpCounters()

        // Teardown: stop pacing, DELETE every session, close the sockets.
        var paths: [String] = []
        for shard in shards { paths += shard.queue.sync { shard.stop() } }
        let pathList = Mutex(paths)
        for _ in 0..<workers {
            DispatchQueue.global().async(group: group) {
                while let path = pathList.withLock({ $0.popLast() }) { self.delete(path) }
            }
        }
        group.wait()
        for shard in shards { shard.queue.sync { shard.closeSockets() } }

        let seconds = Double(windowEnd - windowStart) / 1e9
        var failures = final.failures
        for (reason, count) in signallingFailures.withLock({ $0 }) { failures[reason, default: 0] += count }
        let received = Double(final.packetsReceived - base.packetsReceived)
        return LoadSummary(
            viewersRequested: config.viewers, publishers: config.publishers, windowSeconds: seconds,
            viewersReceiving: final.viewersReceiving, publishersConnected: final.publishersConnected,
            publisherPacketsPerSecond: Double(final.publisherPacketsSent - base.publisherPacketsSent) / seconds,
            packetsPerSecond: received / seconds,
            bytesPerSecond: Double(final.bytesReceived - base.bytesReceived) / seconds,
            video: config.video,
            videoPacketsPerSecond: Double(final.videoPacketsReceived - base.videoPacketsReceived) / seconds,
            videoBytesPerSecond: Double(final.videoBytesReceived - base.videoBytesReceived) / seconds,
            videoJoinP50Milliseconds: final.videoJoin.quantile(0.5).map(Self.ms),
            videoJoinP99Milliseconds: final.videoJoin.quantile(0.99).map(Self.ms),
            viewersByLayer: Dictionary(uniqueKeysWithValues: final.viewersByLayer.enumerated().compactMap { index, count in
                index < config.video.layers.count ? (config.video.layers[index].rid, count) : nil
            }),
            lossPercent: Self.loss(expected: Double(final.packetsExpected - base.packetsExpected), received: received),
            jitterMeanMilliseconds: final.jitterCount == 0 ? 0 : final.jitterSum / Double(final.jitterCount) / 1e6,
            jitterMaxMilliseconds: final.jitterMax / 1e6,
            joinP50Milliseconds: final.join.quantile(0.5).map(Self.ms),
            joinP99Milliseconds: final.join.quantile(0.99).map(Self.ms),
            joinMaxMilliseconds: final.join.count == 0 ? nil : Self.ms(final.join.maximum),
            delayP50Milliseconds: final.delayWindow.quantile(0.5).map(Self.ms),
            delayP99Milliseconds: final.delayWindow.quantile(0.99).map(Self.ms),
            delayP999Milliseconds: final.delayWindow.quantile(0.999).map(Self.ms),
            delayMaxMilliseconds: final.delayWindow.count == 0 ? nil : Self.ms(final.delayWindow.maximum),
            failures: failures, deleteFailures: deleteFailures.load(ordering: .relaxed),
            clientCPU: (clientEnd - clientStart) / seconds,
            serverCPU: serverStart.flatMap { start in serverEnd.map { ($0.cpuSeconds - start.cpuSeconds) / seconds } },
            serverRSSBeforeBytes: rssBefore, serverRSSAfterBytes: serverEnd?.residentBytes,
            kernelReceiveBufferErrors: udpStart.flatMap { start in udpEnd.map { $0.receiveBufferErrors &- start.receiveBufferErrors } },
            setupsPerSecond: final.lastJoinAt > rampStart && final.join.count > 0
                ? Double(final.join.count) / (Double(final.lastJoinAt - rampStart) / 1e9) : nil)
    }

    // MARK: - Signalling

    private func join(role: LoadClient.Role, index: Int) {
        let config = configuration
        let stream = config.streamName(index)
        let label = role == .publisher ? "publisher: " : ""
        let socket: UDPSocket
        do {
            socket = try UDPSocket(bindTo: SocketAddress(ip: config.localIP, port: 0),
                                   receiveBufferBytes: 1 << 18, sendBufferBytes: 1 << 18)
        } catch {
            return recordFailure(label + "UDP socket: \(error)")
        }
        let credentials = ICECredentials.random()
        var ssrcs: Set<UInt32> = []
        while ssrcs.count < 1 + config.video.layers.count { ssrcs.insert(UInt32.random(in: 1...UInt32.max)) }
        let ssrc = ssrcs.removeFirst()
        let videoSSRCs = Array(ssrcs)
        let offer = OfferWriter(credentials: credentials, fingerprint: context.certificate.fingerprint.sdpValue,
                                candidate: .host(address: socket.localAddress), sends: role == .publisher, ssrc: ssrc,
                                video: config.video, videoSSRC: videoSSRCs.first ?? 0).write()
        var headers = [("Content-Type", "application/sdp")]
        if let token = config.token { headers.append(("Authorization", "Bearer \(token)")) }
        let path = config.server.basePath + (role == .publisher ? "/whip/" : "/whep/") + stream
        let postSentAt = monotonicNanoseconds()
        do {
            let response = try HTTPClient.send("POST", to: config.server, path: path, headers: headers, body: Array(offer.utf8))
            guard response.status == 201 else {
                socket.close()
                return recordFailure(label + "POST \(response.status): " + Self.problemDetail(response))
            }
            guard let location = response.header("Location"), let sessionPath = ServerURL.path(ofLocation: location) else {
                socket.close()
                return recordFailure(label + "201 without a usable Location")
            }
            let answer = try AnswerSummary(parsing: response.bodyText)
            if config.video != .none && !answer.acceptsVideo {
                // The session exists: end it, so the server is left as it was.
                delete(sessionPath)
                socket.close()
                return recordFailure(label + "the answer rejected the video section")
            }
            let pending = PendingClient(role: role, index: index, socket: socket, credentials: credentials, answer: answer,
                                        sessionPath: sessionPath, postSentAt: postSentAt, ssrc: ssrc,
                                        video: config.video, videoSSRCs: videoSSRCs)
            let shard = shards[index % shards.count]
            shard.queue.async { shard.adopt(pending) }
        } catch {
            socket.close()
            recordFailure(label + "\(error)")
        }
    }

    private func delete(_ path: String) {
        var headers: [(String, String)] = []
        if let token = configuration.token { headers.append(("Authorization", "Bearer \(token)")) }
        let response = try? HTTPClient.send("DELETE", to: configuration.server, path: path, headers: headers)
        if let status = response?.status, (200..<300).contains(status) { return }
        deleteFailures.wrappingAdd(1, ordering: .relaxed)
    }

    private func recordFailure(_ reason: String) {
        signallingFailures.withLock { $0[reason, default: 0] += 1 }
    }

    private func collect(resetWindow: Bool) -> ShardSnapshot {
        var total = ShardSnapshot()
        for shard in shards { total.merge(shard.queue.sync { shard.snapshot(resetWindow: resetWindow) }) }
        return total
    }

    /// The `detail` of an RFC 9457 problem, else the body's start, on one line.
    static func problemDetail(_ response: HTTPClientResponse) -> String {
        let text = response.bodyText
        let key = "\"detail\":\""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix(key) {
                let rest = text[text.index(index, offsetBy: key.count)...]
                return String(rest.prefix { $0 != "\"" }.prefix(160))
            }
            index = text.index(after: index)
        }
        return String(text.prefix(120).map { $0.isNewline ? " " : $0 })
    }

    static func loss(expected: Double, received: Double) -> Double {
        expected > 0 ? max(0, (expected - received) / expected * 100) : 0
    }

    static func ms(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }
}
