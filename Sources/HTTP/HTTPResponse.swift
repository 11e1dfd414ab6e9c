import SkylarkBase
/// A response the handler returns. The server adds `Content-Length`, `Date` and `Connection` itself.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// The reason phrase; empty means the standard one for `status`.
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int = 200, reason: String = "", headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response from already-encoded bytes.
    public static func json(bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// An `application/json` response from an already-encoded JSON text.
    public static func json(_ text: String, status: Int = 200) -> HTTPResponse {
        json(bytes: Array(text.utf8), status: status)
    }

    /// An `application/problem+json` error response (RFC 9457 §3): `type` defaults to `about:blank`, `title` to the
    /// status's reason phrase.
    public static func problem(status: Int, title: String? = nil, detail: String? = nil,
                               type: String? = nil) -> HTTPResponse {
        var members: [String] = []
        if let type { members.append("\"type\":\(jsonStringLiteral(type))") }
        members.append("\"title\":\(jsonStringLiteral(title ?? HTTPResponse.reasonPhrase(for: status)))")
        members.append("\"status\":\(status)")
        if let detail { members.append("\"detail\":\(jsonStringLiteral(detail))") }
        let text = "{" + members.joined(separator: ",") + "}"
        return HTTPResponse(status: status, headers: ["Content-Type": "application/problem+json"],
                            body: Array(text.utf8))
    }

    /// The standard reason phrase (RFC 9110 §15) or "Unknown".
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 428: return "Precondition Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }

    /// Whether a response with this status to this method carries no content (RFC 9110 §6.4.1).
    static func hasNoContent(status: Int, method: String?) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304 || method == "HEAD"
    }

    /// The bytes on the wire: status line, headers, empty line, body (RFC 9112 §4, §6).
    ///
    /// `Content-Length` is always written except for 1xx and 204 (RFC 9110 §8.6 forbids it there); for HEAD it
    /// is the length the body would have had. Handler-set `Content-Length`, `Transfer-Encoding` and `Connection`
    /// are replaced; CR and LF in header text are turned into spaces so a value cannot split the response.
    func serialize(requestMethod: String?, keepAlive: Bool, closeOption: Bool, date: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        let phrase = reason.isEmpty ? HTTPResponse.reasonPhrase(for: status) : reason
        let statusCode = (100...999).contains(status) ? status : 500
        out.append(contentsOf: "HTTP/1.1 \(statusCode) ".utf8)
        appendSanitized(phrase, to: &out)
        out.append(contentsOf: "\r\n".utf8)
        var sawDate = false
        for field in headers {
            if HTTPHeaders.equalNames(field.name, "Content-Length") || HTTPHeaders.equalNames(field.name, "Connection")
                || HTTPHeaders.equalNames(field.name, "Transfer-Encoding") || field.name.isEmpty { continue }
            if HTTPHeaders.equalNames(field.name, "Date") { sawDate = true }
            appendSanitized(field.name, to: &out, isName: true)
            out.append(contentsOf: ": ".utf8)
            appendSanitized(field.value, to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !sawDate { out.append(contentsOf: "Date: \(date)\r\n".utf8) }
        let interim = (100..<200).contains(statusCode)
        if !interim && statusCode != 204 {
            out.append(contentsOf: "Content-Length: \(statusCode == 304 ? 0 : body.count)\r\n".utf8)
        }
        if !interim {
            if closeOption {
                out.append(contentsOf: "Connection: close\r\n".utf8)
            } else if keepAlive {
                out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
            }
        }
        out.append(contentsOf: "\r\n".utf8)
        if !HTTPResponse.hasNoContent(status: statusCode, method: requestMethod) {
            out.append(contentsOf: body)
        }
        return out
    }
}

private func appendSanitized(_ text: String, to out: inout [UInt8], isName: Bool = false) {
    for byte in text.utf8 {
        if byte == 0x0D || byte == 0x0A || byte == 0 || (isName && (byte == UInt8(ascii: ":") || byte <= 0x20)) {
            out.append(isName ? UInt8(ascii: "-") : UInt8(ascii: " "))
        } else {
            out.append(byte)
        }
    }
}
