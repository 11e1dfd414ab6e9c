import ArgumentParser
import Dispatch
import Foundation
import HTTP
import SFU
import SkylarkBase
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
            help: "IP address to put in ICE candidates instead of the bound one, e.g. a 1:1 NAT's public address; repeat for several (SKYLARK_ANNOUNCE, comma-separated).")
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

    @Option(name: .customLong("tls-cert"), help: "PEM certificate for HTTPS (SKYLARK_TLS_CERT).")
    var tlsCertificateOption: String?
    var tlsCertificate: String? { tlsCertificateOption ?? ProcessInfo.processInfo.environment["SKYLARK_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("tls-key"), help: "PEM private key for HTTPS (SKYLARK_TLS_KEY).")
    var tlsKeyOption: String?
    var tlsKey: String? { tlsKeyOption ?? ProcessInfo.processInfo.environment["SKYLARK_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(name: .customLong("max-sessions"), help: "Most WHIP+WHEP sessions at once (SKYLARK_MAX_SESSIONS).")
    var maximumSessions = Int(environment("SKYLARK_MAX_SESSIONS", "10000")) ?? 10_000

    func validate() throws {
        guard SocketAddress(httpAddress) != nil else { throw ValidationError("--http must be IP:PORT, e.g. 127.0.0.1:8080 (got \"\(httpAddress)\")") }
        guard SocketAddress(udpAddress) != nil else { throw ValidationError("--udp must be IP:PORT, e.g. 0.0.0.0:8189 (got \"\(udpAddress)\")") }
        for address in announced where IPAddress(address) == nil {
            throw ValidationError("--announce takes an IP address (got \"\(address)\")")
        }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        let http = SocketAddress(httpAddress)!
        var udp = SocketAddress(udpAddress)!
        let announce = announced.compactMap(IPAddress.init)
        if udp.ip.isUnspecified && announce.isEmpty {
            log("warning: --udp \(udpAddress) is a wildcard and nothing is announced; candidates will carry \(udp.ip), which clients cannot reach. Set --announce.")
        }
        if udp.port == 0 { udp.port = 0 }
        let sfu: SFU
        do {
            sfu = try SFU(configuration: SFUConfiguration(udpAddress: udp, announcedAddresses: announce,
                                                          maximumSessions: maximumSessions))
        } catch {
            throw ValidationError("cannot use UDP \(udpAddress) for media: \(error)")
        }
        sfu.onSessionEnded = { info, reason in
            log("session \(info.id) (\(info.role) of \(info.stream)) ended after \(Int(info.seconds)) s: \(reason)")
        }
        let root = FileManager.default.fileExists(atPath: webRoot + "/index.html") ? webRoot : nil
        if root == nil { log("warning: no web pages at \(webRoot) (--web-root); serving the API only") }
        let whip = WHIPServer(sfu: sfu, configuration: WHIPConfiguration(iceServers: iceServers, webRoot: root),
                              access: StaticAccessPolicy(publishToken: publishToken, viewToken: viewToken))
        var configuration = HTTPServerConfiguration(host: http.ip.description, port: http.port)
        if let tlsCertificate, let tlsKey {
            configuration.tls = TLSConfiguration(certificatePath: tlsCertificate, keyPath: tlsKey)
        }
        let server = HTTPServer(configuration: configuration)
        let bound: SocketAddress
        do {
            bound = try server.start { request in
                if request.path == "/healthz" { return .text("ok\n") }
                if let response = await whip.handle(request) { return response }
                return .problem(status: 404, detail: "nothing at \(request.path)")
            }
        } catch {
            throw ValidationError("cannot listen on \(httpAddress): \(error)")
        }
        let scheme = configuration.tls == nil ? "http" : "https"
        let host = bound.ip.isIPv4 ? bound.ip.description : "[\(bound.ip)]"
        log("media on udp \(sfu.localAddress)" + (announce.isEmpty ? "" : ", announced as \(announce.map(\.description).joined(separator: ", "))"))
        log("Skylark is running: open \(scheme)://\(host):\(bound.port)/")
        log("publish: \(scheme)://\(host):\(bound.port)/whip/<stream>   watch: \(scheme)://\(host):\(bound.port)/whep/<stream>")
        await waitForTermination()
        log("stopping")
        server.stop()
        sfu.shutdown()
    }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("skylark: \(message)\n".utf8))
}

/// Waits for SIGINT or SIGTERM.
func waitForTermination() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let once = OnceFlag()
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { if once.take() { continuation.resume() } }
            source.resume()
            sources.append(source)
        }
        signalSources = sources
    }
}

nonisolated(unsafe) var signalSources: [DispatchSourceSignal] = []

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = false
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if taken { return false }
        taken = true
        return true
    }
}
