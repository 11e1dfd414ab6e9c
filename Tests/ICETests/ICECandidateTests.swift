import SkylarkBase
import Testing

@testable import ICE

@Suite struct ICECandidateTests {
    /// Candidate lines in the shapes Chromium, Firefox and aiortc produce (addresses from documentation ranges).
    static let realLines = [
        // Chromium host, srflx, relay, mDNS host and TCP.
        "candidate:3442447574 1 udp 2122260223 192.168.1.5 56143 typ host generation 0 ufrag EsAw network-id 1",
        "candidate:842163049 1 udp 1686052607 203.0.113.7 56143 typ srflx raddr 192.168.1.5 rport 56143 generation 0 ufrag EsAw network-id 1 network-cost 10",
        "candidate:2157334355 1 udp 41885439 198.51.100.20 61234 typ relay raddr 203.0.113.7 rport 56143 generation 0 ufrag EsAw network-id 1",
        "candidate:1510613869 1 udp 2122260223 6f0e4d2c-1f3b-4f6a-9c1e-2b2d3c4e5f60.local 54321 typ host generation 0 ufrag EsAw network-id 1",
        "candidate:1876313031 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active generation 0 ufrag EsAw network-id 1",
        "candidate:2999745851 1 udp 2122197247 2001:db8::5 56144 typ host generation 0 ufrag EsAw network-id 2",
        // Firefox.
        "candidate:0 1 UDP 2122252543 192.168.1.5 49203 typ host",
        "candidate:1 1 UDP 1686052863 203.0.113.7 49203 typ srflx raddr 192.168.1.5 rport 49203",
        "candidate:2 1 UDP 2122187007 2001:db8::5 53287 typ host",
        "candidate:3 1 TCP 2105458943 192.168.1.5 9 typ host tcptype active",
        // aiortc.
        "candidate:5d8ec5ac8e4d5a2c4f8b4d0ee5d8f8a1 1 udp 2130706431 192.168.1.10 51873 typ host",
        "candidate:e1c8d2b4a6f83d2a9c7b5e4f3a2b1c0d 1 udp 1694498815 203.0.113.9 51873 typ srflx raddr 192.168.1.10 rport 51873",
    ]

    @Test func parsesChromiumSrflx() throws {
        let candidate = try ICECandidate(parsing: Self.realLines[1])
        #expect(candidate.foundation == "842163049")
        #expect(candidate.component == 1)
        #expect(candidate.transport == "udp")
        #expect(candidate.priority == 1_686_052_607)
        #expect(candidate.connectionAddress == "203.0.113.7")
        #expect(candidate.port == 56143)
        #expect(candidate.kind == .srflx)
        #expect(candidate.relatedAddress == "192.168.1.5")
        #expect(candidate.relatedPort == 56143)
        #expect(candidate.address == SocketAddress("203.0.113.7:56143"))
        #expect(candidate.extensionValue("ufrag") == "EsAw")
        #expect(candidate.extensionValue("network-cost") == "10")
        #expect(candidate.extensions.map(\.name) == ["generation", "ufrag", "network-id", "network-cost"])
    }

    @Test func parsesMDNSAndIPv6AndTCP() throws {
        let mdns = try ICECandidate(parsing: Self.realLines[3])
        #expect(mdns.connectionAddress.hasSuffix(".local"))
        #expect(mdns.address == nil)
        let tcp = try ICECandidate(parsing: Self.realLines[4])
        #expect(tcp.transport == "tcp")
        #expect(tcp.extensionValue("tcptype") == "active")
        let v6 = try ICECandidate(parsing: Self.realLines[8])
        #expect(v6.address == SocketAddress("[2001:db8::5]:53287"))
        #expect(v6.transport == "udp")
    }

    @Test func acceptsPrefixesAndLineEndings() throws {
        let plain = try ICECandidate(parsing: Self.realLines[0])
        for variant in ["a=" + Self.realLines[0], "a=" + Self.realLines[0] + "\r\n", String(Self.realLines[0].dropFirst(10)),
                        "  " + Self.realLines[0] + " "] {
            #expect(try ICECandidate(parsing: variant) == plain, "\(variant)")
        }
    }

