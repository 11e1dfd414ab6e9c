import Testing

@testable import SDP

/// A valid description whose line 8 is the given line (lines 1-7 are fixed), to check line numbers.
private func withLine8(_ line: String, after: String = "") -> String {
    """
    v=0
    o=- 1 1 IN IP4 0.0.0.0
    s=-
    t=0 0
    m=audio 9 UDP/TLS/RTP/SAVPF 111
    c=IN IP4 0.0.0.0
    a=mid:0
    \(line)
    a=rtcp-mux
    \(after)
    """
}

@Suite struct MalformedTests {
    @Test func baseIsValid() throws {
        let parsed = try SessionDescription(parsing: withLine8("a=sendonly"))
        #expect(parsed.direction(forMedia: 0) == .sendonly)
    }

    @Test func lineShape() {
        expectParseError(withLine8("a-sendonly"), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8(" a=sendonly"), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8("ab=sendonly"), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8("1=x"), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8("="), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8("a"), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8("é=x"), line: 8, reason: "not a <type>=<value> line")
        expectParseError(withLine8("a=x\u{0}y"), line: 8, reason: "NUL")
        expectParseError(withLine8("a=x\ry"), line: 8, reason: "carriage return")
        expectParseError(withLine8("a=:value"), line: 8, reason: "attribute name")
        expectParseError(withLine8("a="), line: 8, reason: "attribute name")
        expectParseError("v=0\no- 1 1 IN IP4 0.0.0.0\ns=-\n", line: 2, reason: "not a <type>=<value> line")
    }

    @Test func mediaLine() {
        expectParseError(withLine8("m=audio 9 UDP/TLS/RTP/SAVPF"), line: 8, reason: "m= line needs <media> <port> <proto> <fmt>")
        expectParseError(withLine8("m=audio"), line: 8, reason: "m= line needs <media> <port> <proto> <fmt>")
        expectParseError(withLine8("m="), line: 8, reason: "m= line needs <media> <port> <proto> <fmt>")
        expectParseError(withLine8("m=audio 70000 UDP/TLS/RTP/SAVPF 111"), line: 8, reason: "m= port '70000' is not 0-65535")
        expectParseError(withLine8("m=audio -1 UDP/TLS/RTP/SAVPF 111"), line: 8, reason: "is not 0-65535")
        expectParseError(withLine8("m=audio 9x UDP/TLS/RTP/SAVPF 111"), line: 8, reason: "is not 0-65535")
        expectParseError(withLine8("m=audio 99999999999999999999999 RTP/AVP 0"), line: 8, reason: "is not 0-65535")
        expectParseError(withLine8("m=audio 9/0 RTP/AVP 0"), line: 8, reason: "port count")
        expectParseError(withLine8("m=audio 9/2/3 RTP/AVP 0"), line: 8, reason: "is not 0-65535")
        expectParseError(withLine8("m=audio 9 UDP/TLS/RTP/SAVPF 111 128"), line: 8, reason: "payload type '128' is not 0-127")
        expectParseError(withLine8("m=audio 9 RTP/AVP opus"), line: 8, reason: "payload type 'opus'")
        // Port 65535 and non-RTP formats are fine.
        #expect((try? SessionDescription(parsing: withLine8("m=application 65535 UDP/DTLS/SCTP webrtc-datachannel"))) != nil)
    }

    @Test func attributesThatMatter() {
        let goodHex = "5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB:31:FF:2D:E2:8E:51:53:9E:8D:5F:6B:1E:AB:38:13"
        expectParseError(withLine8("a=fingerprint:sha-256 \(goodHex):ZZ"), line: 8, reason: "'ZZ' is not two hex digits")
        expectParseError(withLine8("a=fingerprint:sha-256 \(goodHex):7"), line: 8, reason: "not two hex digits")
        expectParseError(withLine8("a=fingerprint:sha-256 \(goodHex)::7E"), line: 8, reason: "not two hex digits")
        expectParseError(withLine8("a=fingerprint:sha-256 \(goodHex)"), line: 8, reason: "has 31 bytes, expected 32")
        expectParseError(withLine8("a=fingerprint:sha-256"), line: 8, reason: "fingerprint needs <hash function> <hex bytes>")
        expectParseError(withLine8("a=fingerprint"), line: 8, reason: "a=fingerprint needs a value")
        #expect((try? SessionDescription(parsing: withLine8("a=fingerprint:SHA-256 \(goodHex.lowercased()):7e"))) != nil)
        expectParseError(withLine8("a=rtpmap:200 opus/48000/2"), line: 8, reason: "payload type '200' is not 0-127")
        expectParseError(withLine8("a=rtpmap:111 opus"), line: 8, reason: "rtpmap needs")
        expectParseError(withLine8("a=rtpmap:111 opus/fast"), line: 8, reason: "clock rate 'fast'")
        expectParseError(withLine8("a=rtpmap:111 opus/48000/0"), line: 8, reason: "channel count '0'")
        expectParseError(withLine8("a=extmap:0 urn:x"), line: 8, reason: "extmap id '0'")
        expectParseError(withLine8("a=extmap:300 urn:x"), line: 8, reason: "extmap id '300'")
        expectParseError(withLine8("a=extmap:3/sideways urn:x"), line: 8, reason: "extmap direction 'sideways'")
        expectParseError(withLine8("a=extmap:3"), line: 8, reason: "extmap needs")
        expectParseError(withLine8("a=ssrc:4294967296 cname:x"), line: 8, reason: "ssrc '4294967296'")
        expectParseError(withLine8("a=ssrc:1"), line: 8, reason: "ssrc needs")
        expectParseError(withLine8("a=ssrc-group:FID 1 x"), line: 8, reason: "ssrc-group member 'x'")
        expectParseError(withLine8("a=setup:sometimes"), line: 8, reason: "setup role 'sometimes'")
        expectParseError(withLine8("a=mid:"), line: 8, reason: "a=mid needs a value")
        expectParseError(withLine8("m=audio 9 RTP/AVP 0", after: "a=mid:0"), line: 10, reason: "duplicate mid '0'")
        // Unknown attributes are kept, not judged.
        #expect((try? SessionDescription(parsing: withLine8("a=x-whatever:%%%"))) != nil)
    }

