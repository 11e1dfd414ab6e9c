// libFuzzer target: PATCH bodies (application/trickle-ice-sdpfrag, RFC 8840 §9).
import FuzzDriver
@testable import SFU

func fuzzSDPFragment(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(input(data, size))
    guard let fragment = try? SDPFragment(bytes: bytes) else { return 0 }
    if fragment.parsedCandidates.count > fragment.candidates.count { fatalError("more candidates parsed than signalled") }
    return 0
}

runFuzzer { data, size in fuzzSDPFragment(data, size) }
