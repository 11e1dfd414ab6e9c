import AdminAPI
import ArgumentParser
import Dispatch
import Foundation
import HTTP
import Runtime
import SFU
import SkylarkBase
import Store
import UDPRuntime
import WHIP

/// Reads a setting's default from the environment.
func environment(_ name: String, _ fallback: String) -> String {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (the default command).",
        discussion: "Every option can also be set with the environment variable named in its help.")

    @Option(name: .customLong("http"), help: "HTTP address to listen on (SKYLARK_HTTP).")
    var httpAddress = environment("SKYLARK_HTTP", "127.0.0.1:8080")

    @Option(name: .customLong("udp"), help: "UDP address for all media (SKYLARK_UDP). One port serves every session.")
    var udpAddress = environment("SKYLARK_UDP", "127.0.0.1:8189")

    @Option(name: .customLong("announce"),
            help: "IP address or host name to put in ICE candidates instead of the bound one, e.g. a 1:1 NAT's public address; a name becomes every address it resolves to at start; repeat for several (SKYLARK_ANNOUNCE, comma-separated).")
    var announced: [String] = environment("SKYLARK_ANNOUNCE", "").split(separator: ",").map(String.init)

    @Option(name: .customLong("web-root"), help: "Directory of the web pages (SKYLARK_WEB_ROOT). Default: ./public.")
    var webRoot = environment("SKYLARK_WEB_ROOT", "public")

    @Option(name: .customLong("publish-token"), help: "Bearer token required to publish (SKYLARK_PUBLISH_TOKEN). Default: none.")
    var publishTokenOption: String?
    var publishToken: String? { publishTokenOption ?? ProcessInfo.processInfo.environment["SKYLARK_PUBLISH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("view-token"), help: "Bearer token required to watch (SKYLARK_VIEW_TOKEN). Default: none.")
    var viewTokenOption: String?
    var viewToken: String? { viewTokenOption ?? ProcessInfo.processInfo.environment["SKYLARK_VIEW_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("ice-server"), help: "STUN/TURN URL announced to clients in Link headers; repeatable (SKYLARK_ICE_SERVERS, comma-separated).")
    var iceServers: [String] = environment("SKYLARK_ICE_SERVERS", "").split(separator: ",").map(String.init)

    @Option(name: .customLong("turn-secret"), help: "Secret shared with the TURN servers of --ice-server (coturn's static-auth-secret): each WHIP/WHEP response carries a time-limited username and password made from it (SKYLARK_TURN_SECRET).")
    var turnSecretOption: String?
    var turnSecret: String? { turnSecretOption ?? ProcessInfo.processInfo.environment["SKYLARK_TURN_SECRET"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("turn-credential-lifetime"), help: "Seconds a --turn-secret credential stays valid (SKYLARK_TURN_CREDENTIAL_LIFETIME).")
    var turnCredentialLifetime = Int64(environment("SKYLARK_TURN_CREDENTIAL_LIFETIME", "86400")) ?? 86_400

    @Option(name: .customLong("turn-username"), help: "A fixed TURN username for every client, with --turn-password (SKYLARK_TURN_USERNAME).")
    var turnUsernameOption: String?
    var turnUsername: String? { turnUsernameOption ?? ProcessInfo.processInfo.environment["SKYLARK_TURN_USERNAME"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("turn-password"), help: "The fixed TURN password that goes with --turn-username (SKYLARK_TURN_PASSWORD).")
    var turnPasswordOption: String?
    var turnPassword: String? { turnPasswordOption ?? ProcessInfo.processInfo.environment["SKYLARK_TURN_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("tls-cert"), help: "PEM certificate for HTTPS (SKYLARK_TLS_CERT).")
    var tlsCertificateOption: String?
    var tlsCertificate: String? { tlsCertificateOption ?? ProcessInfo.processInfo.environment["SKYLARK_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("tls-key"), help: "PEM private key for HTTPS (SKYLARK_TLS_KEY).")
    var tlsKeyOption: String?
    var tlsKey: String? { tlsKeyOption ?? ProcessInfo.processInfo.environment["SKYLARK_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("max-sessions"), help: "Most WHIP+WHEP sessions at once (SKYLARK_MAX_SESSIONS).")
    var maximumSessions = Int(environment("SKYLARK_MAX_SESSIONS", "10000")) ?? 10_000

    @Option(name: .customLong("connect-timeout"), help: "Seconds a new session may take to connect (ICE and DTLS) before it is ended and its slot freed (SKYLARK_CONNECT_TIMEOUT).")
    var connectTimeout = Double(environment("SKYLARK_CONNECT_TIMEOUT", "15")) ?? 15

    @Option(name: .customLong("workers"), help: "Serial queues the media sessions are spread over, about one per core; default: one per CPU this process may use (SKYLARK_WORKERS).")
    var workers = Int(environment("SKYLARK_WORKERS", "0")) ?? 0

    @Option(name: .customLong("database"), help: "SQLite file for streams, tokens and session history, created on first start (SKYLARK_DATABASE).")
    var database = environment("SKYLARK_DATABASE", "skylark.sqlite")

    @Option(name: .customLong("admin-token"), help: "Bearer token for the management API under /api/ (SKYLARK_ADMIN_TOKEN). API tokens made with `skylark token create` work too.")
    var adminTokenOption: String?
    var adminToken: String? { adminTokenOption ?? ProcessInfo.processInfo.environment["SKYLARK_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("open-streams"), help: "Whether streams that are not in the database may be published and watched without a token: on, off, or auto (on when HTTP listens on loopback only) (SKYLARK_OPEN_STREAMS).")
    var openStreams = OpenStreams(rawValue: environment("SKYLARK_OPEN_STREAMS", "auto")) ?? .auto

    func validate() throws {
        guard SocketAddress(httpAddress) != nil else { throw ValidationError("--http must be IP:PORT, e.g. 127.0.0.1:8080 (got \"\(httpAddress)\")") }
        guard SocketAddress(udpAddress) != nil else { throw ValidationError("--udp must be IP:PORT, e.g. 0.0.0.0:8189 (got \"\(udpAddress)\")") }
        for address in announced where IPAddress(address) == nil && !Self.isHostName(address) {
            throw ValidationError("--announce takes an IP address or a host name (got \"\(address)\")")
        }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        for url in iceServers {
            let lowered = url.lowercased()
            guard ["stun:", "stuns:", "turn:", "turns:"].contains(where: lowered.hasPrefix), !url.contains(">"), !url.contains(" ") else {
                throw ValidationError("--ice-server takes a stun:, stuns:, turn: or turns: URL, e.g. turn:turn.example.net:3478?transport=udp (got \"\(url)\")")
            }
        }
        if (turnUsername == nil) != (turnPassword == nil) { throw ValidationError("--turn-username and --turn-password go together") }
        if turnSecret != nil && turnUsername != nil {
            throw ValidationError("--turn-secret makes credentials per client; it cannot be used with a fixed --turn-username")
        }
        for text in [turnUsername, turnPassword].compactMap({ $0 }) where !ICEServerLinks.isQuotable(text) {
            throw ValidationError("--turn-username and --turn-password must be printable ASCII without '\"' or '\\'")
        }
        if (turnSecret != nil || turnUsername != nil) && !iceServers.contains(where: ICEServerLinks.isTURN) {
            throw ValidationError("TURN credentials need a turn: or turns: URL in --ice-server")
        }
        guard (60...(7 * 86_400)).contains(turnCredentialLifetime) else {
            throw ValidationError("--turn-credential-lifetime must be 60 seconds to 7 days")
        }
        guard connectTimeout >= 1, connectTimeout <= 600 else { throw ValidationError("--connect-timeout must be 1...600 seconds") }
        guard (0...64).contains(workers) else { throw ValidationError("--workers must be 1...64 (0: one per CPU)") }
    }

    /// RFC 1123 §2.1 host names: letters, digits and '-' in dot-separated labels.
    static func isHostName(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return text.utf8.count <= 253 && !labels.isEmpty && labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    func run() async throws {
        let signals = TerminationSignals()
        let http = SocketAddress(httpAddress)!
        let udp = SocketAddress(udpAddress)!
        var announce: [IPAddress] = []
        for entry in announced {
            let addresses = IPAddress(entry).map { [$0] } ?? NameResolution.addresses(of: entry)
            guard !addresses.isEmpty else { throw ValidationError("--announce \(entry): the name does not resolve") }
            if IPAddress(entry) == nil {
                Log.info("announced name resolved", ["name": entry, "addresses": addresses.map(\.description).joined(separator: ",")])
            }
            for address in addresses where !announce.contains(address) { announce.append(address) }
        }
        let sfu: SFU
        do {
            sfu = try SFU(configuration: SFUConfiguration(udpAddress: udp, announcedAddresses: announce,
                                                          maximumSessions: maximumSessions,
                                                          connectTimeout: .milliseconds(Int64(connectTimeout * 1000)),
                                                          workers: workers > 0 ? workers : LinuxProcess.allowedCPUCount()))
        } catch {
            throw ValidationError("cannot use UDP \(udpAddress) for media: \(error)")
        }
        let store: Store
        do {
            store = try Store(path: database)
        } catch {
            sfu.shutdown()
            throw ValidationError("cannot open the database \(database): \(error)")
        }
        let now = Date().timeIntervalSince1970
        if let ended = try? store.endSessionsLeftOpen(at: now, reason: "the server restarted"), ended > 0 {
            Log.info("sessions left open by the last run recorded as ended", ["count": String(ended)])
        }
        if adminToken == nil, (try? store.apiTokens().isEmpty) == true, let (_, token) = try? store.createAPIToken(name: "initial") {
            Log.info("created the first admin token for /api/ and /dashboard.html; it is shown only now", ["token": token])
        }
        // Session records are written off the media queue: a commit waits for fsync.
        let storeQueue = DispatchQueue(label: "skylark.store")
        sfu.onSessionStarted = { info in
            storeQueue.async {
                try? store.sessionStarted(id: info.id, stream: info.stream, role: info.role, remoteAddress: info.remoteAddress,
                                          at: info.createdAt)
            }
            Log.info("session started", ["session": info.id, "role": info.role, "stream": info.stream])
        }
        sfu.onSessionEnded = { info, reason in
            let counters = info.counters
            let endedAt = Date().timeIntervalSince1970
            storeQueue.async {
                try? store.sessionEnded(id: info.id, at: endedAt, reason: reason,
                                        packetsIn: Int64(clamping: counters.packetsIn), bytesIn: Int64(clamping: counters.bytesIn),
                                        packetsOut: Int64(clamping: counters.packetsOut), bytesOut: Int64(clamping: counters.bytesOut),
                                        packetsLost: counters.packetsLost)
            }
            Log.info("session ended", ["session": info.id, "role": info.role, "stream": info.stream,
                                       "seconds": String(Int(info.seconds)), "reason": reason])
        }
        let root = FileManager.default.fileExists(atPath: webRoot + "/index.html") ? webRoot : nil
        if root == nil { Log.warning("no web pages; serving the API only", ["web-root": webRoot]) }
        let open = openStreams == .on || (openStreams == .auto && http.ip.isLoopback)
        let access = ServerAccessPolicy(store: StoreAccessPolicy(store: store, openStreams: open),
                                        publishToken: publishToken, viewToken: viewToken)
        var credentials = ICEServerLinks.Credentials.none
        if let turnSecret {
            credentials = .timeLimited(secret: turnSecret, lifetimeSeconds: turnCredentialLifetime,
                                       now: { Int64(Date().timeIntervalSince1970) })
        } else if let turnUsername, let turnPassword {
            credentials = .fixed(username: turnUsername, credential: turnPassword)
        }
        let links = ICEServerLinks(urls: iceServers, credentials: credentials)
        let whip = WHIPServer(sfu: sfu, configuration: WHIPConfiguration(iceServers: links, webRoot: root),
                              access: access)
        let admin = AdminAPI(store: store, sfu: sfu, adminToken: adminToken)
        var configuration = HTTPServerConfiguration(host: http.ip.description, port: http.port)
        if let tlsCertificate, let tlsKey {
            configuration.tls = TLSConfiguration(certificatePath: tlsCertificate, keyPath: tlsKey)
        }
        let server = HTTPServer(configuration: configuration)
        let bound: SocketAddress
        do {
            bound = try server.start { [server] request in
                switch request.path {
                case "/healthz":
                    return .text("ok\n")
                case "/metrics":
                    var response = HTTPResponse.text(Metrics.render(sfu: await sfu.metrics(), http: server.counters))
                    response.headers.replaceOrAdd(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
                    return response
                default:
                    if let response = await admin.handle(request) { return response }
                    if let response = await whip.handle(request) { return response }
                    return .problem(status: 404, detail: "nothing at \(request.path)")
                }
            }
        } catch {
            sfu.shutdown()
            store.close()
            throw ValidationError("cannot listen on \(httpAddress): \(error)")
        }
        let scheme = configuration.tls == nil ? "http" : "https"
        let host = bound.ip.isIPv4 ? bound.ip.description : "[\(bound.ip)]"
        let base = "\(scheme)://\(host):\(bound.port)"
        if udp.ip.isUnspecified && announce.isEmpty {
            // Behind NAT or in a container these are not what clients reach: --announce says what is.
            Log.warning("the UDP address is a wildcard and no --announce is set: candidates carry this machine's own addresses",
                        ["udp": udpAddress, "candidates": sfu.configuration.announcedAddresses.map(\.description).joined(separator: ",")])
        }
        Log.info("media on one UDP port", ["udp": sfu.localAddress.description,
                                            "announced": sfu.configuration.announcedAddresses.map(\.description).joined(separator: ","),
                                            "workers": String(sfu.configuration.workers)])
        Log.info("database ready", ["path": database, "open-streams": open ? "on" : "off"])
        FileHandle.standardError.write(Data("""
            Skylark is running: open \(base)/
              publish (WHIP): \(base)/whip/<stream>    watch (WHEP): \(base)/whep/<stream>
              dashboard: \(base)/dashboard.html    metrics: \(base)/metrics

            """.utf8))
        await signals.wait()
        Log.info("stopping: ending sessions and closing the database")
        server.stop()
        sfu.shutdown()
        storeQueue.sync {}
        store.close()
        Log.info("stopped")
    }
}

/// `--open-streams`.
enum OpenStreams: String, ExpressibleByArgument, CaseIterable {
    case on, off, auto
}

/// The command-line tokens work for every stream; otherwise the database decides.
struct ServerAccessPolicy: AccessPolicy {
    let store: StoreAccessPolicy
    let publishToken: String?
    let viewToken: String?

    func mayPublish(stream: String, token: String?) async -> AccessDecision {
        if let publishToken, let token, constantTimeEqual(publishToken, token) { return .allowed }
        let decision = await store.mayPublish(stream: stream, token: token)
        if decision == .allowed, publishToken != nil, (try? store.store.stream(named: stream)) == nil {
            return .unauthorized("this server needs a Bearer token to publish")
        }
        return decision
    }

    func mayView(stream: String, token: String?) async -> AccessDecision {
        if let viewToken, let token, constantTimeEqual(viewToken, token) { return .allowed }
        let decision = await store.mayView(stream: stream, token: token)
        if decision == .allowed, viewToken != nil, (try? store.store.stream(named: stream)) == nil {
            return .unauthorized("this server needs a Bearer token to view")
        }
        return decision
    }
}


/// SIGINT and SIGTERM, caught from the moment this is made: the server installs it before it says it is
/// running, so a stop sent as soon as it is up still ends sessions and closes the database.
final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var arrived = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.arrive() }
            source.resume()
            sources.append(source)
        }
    }

    /// Returns once either signal has arrived, at once if one already has.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if arrived {
                lock.unlock()
                continuation.resume()
            } else {
                waiter = continuation
                lock.unlock()
            }
        }
    }

    private func arrive() {
        lock.lock()
        arrived = true
        let waiting = waiter
        waiter = nil
        lock.unlock()
        waiting?.resume()
    }
}
