/// Why a request could not be parsed; each case maps to the status the server answers with before closing.
public enum HTTPParseError: Error, Sendable, Equatable {
    /// Request line plus header section (or a chunked trailer section) over the limit: 431.
    case headerTooLarge
    /// Body over the limit: 413.
    case bodyTooLarge
    /// Syntax or framing error: 400.
    case malformed(String)
    /// A well-formed HTTP version other than 1.0 or 1.1: 505.
    case unsupportedVersion
    /// A transfer coding other than `chunked`: 501 (RFC 9112 §6.1).
    case unsupportedTransferCoding

    /// The response status for this error.
    public var status: Int {
        switch self {
        case .headerTooLarge: return 431
        case .bodyTooLarge: return 413
        case .malformed: return 400
        case .unsupportedVersion: return 505
        case .unsupportedTransferCoding: return 501
        }
    }
}

/// An incremental HTTP/1.1 request parser (RFC 9112): feed it bytes as they arrive with `append`, take complete
/// requests with `nextRequest` until it returns nil. Several pipelined requests in one buffer come out in order.
///
/// It never traps on input; after an error every further `nextRequest` throws the same error, since framing is lost
/// and the connection must close.
public struct HTTPRequestParser: Sendable {
    public let maximumHeaderBytes: Int
    public let maximumBodyBytes: Int

