import ICE

/// An SDP fragment for PATCH (RFC 8840 §9): trickled candidates, or new credentials for an ICE restart.
///
/// Parsed in one pass over the bytes, before the request reaches a media queue: a PATCH costs the media path only
/// the candidates it adds.
struct SDPFragment: Sendable {
    /// Fragments above this are refused with 413. A restart or a full trickle of a browser's candidates is ~1–3 KiB;
    /// 16 KiB leaves room for many interfaces and still bounds what one request can make the server parse.
    static let maximumBytes = 16_384

    var ufrag: String?
    var password: String?
    /// Every `a=candidate` line as signalled, with the `a=mid` it followed.
    var candidates: [(mid: String?, value: String)] = []
    /// The candidates that parse (RFC 8839 §5.1); the others are ignored, as the agent could not use them.
    var parsedCandidates: [ICECandidate] = []
    var endOfCandidates = false

    init(parsing text: String) throws(SFUError) {
        try self.init(bytes: Array(text.utf8))
    }

    /// Reads `application/trickle-ice-sdpfrag`. Unknown lines are ignored; lines must be `x=value`, ended by CRLF or LF.
    init(bytes: [UInt8]) throws(SFUError) {
        guard bytes.count <= Self.maximumBytes else { throw .fragmentTooLarge(bytes.count) }
        var mid: String?
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
            let next = end + 1
            defer { start = next }
            guard end > start else { continue }
            lineNumber += 1
            guard end - start >= 2, bytes[start + 1] == UInt8(ascii: "=") else {
                throw .badFragment("line \(lineNumber) is not a <type>=<value> line")
            }
            guard bytes[start] == UInt8(ascii: "a") else { continue }
            let attribute = start + 2
            var colon = attribute
            while colon < end, bytes[colon] != UInt8(ascii: ":") { colon += 1 }
            let name = String(decoding: bytes[attribute..<colon], as: UTF8.self)
            let value = colon < end ? String(decoding: bytes[(colon + 1)..<end], as: UTF8.self) : ""
            switch name {
            case "ice-ufrag": ufrag = value
            case "ice-pwd": password = value
            case "mid": mid = value
            case "candidate":
                candidates.append((mid, value))
                if let candidate = try? ICECandidate(parsing: value) { parsedCandidates.append(candidate) }
            case "end-of-candidates": endOfCandidates = true
            default: break
            }
        }
        if (ufrag == nil) != (password == nil) { throw .badFragment("a=ice-ufrag and a=ice-pwd must come together") }
    }
}
