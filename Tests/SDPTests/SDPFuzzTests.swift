import SkylarkBase
import Testing

@testable import SDP

@Suite struct SDPFuzzTests {
    /// Uses every typed view, so a trap in any of them shows up.
    private func exercise(_ description: SessionDescription) -> Int {
        var total = description.groups.count + (description.bundleGroup?.mids.count ?? 0)
        total += description.isICELite ? 1 : 0
        for index in -1...description.media.count {
            total += description.iceCredentials(forMedia: index)?.ufrag.count ?? 0
            total += description.iceOptions(forMedia: index).count
            total += description.fingerprints(forMedia: index).reduce(0) { $0 + $1.bytes.count }
            total += description.setup(forMedia: index) == nil ? 0 : 1
            total += description.direction(forMedia: index).sends ? 1 : 0
        }
        for section in description.media {
            total += section.mid.map { description.mediaIndex(forMID: $0) ?? 0 } ?? 0
            total += section.rtpMaps.count + section.rtpMaps(named: "opus").count
            for payloadType in UInt8(0)...127 where section.formats.contains(String(payloadType)) {
                total += section.formatParameters(for: payloadType).count + section.rtcpFeedback(for: payloadType).count
            }
            total += section.extensionMaps.count + section.ssrcAttributes.count + section.ssrcGroups.count
            total += section.ssrcs.count + section.msids.count + section.candidates.count
            total += (section.isRTCPMux ? 1 : 0) + (section.hasEndOfCandidates ? 1 : 0)
            total += section.direction == nil ? 0 : 1
        }
        return total
    }

    private func mutate(_ text: String, _ random: inout SplitMix64) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let mutations = Int.random(in: 1...4, using: &random)
        for _ in 0..<mutations {
            guard !lines.isEmpty else { break }
            let index = Int.random(in: 0..<lines.count, using: &random)
            switch Int.random(in: 0..<9, using: &random) {
            case 0:  // flip bytes somewhere in a line
                var bytes = Array(lines[index].utf8)
                for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                }
                lines[index] = String(decoding: bytes, as: UTF8.self)
            case 1:  // truncate a line
                lines[index] = String(lines[index].prefix(Int.random(in: 0...lines[index].count, using: &random)))
            case 2:  // duplicate a line, sometimes many times
                let copies = Bool.random(using: &random) ? 1 : Int.random(in: 2...80, using: &random)
                lines.insert(contentsOf: Array(repeating: lines[index], count: copies), at: index)
            case 3:  // delete a line
                lines.remove(at: index)
            case 4:  // swap two lines
                lines.swapAt(index, Int.random(in: 0..<lines.count, using: &random))
            case 5:  // replace the value with digits, to probe number ranges
                if let equals = lines[index].firstIndex(of: "=") {
                    let digits = (0..<Int.random(in: 0...25, using: &random)).map { _ in
                        "0123456789 /:".randomElement(using: &random) ?? "0"
                    }
                    lines[index] = String(lines[index][...equals]) + String(digits)
                }
            case 6:  // insert random bytes
                let bytes = (0..<Int.random(in: 1...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                lines.insert(String(decoding: bytes, as: UTF8.self), at: index)
            case 7:  // cut the whole text
                let keep = Int.random(in: 0...lines.count, using: &random)
                lines = Array(lines.prefix(keep))
            default:  // change the line ending style
                lines[index] += Bool.random(using: &random) ? "\r" : "\r\r"
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutatedOffersNeverTrap() {
        var random = SplitMix64(seed: 0x5D9_2026)
        let offers = Offers.all.keys.sorted().map { Offers.text($0) } + [obsOffer]
        #expect(offers.count == 10)
        var parsedCount = 0
        var failedCount = 0
        for round in 0..<2000 {
            let text: String
            if round % 10 == 9 {
                // Pure noise, biased towards SDP-ish bytes.
                let alphabet = Array("v=0amcs:/ \r\n0123456789".utf8) + [0, 0xFF, 0xC3]
                let bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in
                    alphabet.randomElement(using: &random) ?? 0
                }
                text = String(decoding: bytes, as: UTF8.self)
            } else {
                text = mutate(offers[round % offers.count], &random)
            }
            do {
                let parsed = try SessionDescription(parsing: text)
                parsedCount += 1
                _ = exercise(parsed)
                // Whatever parses must serialize to text that parses back to the same value.
                let again = try SessionDescription(parsing: parsed.text)
                #expect(again == parsed, "round \(round)")
            } catch {
                failedCount += 1
                #expect(error.line >= 1 && !error.reason.isEmpty, "round \(round)")
            }
        }
        // Both outcomes must be exercised for the test to mean anything.
        #expect(parsedCount > 100)
        #expect(failedCount > 100)
    }

    @Test func repeatedPathologicalLinesStayBounded() {
        // Many candidates, many formats and an m= line at the length limit all parse or fail cleanly.
        let formats = (0..<128).map(String.init).joined(separator: " ")
        var text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF \(formats)\r\n"
        for index in 0..<1023 { text += "a=candidate:\(index) 1 udp 1 192.0.2.1 \(index) typ host\r\n" }
        let parsed = try? SessionDescription(parsing: text)
        #expect(parsed?.media.first?.candidates.count == 1023)
        #expect(parsed?.media.first?.formats.count == 128)
        text += "a=candidate:x 1 udp 1 192.0.2.1 1 typ host\r\na=extra\r\n"
        expectParseError(text, line: 4 + 1024 + 1, reason: "too many attributes")
    }
}
