import SkylarkBase
/// One line of the per-second report.
public struct LoadInterval: Sendable {
    public var elapsedSeconds: Double
    /// "join", "measure" or "done".
    public var phase: String
    public var viewers: Int
    public var viewersReceiving: Int
    public var packetsPerSecond: Double
    public var bytesPerSecond: Double
    /// Whether the run has video; then the video share and the viewers per layer.
    public var video: Bool
    public var videoBytesPerSecond: Double
    /// Viewers getting video, by the publisher's layer (lowest first).
    public var viewersByLayer: [Int]
    public var lossPercent: Double
    public var jitterMilliseconds: Double
    public var joinP50Milliseconds: Double?
    public var joinP99Milliseconds: Double?
    public var delayP50Milliseconds: Double?
    public var delayP99Milliseconds: Double?
    public var delayMaxMilliseconds: Double?
    public var failures: Int

    public var text: String {
        "[\(pad(format(elapsedSeconds, 0), 4))s \(phase)] viewers \(viewersReceiving)/\(viewers)"
            + "  rx \(pad(format(packetsPerSecond, 0), 7)) pkt/s \(pad(format(bytesPerSecond * 8 / 1e6, 1), 6)) Mbit/s"
            + (video ? " (video \(format(videoBytesPerSecond * 8 / 1e6, 1)), by layer \(viewersByLayer.map(String.init).joined(separator: "/")))" : "")
            + "  loss \(format(lossPercent, 3))%  jitter \(format(jitterMilliseconds, 3)) ms"
            + "  join p50/p99 \(ms(joinP50Milliseconds))/\(ms(joinP99Milliseconds))"
            + "  delay p50/p99/max \(ms(delayP50Milliseconds))/\(ms(delayP99Milliseconds))/\(ms(delayMaxMilliseconds)) ms"
            + "  failures \(failures)"
    }

    public var json: String {
        JSONObject()
            .add("type", "interval").add("elapsed_s", elapsedSeconds).add("phase", phase)
            .add("viewers", viewers).add("viewers_receiving", viewersReceiving)
            .add("packets_per_s", packetsPerSecond).add("bytes_per_s", bytesPerSecond)
            .add("video_bytes_per_s", videoBytesPerSecond)
            .addRaw("viewers_by_layer", "[" + viewersByLayer.map(String.init).joined(separator: ",") + "]")
            .add("loss_percent", lossPercent).add("jitter_ms", jitterMilliseconds)
            .add("join_p50_ms", joinP50Milliseconds).add("join_p99_ms", joinP99Milliseconds)
            .add("delay_p50_ms", delayP50Milliseconds).add("delay_p99_ms", delayP99Milliseconds)
            .add("delay_max_ms", delayMaxMilliseconds).add("failures", failures)
            .text
    }
}

/// The figures of the measuring window.
public struct LoadSummary: Sendable {
    public var viewersRequested: Int
    public var publishers: Int
    public var windowSeconds: Double
    /// Viewers receiving media at the end of the window.
    public var viewersReceiving: Int
    public var publishersConnected: Int
    public var publisherPacketsPerSecond: Double
    /// Packets and bytes all viewers received per second (the server's forwarding rate).
    public var packetsPerSecond: Double
    public var bytesPerSecond: Double
    public var video: VideoLoad
    /// The video share of what viewers received.
    public var videoPacketsPerSecond: Double
    public var videoBytesPerSecond: Double
    /// POST → first video packet (which waits for a keyframe).
    public var videoJoinP50Milliseconds: Double?
    public var videoJoinP99Milliseconds: Double?
    /// Viewers getting video at the window's end, by the rid of the layer it came from.
    public var viewersByLayer: [String: Int]
    /// 1 − received/expected over the window, from sequence numbers (audio and video).
    public var lossPercent: Double
    /// Mean and largest RFC 3550 interarrival jitter over the viewers.
    public var jitterMeanMilliseconds: Double
    public var jitterMaxMilliseconds: Double
    public var joinP50Milliseconds: Double?
    public var joinP99Milliseconds: Double?
    public var joinMaxMilliseconds: Double?
    public var delayP50Milliseconds: Double?
    public var delayP99Milliseconds: Double?
    public var delayP999Milliseconds: Double?
    public var delayMaxMilliseconds: Double?
    public var failures: [String: Int]
    public var deleteFailures: Int
    /// This process's CPU use during the window (1.0 = one core): when it nears the CPUs it may use, the client
    /// is the bottleneck and the figures understate the server.
    public var clientCPU: Double
    /// Server CPU (1.0 = one core) and memory, when its pid was given.
    public var serverCPU: Double?
    public var serverRSSBeforeBytes: UInt64?
    public var serverRSSAfterBytes: UInt64?
    /// Kernel UDP drops (receive buffers full) in this network namespace during the window.
    public var kernelReceiveBufferErrors: UInt64?
    /// Viewers that got media ÷ seconds from the first viewer's POST to the last viewer's first packet: how fast
    /// sessions were set up (no faster than `--ramp` asks).
    public var setupsPerSecond: Double?

