#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SkylarkBase
import Synchronization

/// Produces the response for a request. Called in its own `Task`; a thrown error becomes a 500 problem response.
public typealias HTTPHandler = @Sendable (HTTPRequest) async throws -> HTTPResponse

/// An HTTP/1.1 server over plain sockets and Dispatch (optionally HTTPS).
///
/// A listening socket's readability source accepts connections; each connection gets read/write sources and a
/// timer on one of a few serial queues. Requests on a connection are handled one at a time, so pipelined requests
/// are answered in order.
public final class HTTPServer: Sendable {
    public let configuration: HTTPServerConfiguration
    let core: ServerCore

    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration()) {
        self.configuration = configuration
        core = ServerCore(configuration: configuration)
    }

    deinit { stop() }

    /// Binds, listens and starts accepting; returns the bound address (with the real port when 0 was asked for).
    @discardableResult
    public func start(handler: @escaping HTTPHandler) throws(HTTPServerError) -> SocketAddress {
        try core.start(handler: handler)
    }

    /// The bound address once started.
    public var boundAddress: SocketAddress? { core.state.withLock { $0.boundAddress } }

    /// Current counters.
    public var counters: HTTPServerCounters { core.state.withLock { $0.counters } }

    /// Stops accepting (the listening socket is closed when this returns), closes idle connections, and closes busy
    /// ones once their current response is written.
    public func stop() {
        core.stop()
    }
}

/// State shared by the listener and all connections.
final class ServerCore: Sendable {
    struct State {
        var handler: HTTPHandler?
        var listener: ListenerSource?
        var listenerPaused = false
        var boundAddress: SocketAddress?
        var connections: [Int: HTTPConnection] = [:]
        var rejecting = 0
        var nextID = 0
        var stopping = false
        var counters = HTTPServerCounters()
    }

    let configuration: HTTPServerConfiguration
    let state = Mutex(State())
    let tls: Mutex<TLSContext?> = Mutex(nil)
    let listenQueue = DispatchQueue(label: "http.listen")
    /// Signalled by the listener's cancel handler once the listening socket is closed.
    let listenerClosed = DispatchSemaphore(value: 0)
    /// Connection queues: a few serial queues, connections assigned round-robin.
    let queues: [DispatchQueue]

    /// Turned-away connections lingering at once beyond this are closed without a response.
    static let maximumRejecting = 64

    init(configuration: HTTPServerConfiguration) {
        self.configuration = configuration
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        queues = (0..<max(2, min(8, cpus))).map { DispatchQueue(label: "http.connection.\($0)") }
    }

    var tlsContext: TLSContext? { tls.withLock { $0 } }

    func start(handler: @escaping HTTPHandler) throws(HTTPServerError) -> SocketAddress {
        if let tlsConfiguration = configuration.tls {
            let context = try TLSContext(tlsConfiguration)
            tls.withLock { $0 = context }
        }
        let address = try TCPSocket.address(host: configuration.host, port: configuration.port)
        let fd = try TCPSocket.listen(on: address, backlog: SOMAXCONN)
        let bound = TCPSocket.localAddress(fd) ?? address
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: listenQueue)
        source.setEventHandler { [self] in acceptPending(fd) }
        source.setCancelHandler { [listenerClosed] in
            close(fd)
            listenerClosed.signal()
        }
        let started = state.withLock { state -> Bool in
            guard state.listener == nil, !state.stopping else { return false }
            state.handler = handler
            state.listener = ListenerSource(source: source)
            state.boundAddress = bound
            return true
        }
        guard started else {
            close(fd)
            throw HTTPServerError("server already started or stopped", code: 0)
        }
        source.resume()
        return bound
    }

    private func acceptPending(_ fd: Int32) {
        for _ in 0..<64 {
            guard let (client, peer) = TCPSocket.accept(fd) else {
                let code = errno
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    // Out of descriptors: pause accepting briefly instead of spinning on a readable listener.
                    state.withLock { state in
                        guard let listener = state.listener, !state.listenerPaused else { return }
                        state.listenerPaused = true
                        listener.source.suspend()
                    }
                    listenQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [self] in
                        state.withLock { state in
                            guard let listener = state.listener, state.listenerPaused else { return }
                            state.listenerPaused = false
                            listener.source.resume()
                        }
                    }
                }
                return
            }
            admit(client, peer: peer)
        }
    }

    private enum Admission { case accept, reject, drop }

    private func admit(_ fd: Int32, peer: SocketAddress?) {
        var connection: HTTPConnection?
        let admission = state.withLock { state -> Admission in
            guard !state.stopping else { return .drop }
            state.counters.connectionsAccepted += 1
            let open = state.connections.count - state.rejecting
            let verdict: Admission
            if open < configuration.maximumConnections {
                verdict = .accept
                state.counters.connectionsOpen += 1
            } else {
                state.counters.connectionsRejected += 1
                guard state.rejecting < ServerCore.maximumRejecting else { return .drop }
                verdict = .reject
                state.rejecting += 1
            }
            let id = state.nextID
            state.nextID += 1
            let created = HTTPConnection(id: id, fd: fd, peer: peer, core: self, queue: queues[id % queues.count],
                                         rejected: verdict == .reject)
            state.connections[id] = created
            connection = created
            return verdict
        }
        guard admission != .drop, let connection else {
            close(fd)
            return
        }
        connection.queue.async { connection.start() }
    }

    func connectionClosed(_ connection: HTTPConnection) {
        state.withLock { state in
            guard state.connections.removeValue(forKey: connection.id) != nil else { return }
            if connection.rejected {
                state.rejecting -= 1
            } else {
                state.counters.connectionsOpen -= 1
            }
        }
    }

    func handler() -> HTTPHandler? { state.withLock { $0.handler } }
    var isStopping: Bool { state.withLock { $0.stopping } }

    func record(status: Int) { state.withLock { $0.counters.record(status: status) } }
    func recordRequest() { state.withLock { $0.counters.requests += 1 } }
    func recordTimeout() { state.withLock { $0.counters.timeouts += 1 } }

    func stop() {
        let (listener, connections) = state.withLock { state -> (ListenerSource?, [HTTPConnection]) in
            state.stopping = true
            let listener = state.listener
            state.listener = nil
            // A suspended source never runs its cancel handler.
            if state.listenerPaused { listener?.source.resume() }
            state.listenerPaused = false
            return (listener, Array(state.connections.values))
        }
        if let listener {
            listener.source.cancel()
            // The cancel handler closes the socket on the listen queue; wait for it so the port is free when stop
            // returns (bounded, in case stop is called from that queue).
            _ = listenerClosed.wait(timeout: .now() + .seconds(2))
        }
        for connection in connections {
            connection.queue.async { connection.serverStopping() }
        }
    }
}

/// The listening socket's source; it is only suspended, resumed and cancelled, which Dispatch allows from any thread.
struct ListenerSource: @unchecked Sendable {
    let source: any DispatchSourceRead
}
