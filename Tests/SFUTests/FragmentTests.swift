import SkylarkBase
import Testing

@testable import SFU

/// A trickle fragment shaped like RFC 9725 §4.3.1's example (RFC 8840 §9 syntax).
let trickleFragment = """
    a=ice-options:trickle ice2\r
    a=group:BUNDLE 0\r
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r
    a=mid:0\r
    a=ice-ufrag:EsAw\r
    a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r
    a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r
    a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2\r
    a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 ufrag EsAw network-id 1\r
    a=end-of-candidates\r

    """

extension String {
    func replacingCRLF() -> String {
        String(decoding: Array(utf8).filter { $0 != 0x0D }, as: UTF8.self)
    }
}

func fragmentError(_ text: String) -> SFUError? {
    do {
        _ = try SDPFragment(parsing: text)
        return nil
    } catch {
        return error
    }
}

@Suite struct FragmentTests {
    @Test func trickleCandidatesWithTheirMid() throws {
        let fragment = try SDPFragment(parsing: trickleFragment)
        #expect(fragment.ufrag == "EsAw" && fragment.password == "P2uYro0UCOQ4zxjKXaWCBui1")
        try #require(fragment.candidates.count == 3)
        #expect(fragment.candidates.allSatisfy { $0.mid == "0" })
        #expect(fragment.candidates[0].value == "1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1")
        #expect(fragment.candidates[2].value.hasSuffix("tcptype active generation 0 ufrag EsAw network-id 1"))
        #expect(fragment.endOfCandidates)
    }

    /// Candidates follow the most recent a=mid; LF-only line ends are accepted.
    @Test func candidatesAcrossSectionsAndBareLineFeeds() throws {
        let text = [
            "a=candidate:1 1 udp 1 192.0.2.1 1000 typ host",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "a=mid:a",
            "a=candidate:2 1 udp 2 192.0.2.2 2000 typ host",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=mid:v",
            "a=candidate:3 1 udp 3 192.0.2.3 3000 typ srflx raddr 0.0.0.0 rport 0",
        ].joined(separator: "\n")
        let fragment = try SDPFragment(parsing: text)
        try #require(fragment.candidates.count == 3)
        #expect(fragment.candidates.map(\.mid) == [nil, "a", "v"])
        #expect(fragment.candidates.map { $0.value.split(separator: " ")[5] } == ["1000", "2000", "3000"])
        #expect(!fragment.endOfCandidates)
        #expect(fragment.ufrag == nil && fragment.password == nil)
    }

    /// RFC 8840 fragments use CRLF like all SDP; Swift reads "\r\n" as one Character, so splitting on "\r" or
    /// "\n" Characters alone finds no line ends.
    @Test func crlfAndLFReadTheSame() throws {
        let crlf = try SDPFragment(parsing: trickleFragment)
        let lf = try SDPFragment(parsing: trickleFragment.replacingCRLF())
        #expect(lf.candidates.count == 3)
        #expect(crlf.candidates.map(\.value) == lf.candidates.map(\.value))
        #expect(crlf.ufrag == lf.ufrag && crlf.endOfCandidates == lf.endOfCandidates)
    }

    @Test func endOfCandidatesAlone() throws {
        let fragment = try SDPFragment(parsing: "a=end-of-candidates\r\n")
        #expect(fragment.endOfCandidates && fragment.candidates.isEmpty)
    }

    @Test func restartCarriesNewCredentials() throws {
        let fragment = try SDPFragment(parsing: "a=ice-ufrag:ZZZZ\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n")
        #expect(fragment.ufrag == "ZZZZ")
        #expect(fragment.password == "abcdefghijklmnopqrstuvwx")
        #expect(fragment.candidates.isEmpty)
    }

    @Test(arguments: ["a=ice-ufrag:ZZZZ\r\n", "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"])
    func credentialsMustComeTogether(_ text: String) {
        guard case .badFragment = fragmentError(text) else {
            Issue.record("expected badFragment for \(text.debugDescription)")
            return
        }
    }

    @Test(arguments: ["hello", "a", "=x", "a=end-of-candidates\r\nnot an sdp line\r\n", "\u{0}\u{1}\u{2}", "candidate:1 1 udp 1 192.0.2.1 1 typ host"])
    func garbageLinesAreRefused(_ text: String) {
        guard case .badFragment = fragmentError(text) else {
            Issue.record("expected badFragment for \(text.debugDescription)")
            return
        }
    }

    /// A fragment over the limit is refused with its size, whatever it holds; one at the limit is read.
    @Test func oversizedFragmentIsRefused() throws {
        let line = "a=candidate:1 1 udp 1 192.0.2.1 1000 typ host\r\n"
        let text = String(repeating: line, count: 2_000)
        #expect(fragmentError(text) == .fragmentTooLarge(text.utf8.count))
        #expect(SFUError.fragmentTooLarge(text.utf8.count).status == 413)
        let fits = String(repeating: line, count: SDPFragment.maximumBytes / line.utf8.count)
        #expect(try SDPFragment(parsing: fits).parsedCandidates.count == SDPFragment.maximumBytes / line.utf8.count)
    }

    /// Random and mutated input throws or parses; it never traps.
    @Test func fuzzedFragmentsNeverTrap() {
        var random = SplitMix64(seed: 0x5F_4A_11)
        let seed = Array(trickleFragment.utf8)
        var parsed = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                bytes = seed
                for _ in 0..<Int.random(in: 1...8, using: &random) where !bytes.isEmpty {
                    let index = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0...2, using: &random) {
                    case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                    case 1: bytes.remove(at: index)
                    default: bytes.insert([0x0A, 0x0D, 0x3D, 0x3A, 0x61].randomElement(using: &random) ?? 0, at: index)
                    }
                }
            }
            if (try? SDPFragment(parsing: String(decoding: bytes, as: UTF8.self))) != nil { parsed += 1 }
        }
        #expect(parsed > 100)
    }
}