    public var failureCount: Int { failures.values.reduce(0, +) }

    /// Forwarded packets per second per fully used server core.
    public var packetsPerServerCore: Double? {
        guard let serverCPU, serverCPU > 0 else { return nil }
        return packetsPerSecond / serverCPU
    }

    /// Server memory growth per connected viewer.
    public var serverBytesPerViewer: Double? {
        guard let before = serverRSSBeforeBytes, let after = serverRSSAfterBytes, viewersReceiving > 0 else { return nil }
        return (Double(after) - Double(before)) / Double(viewersReceiving)
    }

    public var text: String {
        var lines = [
            "summary over \(format(windowSeconds, 1)) s:",
            "  viewers receiving      \(viewersReceiving)/\(viewersRequested)   publishers connected \(publishersConnected)/\(publishers) (\(format(publisherPacketsPerSecond, 0)) pkt/s sent)",
            "  received               \(format(packetsPerSecond, 0)) pkt/s, \(format(bytesPerSecond * 8 / 1e6, 2)) Mbit/s",
            "  loss                   \(format(lossPercent, 4)) %",
        ]
        if video != .none {
            let layers = video.layers.map { "\($0.rid) \(viewersByLayer[$0.rid] ?? 0)" }.joined(separator: ", ")
            lines += [
                "  video                  \(format(videoPacketsPerSecond, 0)) pkt/s, \(format(videoBytesPerSecond * 8 / 1e6, 2)) Mbit/s; viewers by layer: \(layers)",
                "  video join p50/p99     \(ms(videoJoinP50Milliseconds))/\(ms(videoJoinP99Milliseconds)) ms",
            ]
        }
        lines += [
            "  jitter mean/max        \(format(jitterMeanMilliseconds, 3))/\(format(jitterMaxMilliseconds, 3)) ms",
            "  sessions set up        \(setupsPerSecond.map { format($0, 0) } ?? "-")/s",
            "  join p50/p99/max       \(ms(joinP50Milliseconds))/\(ms(joinP99Milliseconds))/\(ms(joinMaxMilliseconds)) ms",
            "  delay p50/p99/p99.9/max \(ms(delayP50Milliseconds))/\(ms(delayP99Milliseconds))/\(ms(delayP999Milliseconds))/\(ms(delayMaxMilliseconds)) ms",
            "  client CPU             \(format(clientCPU * 100, 1)) %",
        ]
        if let serverCPU {
            lines.append("  server CPU             \(format(serverCPU * 100, 1)) %  (\(packetsPerServerCore.map { format($0, 0) } ?? "-") pkt/s per core)")
        }
        if let perViewer = serverBytesPerViewer {
            lines.append("  server memory/viewer   \(format(perViewer / 1024, 1)) KiB")
        }
        if let errors = kernelReceiveBufferErrors { lines.append("  kernel UDP drops       \(errors)") }
        lines.append("  failures               \(failureCount)" + (deleteFailures > 0 ? " (+\(deleteFailures) DELETE failures)" : ""))
        for (reason, count) in failures.sorted(by: { $0.value > $1.value }) { lines.append("    \(count) × \(reason)") }
        return lines.joined(separator: "\n")
    }

