// libFuzzer target: HTTP/1.1 requests as a client's TCP stream brings them, in pieces of any size.
import FuzzDriver
import HTTP

func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard let split = bytes.first else { return 0 }
    // The first byte chooses how the rest is cut into reads, so segment boundaries are fuzzed too.
    let step = Int(split % 64) + 1
    var parser = HTTPRequestParser(maximumHeaderBytes: 4_096, maximumBodyBytes: 16_384)
    var offset = 1
    while offset < bytes.count {
        let end = min(bytes.count, offset + step)
        parser.append(bytes[offset..<end])
        offset = end
        _ = parser.takeContinueExpectation()
        do {
            while let request = try parser.nextRequest() { _ = request.bodyText }
        } catch {
            return 0
        }
    }
    return 0
}

runFuzzer { data, size in fuzzHTTP(data, size) }