    @Test func structure() {
        expectParseError("o=- 1 1 IN IP4 0.0.0.0\nv=0\ns=-\n", line: 1, reason: "first line must be v=0")
        expectParseError("\n\nv=1\no=- 1 1 IN IP4 0.0.0.0\ns=-\n", line: 3, reason: "unsupported SDP version '1'")
        expectParseError(withLine8("v=0"), line: 8, reason: "duplicate v= line")
        expectParseError(withLine8("o=- 1 1 IN IP4 0.0.0.0"), line: 8, reason: "o= line belongs at session level")
        expectParseError(withLine8("t=0 0"), line: 8, reason: "t= line belongs at session level")
        expectParseError(withLine8("c=IN IP4 0.0.0.0"), line: 8, reason: "duplicate c= line in media section")
        expectParseError(withLine8("c=IN"), line: 8, reason: "c= line needs <nettype> <addrtype> <address>")
        expectParseError("v=0\no=- 1 1 IN IP4 0.0.0.0\no=- 1 1 IN IP4 0.0.0.0\n", line: 3, reason: "duplicate o= line")
        expectParseError("v=0\no=- 1 1 IN IP4\ns=-\n", line: 2, reason: "o= line needs <username>")
        expectParseError("v=0\no=- 1 18446744073709551616 IN IP4 0.0.0.0\ns=-\n", line: 2, reason: "session version")
        expectParseError("v=0\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\n", line: 4, reason: "missing o= line")
        expectParseError("v=0\no=- 1 1 IN IP4 0.0.0.0\nt=0 0\n", line: 3, reason: "missing s= line")
    }

    @Test func emptyText() {
        expectParseError("", line: 1, reason: "empty session description")
        expectParseError("\r\n\n\r\n", line: 1, reason: "empty session description")
    }

    @Test func limits() {
        // Too many media sections: the 65th m= line is the offending one (3 session lines before the first).
        var text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"
        for index in 0..<65 { text += "m=audio 9 RTP/AVP 0\r\na=mid:\(index)\r\n" }
        expectParseError(text, line: 4 + 64 * 2, reason: "too many media sections (limit 64)")
        var limits = SDPLimits()
        limits.maximumMediaSections = 65
        #expect((try? SessionDescription(parsing: text, limits: limits))?.media.count == 65)

        // Too long a line; the error text is cut to 200 characters.
        let long = "a=x-long:" + String(repeating: "z", count: 5000)
        expectParseError(withLine8(long), line: 8, reason: "line is 5009 bytes (limit 4096)")
        #expect((try? SessionDescription(parsing: withLine8(String(long.prefix(4096))))) != nil)

        // Too long a text.
        let huge = withLine8("") + String(repeating: "a=x-pad:0123456789012345678901234567890123456789\r\n", count: 1400)
        expectParseError(huge, line: 1, reason: "bytes (limit 65536)")

        // Too many attributes in one section: the media section has a=mid then these.
        limits = SDPLimits()
        limits.maximumAttributesPerSection = 3
        expectParseError(withLine8("a=sendonly", after: "a=x"), line: 10, reason: "too many attributes in one section (limit 3)", limits: limits)
        #expect((try? SessionDescription(parsing: withLine8("a=sendonly"), limits: limits)) != nil)
    }

    @Test func errorDescriptionNamesLineAndReason() {
        let error = SDPParseError(line: 8, text: String(repeating: "q", count: 300), reason: "oops")
        #expect(error.text.count == 200)
        #expect(error.description.hasPrefix("SDP line 8: oops: qqq"))
    }
}