    public var json: String {
        var layersObject = JSONObject()
        for layer in video.layers { layersObject = layersObject.add(layer.rid, viewersByLayer[layer.rid] ?? 0) }
        var failuresObject = JSONObject()
        for (reason, count) in failures.sorted(by: { $0.key < $1.key }) { failuresObject = failuresObject.add(reason, count) }
        return JSONObject()
            .add("type", "summary").add("viewers_requested", viewersRequested).add("publishers", publishers)
            .add("window_s", windowSeconds).add("viewers_receiving", viewersReceiving)
            .add("publishers_connected", publishersConnected).add("publisher_packets_per_s", publisherPacketsPerSecond)
            .add("packets_per_s", packetsPerSecond).add("bytes_per_s", bytesPerSecond).add("loss_percent", lossPercent)
            .add("video", video.rawValue).add("video_packets_per_s", videoPacketsPerSecond)
            .add("video_bytes_per_s", videoBytesPerSecond)
            .add("video_join_p50_ms", videoJoinP50Milliseconds).add("video_join_p99_ms", videoJoinP99Milliseconds)
            .addRaw("viewers_by_layer", layersObject.text)
            .add("jitter_mean_ms", jitterMeanMilliseconds).add("jitter_max_ms", jitterMaxMilliseconds)
            .add("setup_per_s", setupsPerSecond)
            .add("join_p50_ms", joinP50Milliseconds).add("join_p99_ms", joinP99Milliseconds).add("join_max_ms", joinMaxMilliseconds)
            .add("delay_p50_ms", delayP50Milliseconds).add("delay_p99_ms", delayP99Milliseconds)
            .add("delay_p999_ms", delayP999Milliseconds).add("delay_max_ms", delayMaxMilliseconds)
            .add("client_cpu", clientCPU).add("server_cpu", serverCPU)
            .add("packets_per_server_core", packetsPerServerCore)
            .add("server_rss_before_bytes", serverRSSBeforeBytes.map(Double.init))
            .add("server_rss_after_bytes", serverRSSAfterBytes.map(Double.init))
            .add("server_bytes_per_viewer", serverBytesPerViewer)
            .add("kernel_udp_rcvbuf_errors", kernelReceiveBufferErrors.map(Double.init))
            .add("failure_count", failureCount).add("delete_failures", deleteFailures)
            .addRaw("failures", failuresObject.text)
            .text
    }
}

/// A one-line JSON object, written without Foundation.
struct JSONObject {
    private var members: [String] = []

    func add(_ key: String, _ value: String) -> JSONObject { addRaw(key, Self.quote(value)) }
    func add(_ key: String, _ value: Int) -> JSONObject { addRaw(key, String(value)) }
    func add(_ key: String, _ value: Double?) -> JSONObject {
        guard let value, value.isFinite else { return addRaw(key, "null") }
        return addRaw(key, format(value, 4))
    }

    func addRaw(_ key: String, _ raw: String) -> JSONObject {
        var copy = self
        copy.members.append(Self.quote(key) + ":" + raw)
        return copy
    }

    var text: String { "{" + members.joined(separator: ",") + "}" }

    /// RFC 8259 §7 string escaping.
    static func quote(_ text: String) -> String { jsonStringLiteral(text) }
}

/// Fixed-point decimal text (no Foundation formatting).
func format(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let integer = UInt64(scaled)
    let sign = value < 0 && integer != 0 ? "-" : ""
    guard decimals > 0 else { return sign + String(integer) }
    let whole = integer / UInt64(scale)
    var fraction = String(integer % UInt64(scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    return sign + String(whole) + "." + fraction
}

private func ms(_ value: Double?) -> String {
    guard let value else { return "-" }
    return format(value, value < 10 ? 2 : (value < 100 ? 1 : 0))
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
