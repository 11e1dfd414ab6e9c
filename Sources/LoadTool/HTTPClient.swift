import Glibc
import SkylarkBase
import Sockets
import UDPRuntime

/// Why an HTTP exchange failed.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case connect(String)
    case io(String)
    case malformed(String)

    public var description: String {
        switch self {
        case let .connect(reason): "cannot connect: \(reason)"
        case let .io(reason): "HTTP I/O: \(reason)"
        case let .malformed(reason): "bad HTTP response: \(reason)"
        }
    }
}

/// An HTTP/1.1 response as the load tool needs it.
public struct HTTPClientResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.map { [$0.name, $0.value] } == rhs.headers.map { [$0.name, $0.value] }
    }

    /// The first header with this name (case-insensitive, RFC 9110 §5.1).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Reads one response from bytes received so far (RFC 9112 §4–6): a status line, headers and a body framed by
/// Content-Length or by the end of the connection. Chunked bodies are refused: the server never sends them.
public enum HTTPResponseReader {
    /// Largest header section accepted.
    static let maximumHeaderBytes = 16_384
    /// Largest body accepted (an SDP answer is a few kilobytes).
    static let maximumBodyBytes = 1 << 20

    /// The response when `bytes` holds all of it, nil when more is needed. With `atEnd` (the peer closed), a body
    /// without Content-Length ends here and a short one is an error.
    public static func read(_ bytes: [UInt8], atEnd: Bool) throws(HTTPClientError) -> HTTPClientResponse? {
        guard let headerEnd = findHeaderEnd(bytes) else {
            if bytes.count > maximumHeaderBytes { throw .malformed("header section over \(maximumHeaderBytes) bytes") }
            if atEnd { throw .malformed(bytes.isEmpty ? "the server closed without a response" : "truncated header section") }
            return nil
        }
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { throw .malformed("empty response") }
        let statusLine = lines.removeFirst()
        let statusParts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."),
              statusParts[1].count == 3, let status = Int(statusParts[1]), (100...599).contains(status) else {
            throw .malformed("status line \"\(statusLine.prefix(80))\"")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header line without a colon") }
            let name = String(line[..<colon])
            guard !name.isEmpty, !name.contains(" ") else { throw .malformed("bad header name") }
            let value = line[line.index(after: colon)...].trimmingSpaces()
            headers.append((name, value))
        }
        var response = HTTPClientResponse(status: status, headers: headers, body: [])
        let bodyStart = headerEnd + 4
        if let coding = response.header("Transfer-Encoding"), !coding.isEmpty {
            throw .malformed("Transfer-Encoding \(coding) is not supported")
        }
        let noBody = status == 204 || status == 304 || status < 200
        if noBody { return response }
        if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText), length >= 0, length <= maximumBodyBytes else {
                throw .malformed("Content-Length \(lengthText.prefix(20))")
            }
            guard bytes.count - bodyStart >= length else {
                if atEnd { throw .malformed("body shorter than Content-Length") }
                return nil
            }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            return response
        }
        guard atEnd else {
            if bytes.count - bodyStart > maximumBodyBytes { throw .malformed("body over \(maximumBodyBytes) bytes") }
            return nil
        }
        response.body = Array(bytes[bodyStart...])
        return response
    }

    private static func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}

/// A minimal blocking HTTP/1.1 client: one request per TCP connection (`Connection: close`).
public enum HTTPClient {
    /// Sends one request and waits for the whole response, `timeoutSeconds` per socket operation.
    public static func send(_ method: String, to server: ServerURL, path: String, headers: [(String, String)] = [],
                            body: [UInt8] = [], timeoutSeconds: Int = 10) throws(HTTPClientError) -> HTTPClientResponse {
        let family = server.address.ip.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connect(String(cString: strerror(errno))) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var yes: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        let connected = server.address.withSockaddr { connect(fd, $0, $1) }
        guard connected == 0 else { throw .connect("\(server.hostHeader): \(String(cString: strerror(errno)))") }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(server.hostHeader)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PATCH" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try writeAll(fd, Array(head.utf8) + body)

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(errno == EAGAIN ? "no response within \(timeoutSeconds) s" : String(cString: strerror(errno)))
            }
            received.append(contentsOf: chunk[0..<count])
            if let response = try HTTPResponseReader.read(received, atEnd: count == 0) { return response }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(String(cString: strerror(errno)))
            }
            offset += written
        }
    }
}