    private enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int)
        case failed(HTTPParseError)
    }

    private var state: State = .head
    private var buffer: [UInt8] = []
    /// Start of unconsumed bytes in `buffer`.
    private var position = 0
    /// Where the search for the end of the header section resumes.
    private var scanPosition = 0
    /// The parsed head of the request whose body is being read.
    private var head: HTTPRequest?
    private var body: [UInt8] = []
    private var continuePending = false

    /// Longest chunk-size line (with extensions) accepted.
    private static let maximumChunkLineBytes = 1024

    public init(maximumHeaderBytes: Int = 16_384, maximumBodyBytes: Int = 1 << 20) {
        self.maximumHeaderBytes = max(64, maximumHeaderBytes)
        self.maximumBodyBytes = max(0, maximumBodyBytes)
    }

    /// Adds received bytes.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet consumed by a returned request.
    public var bufferedByteCount: Int { buffer.count - position }

    /// True once any byte of a request that is not complete yet has arrived (the header timeout then applies
    /// rather than the idle timeout).
    public var hasPartialRequest: Bool {
        if case .head = state { return position < buffer.count }
        return true
    }

    /// True while a request's header section is parsed and its body is still arriving.
    public var isReadingBody: Bool {
        switch state {
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: return true
        case .head, .failed: return false
        }
    }

    /// True, once per request, when a request's head carried `Expect: 100-continue` (RFC 9110 §10.1.1) and its body
    /// has not fully arrived: the server should then send `100 Continue`. Reading clears it.
    public mutating func takeContinueExpectation() -> Bool {
        defer { continuePending = false }
        return continuePending
    }

    /// The next complete request, nil when more bytes are needed.
    public mutating func nextRequest() throws(HTTPParseError) -> HTTPRequest? {
        do {
            let request = try step()
            compact()
            return request
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch state {
            case let .failed(error):
                throw error
            case .head:
                // RFC 9112 §2.2: ignore empty lines before the request line.
                while position < buffer.count, buffer[position] == 0x0D || buffer[position] == 0x0A {
                    position += 1
                }
                if position >= buffer.count { return nil }
                guard let end = findHeadEnd() else {
                    if buffer.count - position > maximumHeaderBytes { throw .headerTooLarge }
                    return nil
                }
                if end - position > maximumHeaderBytes { throw .headerTooLarge }
                let (request, framing) = try parseHead(buffer[position..<end])
                position = end
                scanPosition = end
                head = request
                body = []
                switch framing {
                case .none:
                    return finish()
                case let .length(length):
                    if length == 0 { return finish() }
                    state = .fixedBody(remaining: length)
                case .chunked:
                    state = .chunkSize
                }
                continuePending = request.version == .http1_1
                    && request.headers.containsToken("100-continue", for: "Expect")
            case let .fixedBody(remaining):
                let take = min(remaining, buffer.count - position)
                if take > 0 {
                    body.append(contentsOf: buffer[position..<(position + take)])
                    position += take
                }
                if take == remaining { return finish() }
                state = .fixedBody(remaining: remaining - take)
                return nil
            case .chunkSize:
                // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF
                guard let lf = findLF(from: position, limit: Self.maximumChunkLineBytes) else {
                    if buffer.count - position > Self.maximumChunkLineBytes { throw .malformed("chunk line too long") }
                    return nil
                }
                let size = try parseChunkSize(buffer[position..<lineEnd(lf)])
                position = lf + 1
                if size == 0 {
                    state = .trailers(bytes: 0)
                } else {
                    if size > maximumBodyBytes - body.count { throw .bodyTooLarge }
                    state = .chunkData(remaining: size)
                }
            case let .chunkData(remaining):
                let take = min(remaining, buffer.count - position)
                if take > 0 {
                    body.append(contentsOf: buffer[position..<(position + take)])
                    position += take
                }
                if take < remaining {
                    state = .chunkData(remaining: remaining - take)
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard position < buffer.count else { return nil }
                if buffer[position] == 0x0A {
                    position += 1
                } else if buffer[position] == 0x0D {
                    guard position + 1 < buffer.count else { return nil }
                    guard buffer[position + 1] == 0x0A else { throw .malformed("chunk data not followed by CRLF") }
                    position += 2
                } else {
                    throw .malformed("chunk data longer than its size")
                }
                state = .chunkSize
            case let .trailers(bytes):
                // RFC 9112 §7.1.2: trailer fields are read and discarded; they count against the header limit.
                let room = maximumHeaderBytes - bytes
                guard let lf = findLF(from: position, limit: room) else {
                    if buffer.count - position > room { throw .headerTooLarge }
                    return nil
                }
                let line = buffer[position..<lineEnd(lf)]
                let used = bytes + (lf + 1 - position)
                position = lf + 1
                if line.isEmpty { return finish() }
                guard line.contains(UInt8(ascii: ":")), let first = line.first, first != 0x20, first != 0x09 else {
                    throw .malformed("bad trailer field")
                }
                state = .trailers(bytes: used)
            }
        }
    }

    private mutating func finish() -> HTTPRequest? {
        state = .head
        continuePending = false
        guard var request = head else { return nil }
        head = nil
        request.body = body
        body = []
        return request
    }

    private mutating func compact() {
        if position >= buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65_536)
            position = 0
            scanPosition = 0
        } else if position > 4096 && position * 2 > buffer.count {
            buffer.removeFirst(position)
            scanPosition = max(0, scanPosition - position)
            position = 0
        }
    }

    /// Index after the blank line that ends the header section (CRLFCRLF, or bare LFs per RFC 9112 §2.2).
    private mutating func findHeadEnd() -> Int? {
        var i = max(scanPosition, position)
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i - 1 >= position && buffer[i - 1] == 0x0A { return i + 1 }
                if i - 2 >= position && buffer[i - 1] == 0x0D && buffer[i - 2] == 0x0A { return i + 1 }
            }
            i += 1
        }
        scanPosition = buffer.count
        return nil
    }

    private func findLF(from start: Int, limit: Int) -> Int? {
        let end = min(buffer.count, start + max(0, limit))
        var i = start
        while i < end {
            if buffer[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    /// The end of a line whose LF is at `lf`, without a preceding CR.
    private func lineEnd(_ lf: Int) -> Int {
        (lf > position && buffer[lf - 1] == 0x0D) ? lf - 1 : lf
    }

    private func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let value = hexValue(line[index]) {
            digits += 1
            // 15 hex digits cannot overflow Int; anything longer is over every body limit anyway.
            if digits > 15 { throw .bodyTooLarge }
            size = size << 4 | Int(value)
            index += 1
        }
        guard digits > 0 else { throw .malformed("bad chunk size") }
        // Optional BWS then chunk extensions, which are ignored (RFC 9112 §7.1.1).
        while index < line.endIndex, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        if index < line.endIndex {
            guard line[index] == UInt8(ascii: ";") else { throw .malformed("bad chunk size") }
            for byte in line[index...] where byte == 0x0D || byte == 0 || byte == 0x7F {
                throw .malformed("bad chunk extension")
            }
        }
        return size
    }

    private enum Framing { case none, length(Int), chunked }

    private func parseHead(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> (HTTPRequest, Framing) {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = bytes.startIndex
        for index in bytes.indices where bytes[index] == 0x0A {
            var end = index
            if end > lineStart && bytes[end - 1] == 0x0D { end -= 1 }
            let line = bytes[lineStart..<end]
            // RFC 9112 §2.2: a bare CR is an error.
            if line.contains(0x0D) { throw .malformed("bare CR") }
            lines.append(line)
            lineStart = index + 1
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { throw .malformed("empty request") }
        let (method, target, version) = try parseRequestLine(requestLine)

        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let first = line.first else { throw .malformed("empty header line") }
            // RFC 9112 §5.2: obsolete line folding is rejected.
            if first == 0x20 || first == 0x09 { throw .malformed("obsolete line folding") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("header without colon") }
            let name = line[line.startIndex..<colon]
            // RFC 9112 §5.1: no whitespace between the field name and the colon.
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .malformed("bad header name") }
            var valueStart = colon + 1
            var valueEnd = line.endIndex
            while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let value = line[valueStart..<valueEnd]
            // RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB.
            for byte in value where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw .malformed("bad header value")
            }
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }

        // RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host field.
        if version == .http1_1 && headers.values(for: "Host").count != 1 {
            throw .malformed("HTTP/1.1 request needs exactly one Host header")
        }

        let framing: Framing
        if headers.contains("Transfer-Encoding") {
            // RFC 9112 §6.1 / §6.3: reject the ambiguous combinations that enable request smuggling.
            if version == .http1_0 { throw .malformed("Transfer-Encoding in HTTP/1.0") }
            if headers.contains("Content-Length") { throw .malformed("both Transfer-Encoding and Content-Length") }
            let codings = headers.tokens(for: "Transfer-Encoding")
            guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1 else {
                throw .malformed("chunked is not the final transfer coding")
            }
            if codings.count > 1 { throw .unsupportedTransferCoding }
            framing = .chunked
        } else if headers.contains("Content-Length") {
            // RFC 9110 §8.6: a list of identical values is treated as one; anything else is an error.
            var length: Int?
            for value in headers.values(for: "Content-Length") {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let digits = trimmingOWS(part).utf8
                    guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                        throw .malformed("bad Content-Length")
                    }
                    var parsed = 0
                    for digit in digits { parsed = parsed * 10 + Int(digit - 0x30) }
                    if let length, length != parsed { throw .malformed("conflicting Content-Length") }
                    length = parsed
                }
            }
            guard let length else { throw .malformed("bad Content-Length") }
            if length > maximumBodyBytes { throw .bodyTooLarge }
            framing = .length(length)
        } else {
            framing = .none
        }
        return (HTTPRequest(method: method, target: target, version: version, headers: headers), framing)
    }

    /// RFC 9112 §3: method SP request-target SP HTTP-version.
    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError)
        -> (String, String, HTTPVersion) {
        let parts = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            // "GET /" alone is HTTP/0.9, which is not supported.
            if parts.count == 2, let method = parts.first, !method.isEmpty, method.allSatisfy(isTokenByte) {
                throw .unsupportedVersion
            }
            throw .malformed("bad request line")
        }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .malformed("bad method") }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .malformed("bad request target")
        }
        let v = Array(version)
        guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == 0x2F, v[6] == 0x2E,
              (0x30...0x39).contains(v[5]), (0x30...0x39).contains(v[7]) else {
            // Something like HTTP/2 or HTTP/10.0 is a version, just not ours.
            if v.starts(with: Array("HTTP/".utf8)), v.count > 5, v.dropFirst(5).allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E
            }) {
                throw .unsupportedVersion
            }
            throw .malformed("bad HTTP version")
        }
        let parsed = HTTPVersion(major: Int(v[5] - 0x30), minor: Int(v[7] - 0x30))
        guard parsed == .http1_0 || parsed == .http1_1 else { throw .unsupportedVersion }
        // The request-target must be origin-form, absolute-form, authority-form or asterisk-form (§3.2).
        let first = target[target.startIndex]
        if first != UInt8(ascii: "/") && !(target.count == 1 && first == UInt8(ascii: "*"))
            && !target.contains(UInt8(ascii: ":")) {
            throw .malformed("bad request target")
        }
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), parsed)
    }
}

/// tchar (RFC 9110 §5.6.2).
@inline(__always) func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
         UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
         UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default: return false
    }
}
