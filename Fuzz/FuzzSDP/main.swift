// libFuzzer target: an offer as WHIP/WHEP POST bodies bring it, parsed and then negotiated as the server would.
import FuzzDriver
@testable import SFU
import SDP

func fuzzSDP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: input(data, size), as: UTF8.self)
    guard let offer = try? SessionDescription(parsing: text) else { return 0 }
    // The input's length picks the checks, so each costs one negotiation: a WHIP or a WHEP offer, and for a
    // quarter of them the round trip the library relies on (what parses serialises and parses again).
    if size % 4 == 0, (try? SessionDescription(parsing: offer.text)) == nil {
        fatalError("a parsed offer did not parse again once serialised")
    }
    if size % 2 == 0 {
        _ = try? NegotiatedOffer(offer: offer, publisher: true)
    } else {
        // A viewer meets a stream whose publisher sends VP8 or H.264 (constrained baseline, mode 1).
        let video = size % 3 == 0
            ? VideoCodec(name: .vp8)
            : VideoCodec(name: .h264, h264Profile: .constrainedBaseline, packetizationMode: 1)
        _ = try? NegotiatedOffer(offer: offer, publisher: false, publisherVideo: video)
    }
    return 0
}

runFuzzer { data, size in fuzzSDP(data, size) }
