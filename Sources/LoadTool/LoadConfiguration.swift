import Runtime
import SkylarkBase

/// What `skylark load` runs.
public struct LoadConfiguration: Sendable {
    public var server: ServerURL
    /// Stream name; with several publishers, publisher i publishes "<stream>-i" and viewers are spread over them.
    public var stream: String
    public var viewers: Int
    public var publishers: Int
    /// Length of the measuring window, which starts once every viewer has joined or given up.
    public var seconds: Double
    /// Viewers started per second; nil starts them as fast as the signalling workers go.
    public var ramp: Double?
    /// Bearer token for both WHIP and WHEP.
    public var token: String?
    /// Address the clients' UDP sockets bind to (one socket each, port chosen by the system).
    public var localIP: IPAddress
    /// Serial queues owning the clients; default one per CPU this process may use.
    public var shards: Int
    /// Threads doing blocking HTTP at once.
    public var signallingWorkers: Int
    /// Bytes of RTP payload per packet (20 ms of Opus is about 160).
    public var payloadSize: Int
    /// A viewer without media this long after its POST has failed.
    public var joinTimeoutSeconds: Double
    /// The server's process id, to sample its CPU time and memory at the window's edges.
    public var serverPID: Int32?
    /// Once a viewer has media its socket is read on a timer this often, in milliseconds, instead of on every
    /// datagram; 0 keeps reading on every datagram. Delay and jitter come from the kernel's receive timestamps
    /// either way, so the reading interval does not change them.
    public var pollMilliseconds: Int
    /// Video beside the audio: publishers send it, viewers ask for it.
    public var video: VideoLoad

    public init(server: ServerURL, stream: String = "bench", viewers: Int, publishers: Int = 1, seconds: Double = 20,
                ramp: Double? = nil, token: String? = nil, localIP: IPAddress = .loopbackV4,
                shards: Int = LinuxProcess.allowedCPUCount(), signallingWorkers: Int = 8, payloadSize: Int = 160,
                joinTimeoutSeconds: Double = 10, serverPID: Int32? = nil, pollMilliseconds: Int = 20,
                video: VideoLoad = .none) {
        self.server = server
        self.stream = stream
        self.viewers = viewers
        self.publishers = publishers
        self.seconds = seconds
        self.ramp = ramp
        self.token = token
        self.localIP = localIP
        self.shards = shards
        self.signallingWorkers = signallingWorkers
        self.payloadSize = payloadSize
        self.joinTimeoutSeconds = joinTimeoutSeconds
        self.serverPID = serverPID
        self.pollMilliseconds = pollMilliseconds
        self.video = video
    }

    /// The stream publisher `index` sends to (viewer `index` watches stream `index % publishers`).
    public func streamName(_ index: Int) -> String {
        publishers <= 1 ? stream : "\(stream)-\(index % publishers)"
    }
}
