#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SkylarkBase

/// One accepted connection: reads and parses requests, runs the handler for one request at a time, writes the
/// responses in order, enforces the timeouts, and closes.
///
/// Every mutable property is touched only on `queue` (event handlers, timer and `queue.async` blocks), which is what
/// makes the `@unchecked Sendable` sound.
final class HTTPConnection: @unchecked Sendable {
    let id: Int
    let queue: DispatchQueue
    /// Admitted beyond `maximumConnections`: answers 503 and closes.
    let rejected: Bool

    private let fd: Int32
    private let peer: SocketAddress?
    private let core: ServerCore
    private let configuration: HTTPServerConfiguration
    private var parser: HTTPRequestParser
    private var tls: TLSSession?

    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var timer: DispatchSourceTimer?
    private var readSuspended = true
    private var writeActive = false
    /// Sources not yet cancelled; the socket is closed when the last one's cancel handler runs.
    private var liveSources = 0

    private var output: [UInt8] = []
    private var outputOffset = 0

    private enum Phase { case reading, handling, writing, lingering, closed }
    private var phase: Phase = .reading
    private var closeAfterWrite = false
    private var peerClosedInput = false
    private var lingerDiscarded = 0

    private enum Deadline { case none, header, body, idle, write, linger }
    private var deadline: Deadline = .none
    private var deadlineAt = DispatchTime.distantFuture

