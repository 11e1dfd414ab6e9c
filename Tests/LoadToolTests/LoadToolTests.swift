import ICE
import SDP
import SkylarkBase
import Testing

@testable import LoadTool

@Suite struct HistogramTests {
    @Test func bucketsAreContiguousAndContainTheirValues() {
        var previousUpper: UInt64?
        for index in 0..<Histogram.bucketCount {
            let range = Histogram.range(ofBucket: index)
            if let previousUpper { #expect(range.lowerBound == previousUpper &+ 1) }
            #expect(Histogram.bucket(of: range.lowerBound) == index)
            #expect(Histogram.bucket(of: range.upperBound) == index)
            previousUpper = range.upperBound
        }
        #expect(previousUpper == .max)
    }

    @Test func quantilesAreWithinThreePercent() {
        var histogram = Histogram()
        for value in 1...100_000 { histogram.record(UInt64(value) * 1000) }
        #expect(histogram.count == 100_000)
        #expect(histogram.minimum == 1000 && histogram.maximum == 100_000_000)
        for (q, exact) in [(0.5, 50_000_000.0), (0.99, 99_000_000.0), (0.999, 99_900_000.0)] {
            let value = Double(histogram.quantile(q) ?? 0)
            #expect(abs(value - exact) / exact < 0.03, "q\(q) = \(value)")
        }
        #expect(histogram.quantile(1) == 100_000_000)
        #expect(Histogram().quantile(0.5) == nil)
    }

    @Test func mergeAndReset() {
        var a = Histogram(), b = Histogram()
        for value in 0..<10 { a.record(UInt64(value)) }
        for value in 10..<20 { b.record(UInt64(value)) }
        a.merge(b)
        #expect(a.count == 20 && a.sum == 190 && a.maximum == 19 && a.minimum == 0)
        #expect(a.quantile(0.5) == 9)
        a.reset()
        #expect(a == Histogram())
    }
}

@Suite struct ReceiveTrackerTests {
    @Test func countsGapsAcrossWrapAround() {
        var tracker = ReceiveTracker()
        var expected: UInt64 = 0
        var sequence: UInt16 = 65_530
        for step in 0..<20 {
            if step != 7 && step != 8 { expected += tracker.record(sequence: sequence, transitNanoseconds: 1_000_000) }
            sequence &+= 1
        }
        #expect(tracker.received == 18)
        #expect(tracker.expected == 20)
        #expect(tracker.lost == 2)
        #expect(expected == 20)
        #expect(tracker.jitterNanoseconds == 0)
    }

    @Test func latePacketsFillGapsWithoutAdvancing() {
        var tracker = ReceiveTracker()
        #expect(tracker.record(sequence: 10, transitNanoseconds: 0) == 1)
        #expect(tracker.record(sequence: 12, transitNanoseconds: 0) == 2)
        #expect(tracker.record(sequence: 11, transitNanoseconds: 0) == 0)
        #expect(tracker.lost == 0)
    }

    @Test func jitterFollowsTransitVariation() {
        var tracker = ReceiveTracker()
        for index in 0..<1000 {
            tracker.record(sequence: UInt16(index), transitNanoseconds: index % 2 == 0 ? 1_000_000 : 2_000_000)
        }
        // RFC 3550 §6.4.1: J converges on the mean |D| = 1 ms.
        #expect(abs(tracker.jitterNanoseconds - 1_000_000) < 10_000)
    }
}

@Suite struct HTTPResponseReaderTests {
    static let created = Array("HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nLocation: /whep/bench/abc\r\nContent-Length: 5\r\n\r\nv=0\r\n".utf8)

    @Test func readsAResponseOnceComplete() throws {
        for cut in 0..<Self.created.count {
            #expect(try HTTPResponseReader.read(Array(Self.created[0..<cut]), atEnd: false) == nil)
        }
        let response = try #require(try HTTPResponseReader.read(Self.created, atEnd: false))
        #expect(response.status == 201)
        #expect(response.header("location") == "/whep/bench/abc")
        #expect(response.bodyText == "v=0\r\n")
    }

    @Test func bodyWithoutLengthEndsWithTheConnection() throws {
        let bytes = Array("HTTP/1.0 503 Busy\r\n\r\nfull".utf8)
        #expect(try HTTPResponseReader.read(bytes, atEnd: false) == nil)
        let response = try #require(try HTTPResponseReader.read(bytes, atEnd: true))
        #expect(response.status == 503 && response.bodyText == "full")
        let noContent = try #require(try HTTPResponseReader.read(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8), atEnd: false))
        #expect(noContent.body.isEmpty)
    }

    @Test func rejectsMalformedResponses() {
        for text in ["HTTP/1.1 2011 Created\r\n\r\n", "SIP/2.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] {
            #expect(throws: HTTPClientError.self) { try HTTPResponseReader.read(Array(text.utf8), atEnd: false) }
        }
        #expect(throws: HTTPClientError.self) { try HTTPResponseReader.read([], atEnd: true) }
        #expect(throws: HTTPClientError.self) {
            try HTTPResponseReader.read(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab".utf8), atEnd: true)
        }
    }

    @Test func randomAndMutatedBytesNeverTrap() {
        var random = SplitMix64(seed: 0x10AD)
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = Self.created
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let index = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
                if round % 4 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            } else {
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            _ = try? HTTPResponseReader.read(bytes, atEnd: round % 3 == 0)
        }
    }
}

