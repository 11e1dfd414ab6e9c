import Testing

@testable import SDP

@Suite struct RoundTripTests {
    @Test(arguments: capturedOffers.map(\.file)) func offerRoundTrips(_ file: String) throws {
        let offer = try Offers.parsed(file)
        let text = offer.text
        #expect(text.utf8.split(separator: 0x0A).allSatisfy { $0.last == 0x0D })
        let again = try SessionDescription(parsing: text)
        #expect(again == offer)
        #expect(again.text == text)
        // The captured files use CRLF; the same text with bare LF parses to the same thing.
        let original = Offers.text(file)
        #expect(original.utf8.split(separator: 0x0A).count == text.utf8.split(separator: 0x0A).count)
        let bareLF = String(decoding: original.utf8.filter { $0 != 0x0D }, as: UTF8.self)
        #expect(bareLF.utf8.count < original.utf8.count)
        #expect(try SessionDescription(parsing: bareLF) == offer)
    }

    @Test func obsRoundTrips() throws {
        let offer = try SessionDescription(parsing: obsOffer)
        #expect(try SessionDescription(parsing: offer.text) == offer)
    }

    @Test func keepsOtherLinesAndSortsThemIntoPlace() throws {
        // k= before i= and an unknown y= line: kept, and written back in RFC 8866 §5 order.
        let text = """
            v=0\r
            o=alice 2890844526 2890842807 IN IP4 198.51.100.1\r
            s=Session\r
            k=prompt\r
            i=A Seminar\r
            u=http://www.example.com/seminars/sdp.pdf\r
            e=alice@example.com\r
            c=IN IP4 233.252.0.1/127\r
            b=AS:128\r
            t=2873397496 2873404696\r
            r=7d 1h 0 25h\r
            y=unknown\r
            a=recvonly\r
            m=audio 49170/2 RTP/AVP 0\r
            i=audio\r
            b=TIAS:64000\r
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r
            a=sctp-port:5000\r
            """
        let parsed = try SessionDescription(parsing: text)
        #expect(parsed.otherLines.map(\.type) == ["i", "u", "e", "t", "r", "k", "y"])
        #expect(parsed.connection == "IN IP4 233.252.0.1/127")
        #expect(parsed.bandwidths == ["AS:128"])
        #expect(parsed.media[0].portCount == 2)
        #expect(parsed.media[0].otherLines == [SDPLine(type: "i", value: "audio")])
        #expect(parsed.media[0].bandwidths == ["TIAS:64000"])
        #expect(parsed.media[1].formats == ["webrtc-datachannel"])
        #expect(parsed.media[1].attributes == [Attribute(name: "sctp-port", value: "5000")])
        #expect(parsed.direction(forMedia: 0) == .recvonly)
        let written = parsed.text
        #expect(written.contains("s=Session\r\ni=A Seminar\r\nu=http://www.example.com/seminars/sdp.pdf\r\ne=alice@example.com\r\nc=IN IP4 233.252.0.1/127\r\nb=AS:128\r\nt=2873397496 2873404696\r\nr=7d 1h 0 25h\r\nk=prompt\r\ny=unknown\r\na=recvonly\r\n"))
        #expect(written.contains("m=audio 49170/2 RTP/AVP 0\r\ni=audio\r\nb=TIAS:64000\r\nm=application"))
        #expect(try SessionDescription(parsing: written) == parsed)
    }

    @Test func toleratesLooseWhitespaceAndBlankLines() throws {
        let text = "v=0\n\no=-  1 2 IN IP4 0.0.0.0\r\ns=-\n\r\nm=audio  9 RTP/AVP 0 8\na=foo:bar baz \n"
        let parsed = try SessionDescription(parsing: text)
        #expect(parsed.origin.sessionVersion == 2)
        #expect(parsed.media[0].formats == ["0", "8"])
        #expect(parsed.media[0].attributes == [Attribute(name: "foo", value: "bar baz ")])
        #expect(try SessionDescription(parsing: parsed.text) == parsed)
    }
}
