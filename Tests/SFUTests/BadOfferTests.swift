import SDP
import SkylarkBase
import Testing

@testable import SFU

/// The error `NegotiatedOffer` throws for an offer that parses, or nil (recorded as an issue) when it accepts it.
func refusal(_ text: String, publisher: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) -> SFUError? {
    let description: SessionDescription
    do { description = try SessionDescription(parsing: text) } catch {
        Issue.record("the test offer does not parse: \(error)", sourceLocation: sourceLocation)
        return nil
    }
    do {
        _ = try NegotiatedOffer(offer: description, publisher: publisher)
        Issue.record("the offer was accepted", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

func isBadOffer(_ error: SFUError?, mentioning words: String...) -> Bool {
    guard case let .badOffer(reason) = error else { return false }
    return words.allSatisfy { reason.lowercased().contains($0.lowercased()) }
}

@Suite struct BadOfferTests {
    @Test func theMinimalOfferIsAccepted() throws {
        let offer = try negotiated(sdp(minimalLines), publisher: true)
        #expect(offer.audio?.payloadType == 111)
        #expect(offer.remoteSetup == .actpass)
    }

    @Test func noMediaSections() async throws {
        let text = sdp(Array(minimalLines.prefix(4)))
        let error = refusal(text)
        #expect(isBadOffer(error, mentioning: "m="), "\(String(describing: error))")
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let viaServer = await expectSFUError { () async throws(SFUError) in _ = try await sfu.publish(stream: "s", offer: text) }
        #expect(viaServer?.status == 400)
        #expect(await sfu.sessionList().isEmpty)
    }

    @Test func missingFingerprint() {
        let error = refusal(sdp(minimalLines.filter { !$0.hasPrefix("a=fingerprint") }))
        #expect(isBadOffer(error, mentioning: "fingerprint"), "\(String(describing: error))")
    }

    /// md5 is a well-formed RFC 8122 fingerprint that the SDP layer reads; the server takes only SHA-1 and SHA-2 ones.
    @Test func fingerprintWithAnUnsupportedHash() throws {
        let lines = minimalLines.map {
            $0.hasPrefix("a=fingerprint") ? "a=fingerprint:md5 5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB" : $0
        }
        #expect(try SessionDescription(parsing: sdp(lines)).fingerprints(forMedia: 0).map(\.algorithm) == ["md5"])
        #expect(isBadOffer(refusal(sdp(lines)), mentioning: "fingerprint"))
    }

    @Test(arguments: [["a=ice-ufrag"], ["a=ice-pwd"], ["a=ice-ufrag", "a=ice-pwd"]])
    func missingICECredentials(_ removed: [String]) {
        let lines = minimalLines.filter { line in !removed.contains { line.hasPrefix($0) } }
        let error = refusal(sdp(lines))
        #expect(isBadOffer(error, mentioning: "ICE"), "\(String(describing: error))")
    }

    @Test func onlyPCMU() {
        let lines = minimalLines.map {
            switch $0 {
            case "m=audio 9 UDP/TLS/RTP/SAVPF 111": "m=audio 9 UDP/TLS/RTP/SAVPF 0"
            case "a=rtpmap:111 opus/48000/2": "a=rtpmap:0 PCMU/8000"
            default: $0
            }
        }
        let error = refusal(sdp(lines))
        guard case .unsupportedMedia = error else {
            Issue.record("expected unsupportedMedia, got \(String(describing: error))")
            return
        }
        #expect(error?.status == 406)
    }

    /// Opus listed in an rtpmap but not in the m= line's formats is not offered.
    @Test func opusRTPMapWithoutTheFormat() {
        let lines = minimalLines.map { $0 == "m=audio 9 UDP/TLS/RTP/SAVPF 111" ? "m=audio 9 UDP/TLS/RTP/SAVPF 0" : $0 }
        guard case .unsupportedMedia = refusal(sdp(lines)) else {
            Issue.record("expected unsupportedMedia")
            return
        }
    }

    /// Opus at another clock rate is not RFC 7587 Opus.
    @Test func opusAtAnotherClockRate() {
        let lines = minimalLines.map { $0 == "a=rtpmap:111 opus/48000/2" ? "a=rtpmap:111 opus/16000/1" : $0 }
        guard case .unsupportedMedia = refusal(sdp(lines)) else {
            Issue.record("expected unsupportedMedia")
            return
        }
    }

    @Test(arguments: ["recvonly", "inactive"]) func whipOfferThatDoesNotSend(_ direction: String) {
        let lines = minimalLines.map { $0 == "a=sendonly" ? "a=\(direction)" : $0 }
        let error = refusal(sdp(lines), publisher: true)
        #expect(isBadOffer(error, mentioning: "WHIP", direction), "\(String(describing: error))")
    }

    @Test(arguments: ["sendonly", "inactive"]) func whepOfferThatDoesNotReceive(_ direction: String) {
        let lines = minimalLines.map { $0 == "a=sendonly" ? "a=\(direction)" : $0 }
        let error = refusal(sdp(lines), publisher: false)
        #expect(isBadOffer(error, mentioning: "WHEP", direction), "\(String(describing: error))")
    }

    /// A sendrecv offer is fine for either role.
    @Test func sendrecvIsAcceptedBothWays() throws {
        let lines = minimalLines.map { $0 == "a=sendonly" ? "a=sendrecv" : $0 }
        #expect(try negotiated(sdp(lines), publisher: true).audio != nil)
        #expect(try negotiated(sdp(lines), publisher: false).audio != nil)
    }

    @Test func setupHoldconn() {
        let lines = minimalLines.map { $0 == "a=setup:actpass" ? "a=setup:holdconn" : $0 }
        #expect(isBadOffer(refusal(sdp(lines)), mentioning: "holdconn"))
    }

    /// A port-0 (rejected by the client) section is not taken.
    @Test func portZeroSectionIsNotTaken() {
        let lines = minimalLines.map { $0 == "m=audio 9 UDP/TLS/RTP/SAVPF 111" ? "m=audio 0 UDP/TLS/RTP/SAVPF 111" : $0 }
        #expect(refusal(sdp(lines)) != nil)
    }

    @Test func unreadableSDPIsABadOfferWithTheLine() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let error = await expectSFUError { () async throws(SFUError) in _ = try await sfu.play(stream: "s", offer: "v=0\r\nthis is not sdp\r\n") }
        #expect(isBadOffer(error, mentioning: "line"), "\(String(describing: error))")
    }

    @Test func statusCodes() {
        #expect(SFUError.badOffer("x").status == 400)
        #expect(SFUError.badFragment("x").status == 400)
        #expect(SFUError.unsupportedMedia("x").status == 406)
        #expect(SFUError.unknownSession.status == 404)
        #expect(SFUError.streamBusy("x").status == 409)
        #expect(SFUError.preconditionFailed.status == 412)
        #expect(SFUError.preconditionRequired.status == 428)
        #expect(SFUError.full.status == 503)
    }
}
