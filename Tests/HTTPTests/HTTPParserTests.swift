import SkylarkBase
import XCTest
@testable import HTTP

final class HTTPParserTests: XCTestCase {
    private func parseAll(_ text: String, maximumBodyBytes: Int = 1 << 20) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser(maximumBodyBytes: maximumBodyBytes)
        parser.append(Array(text.utf8))
        var out: [HTTPRequest] = []
        while let request = try parser.nextRequest() { out.append(request) }
        return out
    }

    private func parseError(_ text: String, maximumHeaderBytes: Int = 16_384,
                            maximumBodyBytes: Int = 1 << 20) -> HTTPParseError? {
        var parser = HTTPRequestParser(maximumHeaderBytes: maximumHeaderBytes, maximumBodyBytes: maximumBodyBytes)
        parser.append(Array(text.utf8))
        do {
            while try parser.nextRequest() != nil {}
            return nil
        } catch {
            return error
        }
    }

    func testRequestLineHeadersAndQuery() throws {
        let requests = try parseAll(
            "GET /whip/a%20b?x=1&name=J%C3%BCrg+en&flag HTTP/1.1\r\nHost: example\r\nX-A: 1\r\nx-a:  2 \r\n\r\n")
        XCTAssertEqual(requests.count, 1)
        let request = try XCTUnwrap(requests.first)
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.target, "/whip/a%20b?x=1&name=J%C3%BCrg+en&flag")
        XCTAssertEqual(request.path, "/whip/a b")
        XCTAssertEqual(request.query, ["x": "1", "name": "Jürg en", "flag": ""])
        XCTAssertEqual(request.version, .http1_1)
        XCTAssertEqual(request.headers["HOST"], "example")
        XCTAssertEqual(request.headers.values(for: "X-a"), ["1", "2"])
        XCTAssertTrue(request.keepAlive)
        XCTAssertTrue(request.body.isEmpty)
    }

    func testAbsoluteFormAndHTTP10() throws {
        let request = try XCTUnwrap(try parseAll("GET http://h:1/p/q?z=2 HTTP/1.0\r\n\r\n").first)
        XCTAssertEqual(request.path, "/p/q")
        XCTAssertEqual(request.query["z"], "2")
        XCTAssertFalse(request.keepAlive)
        let kept = try XCTUnwrap(try parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").first)
        XCTAssertTrue(kept.keepAlive)
        let closing = try XCTUnwrap(try parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n").first)
        XCTAssertFalse(closing.keepAlive)
    }

    func testPipelinedRequestsComeOutInOrder() throws {
        let text = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
            + "\r\nPUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        let requests = try parseAll(text)
        XCTAssertEqual(requests.map(\.path), ["/a", "/b", "/c"])
        XCTAssertEqual(requests.map(\.bodyText), ["hello", "", "abc"])
    }

    func testByteAtATime() throws {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nxyz"
            + "POST /y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nab\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        var sawContinue = false
        for byte in Array(text.utf8) {
            parser.append([byte])
            while let request = try parser.nextRequest() { requests.append(request) }
            if parser.takeContinueExpectation() { sawContinue = true }
        }
        XCTAssertTrue(sawContinue)
        XCTAssertEqual(requests.map(\.bodyText), ["xyz", "ab0123456789abcdef"])
        XCTAssertFalse(parser.hasPartialRequest)
    }

    func testBareLFIsAccepted() throws {
        let request = try XCTUnwrap(try parseAll("GET / HTTP/1.1\nHost: h\n\n").first)
        XCTAssertEqual(request.headers["host"], "h")
    }

    func testErrors() {
        XCTAssertEqual(parseError("GET / HTTP/1.1\r\n\r\n"), .malformed("HTTP/1.1 request needs exactly one Host header"))
        XCTAssertEqual(parseError("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), .unsupportedVersion)
        XCTAssertEqual(parseError("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), .unsupportedVersion)
        XCTAssertEqual(parseError("GET /\r\n\r\n"), .unsupportedVersion)
        XCTAssertEqual(parseError("GET / HTTQ/1.1\r\nHost: h\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("GET / HTTP/1.1\r\nHost : h\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nab")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status, 501)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n")?.status, 400)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", maximumBodyBytes: 10), .bodyTooLarge)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n",
                                  maximumBodyBytes: 10), .bodyTooLarge)
        XCTAssertEqual(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n"),
                       .bodyTooLarge)
        let big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        XCTAssertEqual(parseError(big, maximumHeaderBytes: 256), .headerTooLarge)
        // Without the end of the header section, the limit still applies.
        XCTAssertEqual(parseError(String(repeating: "a", count: 300), maximumHeaderBytes: 256), .headerTooLarge)
        XCTAssertNil(parseError("Content-Length: 5\r\n"))  // incomplete, not yet an error
        // Same content length repeated is fine (RFC 9110 §8.6).
        XCTAssertNil(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nab"))
    }

    func testErrorIsSticky() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        XCTAssertThrowsError(try parser.nextRequest())
        XCTAssertThrowsError(try parser.nextRequest())
    }

    func testHeadersMultimap() {
        var headers: HTTPHeaders = ["A": "1", "b": "2", "a": "3"]
        XCTAssertEqual(headers["a"], "1")
        XCTAssertEqual(headers.values(for: "A"), ["1", "3"])
        headers["A"] = "9"
        XCTAssertEqual(headers.values(for: "a"), ["9"])
        XCTAssertEqual(headers.fields.map(\.name), ["A", "b"])
        headers.add(name: "Connection", value: "Keep-Alive, Upgrade")
        XCTAssertTrue(headers.containsToken("upgrade", for: "connection"))
        headers["b"] = nil
        XCTAssertFalse(headers.contains("B"))
    }

    func testResponseSerialization() {
        var response = HTTPResponse.text("hi", status: 201)
        response.headers.add(name: "X-Evil", value: "a\r\nSet-Cookie: x")
        response.headers.add(name: "Content-Length", value: "99")
        let text = String(decoding: response.serialize(requestMethod: "GET", keepAlive: false, closeOption: true,
                                                       date: "D"), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 201 Created\r\n"))
        XCTAssertTrue(text.contains("X-Evil: a  Set-Cookie: x\r\n"))
        XCTAssertTrue(text.contains("Content-Length: 2\r\n"))
        XCTAssertFalse(text.contains("99"))
        XCTAssertTrue(text.contains("Connection: close\r\n"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\nhi"))
        let head = String(decoding: response.serialize(requestMethod: "HEAD", keepAlive: false, closeOption: false,
                                                       date: "D"), as: UTF8.self)
        XCTAssertTrue(head.hasSuffix("Content-Length: 2\r\n\r\n"))
        let noContent = String(decoding: HTTPResponse(status: 204).serialize(
            requestMethod: "GET", keepAlive: false, closeOption: false, date: "D"), as: UTF8.self)
        XCTAssertFalse(noContent.contains("Content-Length"))
        let problem = HTTPResponse.problem(status: 404, detail: "no \"x\"\n")
        XCTAssertEqual(problem.headers["content-type"], "application/problem+json")
        XCTAssertEqual(String(decoding: problem.body, as: UTF8.self),
                       #"{"title":"Not Found","status":404,"detail":"no \"x\"\n"}"#)
        XCTAssertEqual(httpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    /// Random bytes and mutated valid requests, split at random points, must never trap and must respect limits.
    func testFuzzNeverTraps() {
        var random = SplitMix64(seed: 0x5EED_4242)
        let seeds = [
            "GET /a?b=c HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n",
            "POST /w HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nabcd",
            "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
            "HEAD http://x/y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ].map { Array($0.utf8) }
        let alphabet = Array("\r\n :;,0123456789abcdefABCDEF/?%+-HTTP/1.1chunkedContent-LengthTransfer-Encoding".utf8)
        var requests = 0
        var errors = 0
        for iteration in 0..<4000 {
            var input: [UInt8]
            if iteration % 4 == 0 {
                input = (0..<Int.random(in: 0..<300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                input = seeds[Int.random(in: 0..<seeds.count, using: &random)]
                    + seeds[Int.random(in: 0..<seeds.count, using: &random)]
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    guard !input.isEmpty else { break }
                    let index = Int.random(in: 0..<input.count, using: &random)
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: input[index] = UInt8.random(in: 0...255, using: &random)
                    case 1: input.remove(at: index)
                    case 2: input.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &random)], at: index)
                    default: input.insert(contentsOf: input[index..<min(input.count, index + 8)], at: index)
                    }
                }
            }
            var parser = HTTPRequestParser(maximumHeaderBytes: 128, maximumBodyBytes: 64)
            var offset = 0
            loop: while offset < input.count {
                let take = Int.random(in: 1...max(1, input.count - offset), using: &random)
                parser.append(input[offset..<offset + take])
                offset += take
                do {
                    while let request = try parser.nextRequest() {
                        requests += 1
                        XCTAssertLessThanOrEqual(request.body.count, 64)
                        _ = (request.path, request.query, request.keepAlive)
                    }
                    _ = parser.takeContinueExpectation()
                } catch {
                    errors += 1
                    XCTAssertTrue([400, 413, 431, 501, 505].contains(error.status))
                    break loop
                }
            }
        }
        XCTAssertGreaterThan(requests, 100)
        XCTAssertGreaterThan(errors, 100)
    }
}