    /// How long a closing connection keeps reading (and discarding) after its last response so that the client
    /// sees that response rather than a reset (RFC 9112 §9.6).
    private static let lingerTime: Duration = .seconds(2)
    private static let lingerMaximumBytes = 1 << 20
    private static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    init(id: Int, fd: Int32, peer: SocketAddress?, core: ServerCore, queue: DispatchQueue, rejected: Bool) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.core = core
        self.queue = queue
        self.rejected = rejected
        configuration = core.configuration
        parser = HTTPRequestParser(maximumHeaderBytes: configuration.maximumHeaderBytes,
                                   maximumBodyBytes: configuration.maximumBodyBytes)
    }

    // MARK: Lifecycle (on `queue`)

    func start() {
        let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        read.setEventHandler { [self] in readable() }
        read.setCancelHandler { [self] in sourceCancelled() }
        readSource = read
        liveSources += 1
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [self] in timerFired() }
        timer.schedule(deadline: .distantFuture)
        timer.resume()
        self.timer = timer

        if let context = core.tlsContext {
            do {
                tls = try TLSSession(context: context)
            } catch {
                close()
                return
            }
        }
        if rejected && tls == nil {
            // Plain HTTP: answer at once. Over TLS the 503 has to wait for the handshake and a request.
            sendError(status: 503)
            return
        }
        setDeadline(.header, after: configuration.headerTimeout)
        resumeReading()
    }

    /// The server is stopping: idle connections close now, busy ones after their response.
    func serverStopping() {
        switch phase {
        case .reading: close()
        case .handling, .writing: closeAfterWrite = true
        case .lingering, .closed: break
        }
    }

    private func close() {
        guard phase != .closed else { return }
        phase = .closed
        timer?.cancel()
        if let readSource {
            if readSuspended { readSource.resume() }
            readSource.cancel()
        }
        if let writeSource {
            if !writeActive { writeSource.resume() }
            writeSource.cancel()
        }
        readSuspended = false
        writeActive = true
        core.connectionClosed(self)
    }

    private func sourceCancelled() {
        liveSources -= 1
        if liveSources == 0 {
            _ = Glibc.close(fd)
            // Break the reference cycles through the handlers.
            readSource = nil
            writeSource = nil
            timer = nil
            tls = nil
        }
    }

    // MARK: Reading

    private func readable() {
        guard phase != .closed, !readSuspended else { return }
        let capacity = 32_768
        let drained = withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 16) { scratch -> Bool in
            guard let base = scratch.baseAddress else { return true }
            // A bounded number of reads per turn keeps one busy client from starving the others on this queue.
            for _ in 0..<8 {
                let count = recv(fd, base, capacity, 0)
                if count > 0 {
                    guard ingest(UnsafeRawBufferPointer(start: base, count: count)) else { return true }
                    if phase == .reading { processBuffered() }
                    // Handling a request (or closing) stops reading; the rest stays in the kernel until then.
                    if readSuspended || phase == .closed { return true }
                    continue
                }
                if count == 0 {
                    endOfInput()
                    return true
                }
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return true }
                close()
                return true
            }
            return false
        }
        // Not drained to EAGAIN yet: continue in a later turn. Dispatch may not report bytes (or a reset) that were
        // already pending when it last signalled, so never rely on another event for them.
        if !drained { queue.async { [self] in readable() } }
    }

    /// Takes received bytes; false when the connection ended while doing so.
    private func ingest(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if phase == .lingering {
            lingerDiscarded += bytes.count
            if lingerDiscarded > Self.lingerMaximumBytes {
                close()
                return false
            }
            return true
        }
        guard let tls else {
            parser.append(bytes)
            return true
        }
        switch tls.receive(bytes) {
        case let .data(plaintext):
            parser.append(plaintext)
            enqueue(tls.takeOutput())
            return phase != .closed
        case .closed:
            enqueue(tls.takeOutput())
            endOfInput()
            return false
        case .failed:
            // Send any alert OpenSSL produced, best effort, then drop the connection.
            let alert = tls.takeOutput()
            if !alert.isEmpty { _ = alert.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            close()
            return false
        }
    }

    /// The client closed its sending side (or sent close_notify).
    private func endOfInput() {
        peerClosedInput = true
        suspendReading()
        switch phase {
        case .reading:
            // A client may send its request and half-close; answer what is complete, then close.
            closeAfterWrite = true
            processBuffered()
            if phase == .reading { close() }
        case .handling, .writing:
            closeAfterWrite = true
        case .lingering:
            close()
        case .closed:
            break
        }
    }

    /// Parses buffered bytes and starts handling the next complete request, if any.
    private func processBuffered() {
        guard phase == .reading else { return }
        let request: HTTPRequest?
        do {
            request = try parser.nextRequest()
        } catch {
            sendError(status: error.status)
            return
        }
        guard var request else {
            if parser.takeContinueExpectation() && !peerClosedInput {
                // RFC 9110 §10.1.1: the body limits already passed, so invite the client to send the body.
                write(Self.continueResponse, closing: false)
            }
            if phase == .reading { updateReadDeadline() }
            return
        }
        request.remoteAddress = peer
        handle(request)
    }

    private func updateReadDeadline() {
        if parser.isReadingBody {
            if deadline != .body { setDeadline(.body, after: configuration.bodyTimeout) }
        } else if parser.hasPartialRequest {
            if deadline != .header { setDeadline(.header, after: configuration.headerTimeout) }
        }
    }

    // MARK: Handling

    private func handle(_ request: HTTPRequest) {
        phase = .handling
        setDeadline(.none)
        // One request at a time: later pipelined requests wait in the parser's buffer.
        suspendReading()
        core.recordRequest()
        let method = request.method
        let keepAlive = request.keepAlive
        let isHTTP10 = request.version == .http1_0
        guard !rejected, let handler = core.handler() else {
            respond(HTTPResponse.problem(status: 503), method: method, keepAlive: false, isHTTP10: isHTTP10)
            return
        }
        Task {
            var response: HTTPResponse
            do {
                response = try await handler(request)
            } catch {
                response = HTTPResponse.problem(status: 500)
            }
            // An interim status is no final answer.
            if response.status < 200 { response = HTTPResponse.problem(status: 500) }
            let final = response
            queue.async { [self] in respond(final, method: method, keepAlive: keepAlive, isHTTP10: isHTTP10) }
        }
    }

    private func respond(_ response: HTTPResponse, method: String, keepAlive: Bool, isHTTP10: Bool) {
        guard phase == .handling else { return }
        let keep = keepAlive && !closeAfterWrite && !rejected && !core.isStopping
        closeAfterWrite = !keep
        var response = response
        if response.status == 503 && !response.headers.contains("Retry-After") {
            response.headers.add(name: "Retry-After", value: String(configuration.retryAfterSeconds))
        }
        core.record(status: response.status)
        phase = .writing
        let bytes = response.serialize(requestMethod: method, keepAlive: keep && isHTTP10, closeOption: !keep,
                                       date: httpDate())
        write(bytes, closing: !keep)
    }

    /// Answers a protocol error (or a timeout, or too many connections) and closes.
    private func sendError(status: Int) {
        guard phase == .reading else { return }
        suspendReading()
        setDeadline(.none)
        var response = HTTPResponse.problem(status: status)
        if status == 503 {
            response.headers.add(name: "Retry-After", value: String(configuration.retryAfterSeconds))
        }
        core.record(status: status)
        closeAfterWrite = true
        phase = .writing
        write(response.serialize(requestMethod: nil, keepAlive: false, closeOption: true, date: httpDate()),
              closing: true)
    }

    // MARK: Writing

    /// Queues plaintext for the client (encrypting it under TLS); `closing` appends TLS close_notify.
    private func write(_ bytes: [UInt8], closing: Bool) {
        guard let tls else {
            enqueue(bytes)
            return
        }
        guard tls.send(bytes) else {
            close()
            return
        }
        if closing { tls.shutdown() }
        enqueue(tls.takeOutput())
    }

    /// Queues bytes for the socket and writes what it takes now.
    private func enqueue(_ bytes: [UInt8]) {
        guard phase != .closed else { return }
        if !bytes.isEmpty { output.append(contentsOf: bytes) }
        if !writeActive { flush() }
    }

    private func flush() {
        guard phase != .closed else { return }
        while outputOffset < output.count {
            let count = output.withUnsafeBytes { raw in
                send(fd, raw.baseAddress.map { $0 + outputOffset }, raw.count - outputOffset, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                outputOffset += count
                continue
            }
            let code = errno
            if count < 0 && code == EINTR { continue }
            if count < 0 && (code == EAGAIN || code == EWOULDBLOCK) {
                enableWriting()
                if phase == .writing && deadline != .write { setDeadline(.write, after: configuration.idleTimeout) }
                return
            }
            close()
            return
        }
        output.removeAll(keepingCapacity: output.capacity <= 65_536)
        outputOffset = 0
        disableWriting()
        outputDrained()
    }

    private func outputDrained() {
        guard phase == .writing else { return }
        if closeAfterWrite {
            linger()
            return
        }
        phase = .reading
        setDeadline(.idle, after: configuration.idleTimeout)
        resumeReading()
        // Pipelined requests may already be waiting in the buffer.
        processBuffered()
    }

    /// RFC 9112 §9.6: close the sending side first and drain the receiving side for a while, so unread request
    /// bytes do not make the kernel reset the connection before the client has read the response.
    private func linger() {
        phase = .lingering
        if peerClosedInput {
            close()
            return
        }
        _ = shutdown(fd, Int32(SHUT_WR))
        setDeadline(.linger, after: Self.lingerTime)
        resumeReading()
    }

    // MARK: Sources and timer

    private func resumeReading() {
        guard readSuspended, phase != .closed, !peerClosedInput, let readSource else { return }
        readSuspended = false
        readSource.resume()
        // Bytes that arrived while reading was suspended may not produce a new event.
        queue.async { [self] in readable() }
    }

    private func suspendReading() {
        guard !readSuspended, phase != .closed, let readSource else { return }
        readSuspended = true
        readSource.suspend()
    }

    private func enableWriting() {
        guard !writeActive, phase != .closed else { return }
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [self] in flush() }
            source.setCancelHandler { [self] in sourceCancelled() }
            writeSource = source
            liveSources += 1
        }
        writeActive = true
        writeSource?.resume()
    }

    private func disableWriting() {
        guard writeActive, phase != .closed, let writeSource else { return }
        writeActive = false
        writeSource.suspend()
    }

    private func setDeadline(_ kind: Deadline, after duration: Duration = .zero) {
        deadline = kind
        guard kind != .none else {
            deadlineAt = .distantFuture
            timer?.schedule(deadline: .distantFuture)
            return
        }
        let nanoseconds = max(0, duration.components.seconds * 1_000_000_000
            + duration.components.attoseconds / 1_000_000_000)
        deadlineAt = .now() + .nanoseconds(Int(nanoseconds))
        timer?.schedule(deadline: deadlineAt, leeway: .milliseconds(10))
    }

    private func timerFired() {
        guard phase != .closed, deadline != .none, DispatchTime.now() >= deadlineAt else { return }
        switch deadline {
        case .header, .body:
            guard phase == .reading else { return }
            core.recordTimeout()
            sendError(status: 408)
        case .idle, .write, .linger, .none:
            close()
        }
    }
}
