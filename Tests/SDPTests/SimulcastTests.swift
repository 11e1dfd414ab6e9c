import Testing

@testable import SDP

/// `a=rid` (RFC 8851 §4) and `a=simulcast` (RFC 8853 §5.1) as OBS and browsers write them.
@Suite struct SimulcastTests {
    @Test func ridLinesKeepTheirRestrictions() throws {
        let rid = try RestrictionIdentifier(value: "h send pt=96;max-width=640")
        #expect(rid == RestrictionIdentifier(id: "h", direction: .send, restrictions: "pt=96;max-width=640"))
        #expect(rid.attribute.value == "h send pt=96;max-width=640")
        #expect(try RestrictionIdentifier(value: "0 recv") == RestrictionIdentifier(id: "0", direction: .recv))
    }

    @Test(arguments: ["q", "q sendrecv", "q/x send", "\(String(repeating: "a", count: 256)) send"])
    func malformedRidLinesAreRefused(_ value: String) {
        #expect(throws: InvalidValue.self) { try RestrictionIdentifier(value: value) }
    }

    @Test func simulcastListsStreamsAlternativesAndPausedOnes() throws {
        let chromium = try SimulcastDescription(value: "send q;h;f")
        #expect(chromium.send.map { $0.map(\.rid) } == [["q"], ["h"], ["f"]])
        #expect(chromium.receive.isEmpty)
        let both = try SimulcastDescription(value: "recv 1,~4;2 send ~3")
        #expect(both.receive == [[.init(rid: "1"), .init(rid: "4", paused: true)], [.init(rid: "2")]])
        #expect(both.send == [[.init(rid: "3", paused: true)]])
        #expect(both.attribute.value == "send ~3 recv 1,~4;2")
    }

    @Test(arguments: ["send", "send q;;f", "send q send h", "both q", "send q;h recv f extra", "send ~"])
    func malformedSimulcastLinesAreRefused(_ value: String) {
        #expect(throws: InvalidValue.self) { try SimulcastDescription(value: value) }
    }

    @Test func anOfferWithABadRidDoesNotParse() {
        let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rid:q sideways\r\n"
        #expect(throws: SDPParseError.self) { try SessionDescription(parsing: text) }
    }
}
