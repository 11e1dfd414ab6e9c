// swift-tools-version:6.0
import PackageDescription

// One target per layer; see README.md for the picture.
let package = Package(
    name: "Skylark",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "WebRTC", targets: ["WebRTC"]),
        .executable(name: "skylark-peer", targets: ["SkylarkPeer"]),
        .executable(name: "skylark", targets: ["Skylark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from the system (Debian's -dev packages), and small C shims by concern: OpenSSL's macros and
        // record-level helpers; socket calls (sendmmsg/recvmmsg) that must not drag OpenSSL into the UDP runtime.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        .target(name: "CSocketShims"),
        .target(name: "CMemoryHints"),

        // Sans-IO protocol layers: bytes and time in, bytes and events out.
        .target(name: "SkylarkBase"),
        .target(name: "SDP", dependencies: ["SkylarkBase"]),
        .target(name: "STUN", dependencies: ["SkylarkBase", "COpenSSL"]),
        .target(name: "ICE", dependencies: ["SkylarkBase", "STUN"]),
        .target(name: "DTLS", dependencies: ["SkylarkBase", "COpenSSL", "COpenSSLShims"]),
        .target(name: "SRTP", dependencies: ["SkylarkBase", "COpenSSL", "COpenSSLShims", "CMemoryHints"]),
        .target(name: "RTP", dependencies: ["SkylarkBase"]),
        .target(name: "Opus", dependencies: ["COpus"]),

        // One peer's transport: ICE, then DTLS, then SRTP on one bundled 5-tuple, still sans-IO.
        .target(name: "Transport", dependencies: ["SkylarkBase", "ICE", "DTLS", "SRTP"]),

        // Runtime: the process's clocks, /proc and callback slots (only drivers read them); socket addresses as the
        // kernel takes them, for UDP and TCP alike; UDP sockets over Dispatch.
        .target(name: "Runtime", dependencies: ["SkylarkBase"]),
        .target(name: "Sockets", dependencies: ["SkylarkBase"]),
        .target(name: "UDPRuntime", dependencies: ["SkylarkBase", "Sockets", "CSocketShims"]),

        // HTTP/1.1 server (optionally over TLS) for WHIP/WHEP and the admin API.
        .target(name: "HTTP", dependencies: ["SkylarkBase", "Sockets", "COpenSSL", "COpenSSLShims"]),

        // The server: sessions on one UDP port and the relay, then WHIP/WHEP over HTTP.
        .target(name: "SFU", dependencies: [
            "SkylarkBase", "SDP", "ICE", "DTLS", "RTP", "SRTP", "Transport", "Runtime", "UDPRuntime", "CMemoryHints",
        ]),
        .target(name: "WHIP", dependencies: ["HTTP", "SFU", "STUN", "SkylarkBase"]),

        // Persistence: streams, their tokens, admin API tokens and session history in SQLite.
        .target(name: "Store", dependencies: ["CSQLite", "COpenSSL", "SkylarkBase", "Runtime"]),
        // The management API under /api/ and /metrics.
        .target(name: "AdminAPI", dependencies: ["HTTP", "SFU", "Store", "WHIP", "Transport", "SkylarkBase"]),
        .executableTarget(name: "Skylark", dependencies: [
            "WHIP", "SFU", "HTTP", "SkylarkBase", "Runtime", "UDPRuntime", "Store", "AdminAPI", "LoadTool",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // The W3C / python-webrtc object model over the core.
        .target(name: "WebRTC", dependencies: [
            "SkylarkBase", "SDP", "STUN", "ICE", "DTLS", "SRTP", "RTP", "Transport", "Opus", "Runtime", "UDPRuntime",
        ]),

        // Load generation and measurement: many real WHEP viewers and WHIP publishers, and the UDP send ceiling.
        .target(name: "LoadTool", dependencies: [
            "SkylarkBase", "SDP", "ICE", "DTLS", "SRTP", "RTP", "Transport", "Runtime", "UDPRuntime", "Sockets",
        ]),

        // A command-line peer for interop tests and demos.
        .executableTarget(name: "SkylarkPeer", dependencies: ["WebRTC", "Opus", "SkylarkBase"]),

        .target(name: "VirtualNetwork", dependencies: ["SkylarkBase"], path: "Tests/VirtualNetwork"),
        .target(name: "SkylarkTestSupport", dependencies: ["WebRTC", "Opus", "VirtualNetwork", "SkylarkBase"],
                path: "Tests/SkylarkTestSupport"),
        .testTarget(name: "SkylarkBaseTests", dependencies: ["SkylarkBase"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "UDPRuntime", "SkylarkBase"]),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "SkylarkBase"], resources: [.copy("Offers")]),
        .testTarget(name: "STUNTests", dependencies: ["STUN", "SkylarkBase"]),
        .testTarget(name: "ICETests", dependencies: ["ICE", "STUN", "SkylarkBase", "VirtualNetwork"]),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", "Runtime"]),
        // libsrtp2 behind SRTPSession's API: the reference the SRTP tests cross-check against and the bench compares with.
        .target(name: "SRTPReference", dependencies: ["SRTP", "CSRTP"], path: "Tests/SRTPReference"),
        .testTarget(name: "SRTPTests", dependencies: ["SRTP", "SRTPReference", "SkylarkBase"]),
        .executableTarget(name: "srtp-bench", dependencies: ["SRTP", "SRTPReference"], path: "Benchmarks/SRTPBench"),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "SkylarkBase"]),
        .testTarget(name: "OpusTests", dependencies: ["Opus", "SkylarkBase"]),
        .testTarget(name: "WebRTCTests", dependencies: ["WebRTC", "Transport", "DTLS", "STUN", "SkylarkTestSupport"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "ICE", "DTLS", "STUN", "SkylarkBase", "VirtualNetwork"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "SkylarkBase"]),
        .testTarget(name: "SFUTests", dependencies: ["SFU", "WHIP", "WebRTC", "Transport", "ICE", "DTLS", "RTP", "SDP", "HTTP", "Opus",
                                                    "SkylarkBase", "Runtime", "SkylarkTestSupport", "VirtualNetwork"]),
        .executableTarget(name: "store-crash-writer", dependencies: ["Store", "CSQLite"], path: "Tests/StoreCrashWriter"),
        .testTarget(name: "StoreTests", dependencies: ["Store", "SkylarkBase", "store-crash-writer"]),
        .testTarget(name: "LoadToolTests", dependencies: ["LoadTool", "SkylarkBase", "SFU", "RTP", "SDP", "ICE"]),
    ],
    swiftLanguageModes: [.v6]
)

// Coverage-guided fuzz targets (libFuzzer), one per parser an attacker can reach, declared only when
// scripts/fuzz builds them with `-sanitize=fuzzer,address` (coverage, and libFuzzer's driver to link).
if Context.environment["SKYLARK_FUZZ"] == "1" {
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("FuzzSDP", ["SDP", "SFU"]),
        ("FuzzSDPFragment", ["SFU"]),
        ("FuzzSTUN", ["STUN", "ICE", "SkylarkBase"]),
        ("FuzzRTP", ["RTP"]),
        ("FuzzHTTP", ["HTTP"]),
        ("FuzzTransport", ["Transport", "DTLS", "ICE", "RTP", "SkylarkBase"]),
    ]
    package.targets.append(.target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"))
    package.targets.append(.target(name: "FuzzDriver", dependencies: ["CLibFuzzer"], path: "Fuzz/FuzzDriver"))
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: name, dependencies: dependencies + ["FuzzDriver"],
                                                 path: "Fuzz/\(name)"))
    }
}