    @Test func roundTrips() throws {
        for line in Self.realLines {
            let candidate = try ICECandidate(parsing: line)
            #expect(try ICECandidate(parsing: candidate.sdpValue) == candidate)
            #expect(try ICECandidate(parsing: candidate.candidateAttribute) == candidate)
            #expect(candidate.candidateAttribute == "candidate:" + candidate.sdpValue)
            #expect(!candidate.sdpValue.hasPrefix("candidate:"))
            // Lower-case transport is the only normalisation.
            #expect(candidate.candidateAttribute == line.replacingUDPAndTCP())
        }
    }

    @Test func rejectsMalformedLines() {
        let bad = [
            "", "candidate:", "candidate:1 1 udp", "candidate:1 1 udp 100 1.2.3.4 5000 typ",
            "candidate:1 1 udp 100 1.2.3.4 70000 typ host", "candidate:1 1 udp 100 1.2.3.4 5000 type host",
            "candidate:1 1 udp 100 1.2.3.4 5000 typ bogus", "candidate:1 0 udp 100 1.2.3.4 5000 typ host",
            "candidate:1 1 udp -5 1.2.3.4 5000 typ host", "candidate:1 1 udp 100 1.2.3.4 5000 typ host generation",
            "candidate:1 1 udp 100 1.2.3.4 5000 typ srflx raddr 1.2.3.4 rport x",
            "candidate:f@o 1 udp 100 1.2.3.4 5000 typ host",
            "candidate:\(String(repeating: "a", count: 33)) 1 udp 100 1.2.3.4 5000 typ host",
        ]
        for line in bad {
            #expect(throws: ICEError.self, "\(line)") { try ICECandidate(parsing: line) }
        }
    }

    @Test func fuzzedLinesNeverTrap() {
        var random = SplitMix64(seed: 8445)
        let alphabet = Array("0123456789 abcdefudpUDPtyphostrelay.:-/+\r\n")
        var parsed = 0
        for round in 0..<3000 {
            var characters = Array(Self.realLines[round % Self.realLines.count])
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<characters.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: characters[index] = alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
                case 1: characters.remove(at: index)
                default: characters.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &random)], at: index)
                }
                if characters.isEmpty { break }
            }
            if let candidate = try? ICECandidate(parsing: String(characters)) {
                parsed += 1
                _ = candidate.address
                #expect((try? ICECandidate(parsing: candidate.sdpValue)) == candidate)
            }
        }
        #expect(parsed > 100)
    }

    @Test func hostCandidatePriorityAndFoundation() throws {
        let address = SocketAddress("192.168.1.10:51873")!
        let host = ICECandidate.host(address: address)
        // 126 << 24 | 65535 << 8 | 255, the value aiortc and others print for host candidates.
        #expect(host.priority == 2_130_706_431)
        #expect(host.kind == .host && host.transport == "udp" && host.component == 1)
        #expect(host.address == address)
        #expect(host.sdpValue == "\(host.foundation) 1 udp 2130706431 192.168.1.10 51873 typ host")
        // Same base IP and type share a foundation; another IP gets another one.
        #expect(ICECandidate.host(address: SocketAddress("192.168.1.10:9")!).foundation == host.foundation)
        #expect(ICECandidate.host(address: SocketAddress("192.168.1.11:9")!).foundation != host.foundation)
        #expect(ICECandidate.priority(kind: .srflx, localPreference: 65535, component: 1) == 1_694_498_815)
        #expect(ICECandidate.priority(kind: .relay, localPreference: 0, component: 2) == 254)
        #expect(ICECandidate.priority(kind: .prflx, localPreference: 1, component: 1) == 110 << 24 | 256 | 255)
        let v6 = ICECandidate.host(address: SocketAddress("[2001:db8::1]:9")!, localPreference: 100)
        #expect(v6.connectionAddress == "2001:db8::1")
        #expect(try ICECandidate(parsing: v6.candidateAttribute) == v6)
    }

    @Test func randomCredentials() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let a = ICECredentials.random()
        let b = ICECredentials.random()
        #expect(a.ufrag.count == 8 && a.password.count == 24)
        #expect(a.ufrag.allSatisfy(allowed.contains) && a.password.allSatisfy(allowed.contains))
        #expect(a != b)
    }
}

private extension String {
    func replacingUDPAndTCP() -> String {
        split(separator: " ", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset == 2 ? $0.element.lowercased() : String($0.element) }.joined(separator: " ")
    }
}
