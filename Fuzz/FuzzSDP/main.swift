// libFuzzer target: an offer as WHIP/WHEP POST bodies bring it, parsed and then negotiated as the server would.
import FuzzDriver
@testable import SFU
import SDP

func fuzzSDP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: input(data, size), as: UTF8.self)
    guard let offer = try? SessionDescription(parsing: text) else { return 0 }
    // What parses must serialise and parse again (the server rewrites nothing, but the library round-trips offers).
    guard (try? SessionDescription(parsing: offer.text)) != nil else { fatalError("a parsed offer did not re-parse") }
    _ = try? NegotiatedOffer(offer: offer, publisher: true)
    _ = try? NegotiatedOffer(offer: offer, publisher: false, preferredVideoCodec: "VP8")
    return 0
}

runFuzzer { data, size in fuzzSDP(data, size) }
