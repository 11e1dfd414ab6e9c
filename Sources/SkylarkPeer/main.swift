// skylark-peer: a command-line WebRTC peer for interoperability tests and demos.
//
// It speaks JSON lines on stdin/stdout: as offerer it prints {"type":"offer","sdp":...} and reads
// {"type":"answer","sdp":...}; as answerer it reads the offer and prints the answer. After the connection has
// carried media for --seconds it prints {"type":"report",...} with what it sent and received, and exits.
import Foundation
import Opus
import SkylarkBase
import WebRTC

struct Options {
    var role = "offerer"
    var tone = 0.0
    var receive = false
    var seconds = 3.0
    var bind: [IPAddress] = [.loopbackV4]
    var connectTimeout = 15.0
}

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: skylark-peer [--role offerer|answerer] [--tone HZ] [--recv] [--seconds N] [--bind IP[,IP...]]
      --role      offerer prints an offer and reads the answer; answerer reads an offer and prints an answer
      --tone      send a sine tone of this frequency (0 sends nothing)
      --recv      expect to receive audio and report its frequency and level
      --seconds   how long media runs after the connection is up (default 3)
      --bind      local addresses for host candidates (default 127.0.0.1)

    """.utf8))
    exit(2)
}

/// The value, or the usage text and exit 2.
func required<T>(_ value: T?) -> T {
    if let value { return value }
    usage()
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--role": options.role = required(arguments.popFirst())
        case "--tone": options.tone = required(Double(arguments.popFirst() ?? ""))
        case "--recv": options.receive = true
        case "--seconds": options.seconds = required(Double(arguments.popFirst() ?? ""))
        case "--bind":
            options.bind = required(arguments.popFirst()).split(separator: ",").map { required(IPAddress(String($0))) }
        case "--help", "-h": usage()
        default: usage()
        }
    }
    guard options.role == "offerer" || options.role == "answerer" else { usage() }
    return options
}

func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

func readMessage(type: String) -> [String: Any] {
    while let line = readLine() {
        guard let data = line.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
        if object["type"] as? String == type { return object }
    }
    FileHandle.standardError.write(Data("skylark-peer: input ended before a \(type) arrived\n".utf8))
    exit(1)
}

/// Collects received PCM for the report.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [Int16] = []

    func append(_ event: RTCOnDataEvent) {
        // Keep the first channel only; at most 10 s.
        lock.lock()
        defer { lock.unlock() }
        guard samples.count < 480_000 else { return }
        var index = 0
        while index < event.samples.count {
            samples.append(event.samples[index])
            index += event.channelCount
        }
    }

    func snapshot() -> [Int16] {
        lock.lock()
        defer { lock.unlock() }
        return samples
    }
}

let options = parseOptions()
let configuration = RTCConfiguration(bindAddresses: options.bind)
let connection = try RTCPeerConnection(configuration: configuration)
let collector = Collector()
let receivedTrack = LockedBox<RTCAudioSink?>(nil)

if options.tone > 0 {
    let stream = try getUserMedia(constraints: MediaStreamConstraints(toneFrequency: options.tone))
    for track in stream.getAudioTracks() { try connection.addTrack(track, stream) }
    if options.role == "offerer" && options.receive == false {
        for transceiver in connection.getTransceivers() { transceiver.direction = .sendonly }
    }
} else if options.role == "offerer" {
    try connection.addTransceiver(.audio, RtpTransceiverInit(direction: .recvonly))
}

connection.onTrack = { event in
    let sink = RTCAudioSink(track: event.track)
    sink.onData = { collector.append($0) }
    receivedTrack.set(sink)
}

if options.role == "offerer" {
    let offer = try await connection.createOffer()
    try await connection.setLocalDescription(offer)
    emit(["type": "offer", "sdp": connection.localDescription?.sdp ?? offer.sdp])
    let answer = readMessage(type: "answer")
    try await connection.setRemoteDescription(RTCSessionDescription(type: .answer, sdp: answer["sdp"] as? String ?? ""))
} else {
    let offer = readMessage(type: "offer")
    try await connection.setRemoteDescription(RTCSessionDescription(type: .offer, sdp: offer["sdp"] as? String ?? ""))
    let answer = try await connection.createAnswer()
    try await connection.setLocalDescription(answer)
    emit(["type": "answer", "sdp": connection.localDescription?.sdp ?? answer.sdp])
}

// Wait for the connection, then let media run.
let connectDeadline = Date().addingTimeInterval(options.connectTimeout)
while connection.connectionState != .connected && connection.connectionState != .failed && Date() < connectDeadline {
    try await Task.sleep(for: .milliseconds(20))
}
let connected = connection.connectionState == .connected
if connected { try await Task.sleep(for: .milliseconds(Int(options.seconds * 1000))) }

let received = connection.getReceivers()
let packets = received.reduce(0) { $0 + $1.packetsReceived }
let bytes = received.reduce(0) { $0 + $1.bytesReceived }
let pcm = collector.snapshot()
// Skip the first 200 ms: decoders start from silence.
let analysed = pcm.count > 9_600 ? Array(pcm.dropFirst(9_600)) : pcm
let frequency = AudioAnalysis.dominantFrequency(samples: analysed, sampleRate: 48_000) ?? 0
let level = AudioAnalysis.audioLevel(analysed)
let sent = connection.getSenders().reduce(0) { $0 + $1.packetsSent }
emit([
    "type": "report",
    "connected": connected,
    "iceState": connection.iceConnectionState.name,
    "connectionState": connection.connectionState.name,
    "received": ["packets": packets, "bytes": bytes, "frequency": frequency, "level": level],
    "sent": ["packets": sent],
])
connection.close()
exit(connected ? 0 : 1)

/// A value shared with callbacks.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
}