@Suite struct ServerURLTests {
    @Test func parsesAddressesAndPrefixes() throws {
        let plain = try #require(ServerURL("http://127.0.0.1:8080"))
        #expect(plain.address == SocketAddress(ip: .v4(127, 0, 0, 1), port: 8080) && plain.basePath == "")
        let prefixed = try #require(ServerURL("http://localhost/api/"))
        #expect(prefixed.address.port == 80 && prefixed.basePath == "/api")
        let v6 = try #require(ServerURL("http://[::1]:9000"))
        #expect(v6.address.ip == .loopbackV6 && v6.hostHeader == "[::1]:9000")
        for bad in ["https://127.0.0.1", "http://example.com", "http://1.2.3.4:0", "http://1.2.3.4:99999", "http://[::1", "127.0.0.1:80"] {
            #expect(ServerURL(bad) == nil, "\(bad)")
        }
    }

    @Test func locationPaths() {
        #expect(ServerURL.path(ofLocation: "/whep/a/b") == "/whep/a/b")
        #expect(ServerURL.path(ofLocation: "http://h:1/whep/a/b") == "/whep/a/b")
        #expect(ServerURL.path(ofLocation: "whep/a") == nil)
    }
}

@Suite struct SignallingTests {
    static let credentials = ICECredentials(ufrag: "abcd", password: "0123456789abcdefghijkl")
    static let fingerprint = "sha-256 " + (0..<32).map { _ in "AB" }.joined(separator: ":")

    @Test func offersParseAsTheServerReadsThem() throws {
        for sends in [false, true] {
            let candidate = ICECandidate.host(address: SocketAddress(ip: .loopbackV4, port: 40000))
            let text = OfferWriter(credentials: Self.credentials, fingerprint: Self.fingerprint, candidate: candidate,
                                   sends: sends, ssrc: 1234).write()
            let offer = try SessionDescription(parsing: text)
            #expect(offer.media.count == 1)
            #expect(offer.direction(forMedia: 0) == (sends ? .sendonly : .recvonly))
            #expect(offer.iceCredentials(forMedia: 0)?.ufrag == "abcd")
            #expect(offer.setup(forMedia: 0) == .actpass)
            #expect(offer.media[0].isRTCPMux)
            #expect(offer.media[0].rtpMaps.first?.encodingName == "opus")
            #expect(try ICECandidate(parsing: offer.media[0].candidates[0]).address == candidate.address)
            #expect(offer.media[0].ssrcs == (sends ? [1234] : []))
        }
    }

    static func answer(setup: String = "passive") -> String {
        """
        v=0\r
        o=skylark 1 1 IN IP4 0.0.0.0\r
        s=-\r
        t=0 0\r
        a=ice-lite\r
        a=group:BUNDLE 0\r
        m=audio 8189 UDP/TLS/RTP/SAVPF 111\r
        c=IN IP4 127.0.0.1\r
        a=mid:0\r
        a=ice-ufrag:srv1\r
        a=ice-pwd:serverpassword0123456789\r
        a=fingerprint:\(fingerprint)\r
        a=setup:\(setup)\r
        a=sendonly\r
        a=rtcp-mux\r
        a=rtpmap:111 opus/48000/2\r
        a=candidate:1 1 udp 2130706431 127.0.0.1 8189 typ host\r
        a=end-of-candidates\r

        """
    }

    @Test func readsTheServersAnswer() throws {
        let answer = try AnswerSummary(parsing: Self.answer())
        #expect(answer.credentials == ICECredentials(ufrag: "srv1", password: "serverpassword0123456789"))
        #expect(answer.setup == .passive && answer.dtlsRole == .client)
        #expect(answer.isICELite)
        #expect(answer.candidates.map(\.address) == [SocketAddress(ip: .loopbackV4, port: 8189)])
        #expect(answer.fingerprints.first?.bytes.count == 32)
        let active = try AnswerSummary(parsing: Self.answer(setup: "active"))
        #expect(active.dtlsRole == .server)
        #expect(throws: AnswerError.self) { try AnswerSummary(parsing: Self.answer(setup: "actpass")) }
        #expect(throws: AnswerError.self) { try AnswerSummary(parsing: "v=0\r\n") }
    }

    @Test func mutatedAnswersNeverTrap() {
        var random = SplitMix64(seed: 0x5D9)
        let bytes = Array(Self.answer().utf8)
        for _ in 0..<1500 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = try? AnswerSummary(parsing: String(decoding: mutated, as: UTF8.self))
        }
    }
}

@Suite struct ReportTests {
    @Test func formatsNumbersWithoutFoundation() {
        #expect(format(1.2345, 2) == "1.23")
        #expect(format(-0.5, 1) == "-0.5")
        #expect(format(-0.0001, 2) == "0.00")
        #expect(format(42, 0) == "42")
        #expect(format(0.05, 3) == "0.050")
    }

    @Test func jsonEscapesStrings() {
        let text = JSONObject().add("reason", "a \"b\"\n\u{1}").add("n", 3).add("x", nil as Double?).text
        #expect(text == #"{"reason":"a \"b\"\n\u0001","n":3,"x":null}"#)
    }

    @Test func lossIsClampedAndRelative() {
        #expect(LoadRunner.loss(expected: 1000, received: 990) == 1)
        #expect(LoadRunner.loss(expected: 1000, received: 1010) == 0)
        #expect(LoadRunner.loss(expected: 0, received: 0) == 0)
    }
}
