import ArgumentParser
import Foundation
import LoadTool
import Runtime
import SkylarkBase

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a running server with real WHEP viewers and WHIP publishers, and measure what they receive.",
        discussion: """
        Every viewer is a full WebRTC client on its own UDP socket (ICE, DTLS, SRTP). Publishers send 20 ms \
        Opus-sized packets (50/s) stamped with their send time; viewers measure loss, jitter, join time and \
        forwarding delay. With --video, publishers also send VP8 at 30 frames a second (single: one 1.5 Mbit/s \
        stream; simulcast: rids q/h/f at 150 kbit/s, 500 kbit/s and 1.5 Mbit/s) and answer the server's keyframe \
        requests, and viewers ask for video and report which layer reached them. A report is printed every second; \
        the summary covers the measuring window, which starts once every viewer has joined or failed.
        """)

    @Option(help: "The server's base URL (http only).")
    var server = "http://127.0.0.1:8080"

    @Option(help: "Stream name; with several publishers, <stream>-0, <stream>-1, ...")
    var stream = "bench"

    @Option(help: "WHEP viewers.")
    var viewers: Int

    @Option(help: "WHIP publishers (viewers are spread over their streams).")
    var publishers = 1

    @Option(help: "Length of the measuring window in seconds.")
    var seconds = 20.0

    @Option(help: "Viewers started per second (default: as fast as the signalling workers go).")
    var ramp: Double?

    @Option(help: "Bearer token for WHIP and WHEP.")
    var token: String?

    @Option(name: .customLong("local-ip"), help: "Address the clients' UDP sockets bind to.")
    var localIP = "127.0.0.1"

    @Option(help: "Serial queues owning the clients (default: one per CPU this process may use).")
    var shards: Int?

    @Option(name: .customLong("http-workers"), help: "Concurrent HTTP requests while joining.")
    var httpWorkers = 8

    @Option(name: .customLong("payload-size"), help: "RTP payload bytes per packet (at least 16).")
    var payloadSize = 160

    @Option(name: .customLong("join-timeout"), help: "Seconds a viewer may take from POST to its first packet.")
    var joinTimeout = 10.0

    @Option(name: .customLong("server-pid"), help: "The server's pid: sample its CPU time and memory at the window's edges.")
    var serverPID: Int32?

    @Option(name: .customLong("poll-interval"),
            help: "Milliseconds between reads of a viewer's socket once it has media (0: read on every datagram).")
    var pollInterval = 20

    @Option(help: "Video beside the audio: none, single or simulcast.")
    var video: VideoLoad = .none

    @Flag(help: "Print JSON lines instead of text.")
    var json = false

    func validate() throws {
        guard ServerURL(server) != nil else { throw ValidationError("--server must be http://IP:PORT[/prefix] (got \"\(server)\")") }
        guard IPAddress(localIP) != nil else { throw ValidationError("--local-ip takes an IP address") }
        guard viewers >= 0, publishers >= 1 else { throw ValidationError("--viewers must be ≥ 0 and --publishers ≥ 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard payloadSize >= 16, payloadSize <= 1200 else { throw ValidationError("--payload-size must be 16...1200") }
        guard (0...1000).contains(pollInterval) else { throw ValidationError("--poll-interval must be 0...1000 ms") }
    }

    func run() throws {
        let configuration = LoadConfiguration(
            server: ServerURL(server)!, stream: stream, viewers: viewers, publishers: publishers, seconds: seconds,
            ramp: ramp, token: token, localIP: IPAddress(localIP)!,
            shards: shards ?? LinuxProcess.allowedCPUCount(), signallingWorkers: httpWorkers,
            payloadSize: payloadSize, joinTimeoutSeconds: joinTimeout, serverPID: serverPID,
            pollMilliseconds: pollInterval, video: video)
        let runner = try LoadRunner(configuration: configuration)
        let json = json
        if !json {
            emit("load: \(viewers) viewers, \(publishers) publisher(s) on \(server) stream \(stream), \(configuration.shards) shard(s)"
                 + (video == .none ? "" : ", video \(video.rawValue)"))
        }
        let summary = runner.run { interval in emit(json ? interval.json : interval.text) }
        emit(json ? summary.json : summary.text)
    }
}

struct UDPCeilingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-ceiling",
        abstract: "Measure how many datagrams per second one thread can send over loopback (sendmmsg).",
        discussion: """
        One thread sends --size byte datagrams in sendmmsg batches of 64, round-robin to --destinations bound \
        sockets that another thread drains. Compare the SFU's forwarded packets per core with this figure.
        """)

    @Option(help: "Seconds to send for.")
    var seconds = 5.0

    @Option(help: "Distinct destination sockets.")
    var destinations = 1000

    @Option(help: "Datagram size in bytes.")
    var size = 180

    @Option(name: .customLong("drain-cpu"), help: "Pin the draining thread to this CPU.")
    var drainCPU: Int?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard seconds > 0, destinations >= 1, (1...1400).contains(size) else {
            throw ValidationError("--seconds > 0, --destinations ≥ 1 and --size 1...1400")
        }
    }

    func run() throws {
        let result = try UDPCeiling.run(seconds: seconds, destinations: destinations, size: size, drainCPU: drainCPU)
        emit(json ? result.json : result.text)
    }
}

/// Prints a line and flushes, so reports appear as they happen when stdout is a pipe.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension VideoLoad: ExpressibleByArgument {}
