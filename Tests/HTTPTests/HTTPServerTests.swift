import Foundation
import XCTest
import HTTP
import SkylarkBase

struct HandlerFailure: Error {}

/// Echoes method, path and body; `/fail` throws; `/slow` sleeps 200 ms.
let echoHandler: HTTPHandler = { request in
    switch request.path {
    case "/fail":
        throw HandlerFailure()
    case "/slow":
        try await Task.sleep(for: .milliseconds(200))
        return .text("slow")
    default:
        var response = HTTPResponse.text("\(request.method) \(request.path) \(request.bodyText)")
        response.headers.add(name: "X-Query", value: request.query.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: "&"))
        response.headers.add(name: "X-Remote", value: request.remoteAddress.map { "\($0.ip)" } ?? "none")
        return response
    }
}

final class HTTPServerTests: XCTestCase {
    private func startServer(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(port: 0),
                             handler: @escaping HTTPHandler = echoHandler) throws -> (HTTPServer, SocketAddress) {
        let server = HTTPServer(configuration: configuration)
        let address = try server.start(handler: handler)
        return (server, address)
    }

    func testGetAndPostWithKeepAlive() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        XCTAssertNotEqual(address.port, 0)
        XCTAssertEqual(server.boundAddress, address)
        let client = try RawClient(address)
        client.send("GET /hello?a=1&b=x%20y HTTP/1.1\r\nHost: t\r\n\r\n")
        let first = try client.readResponse()
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.text, "GET /hello ")
        XCTAssertEqual(first.headers["X-Query"], "a=1&b=x y")
        XCTAssertEqual(first.headers["X-Remote"], "127.0.0.1")
        XCTAssertEqual(first.headers["content-length"], "11")
        XCTAssertNotNil(first.headers["Date"])
        XCTAssertTrue(first.headers["Date"]?.hasSuffix(" GMT") ?? false)
        XCTAssertNil(first.headers["Connection"])
        // Same connection again.
        client.send("POST /items HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world")
        let second = try client.readResponse()
        XCTAssertEqual(second.text, "POST /items hello world")
        XCTAssertEqual(server.counters.connectionsAccepted, 1)
        XCTAssertEqual(server.counters.requests, 2)
        XCTAssertEqual(server.counters.responses(class: 2), 2)
        // Connection: close is honoured.
        client.send("GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let third = try client.readResponse()
        XCTAssertEqual(third.headers["Connection"], "close")
        XCTAssertTrue(client.readsEOF())
    }

    func testHTTP10ClosesAndIPv6() throws {
        let (server, address) = try startServer(HTTPServerConfiguration(host: "::1", port: 0))
        defer { server.stop() }
        XCTAssertEqual(address.ip, .loopbackV6)
        let client = try RawClient(address)
        client.send("GET /old HTTP/1.0\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Connection"], "close")
        XCTAssertTrue(client.readsEOF())
        let kept = try RawClient(address)
        kept.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try kept.readResponse().headers["Connection"], "keep-alive")
        kept.send("GET /b HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try kept.readResponse().text, "GET /b ")
    }

    func testPipelinedRequestsAnsweredInOrder() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let client = try RawClient(address)
        // The slow one first: its answer must still come first.
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
            + "POST /one HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /two HTTP/1.1\r\nHost: t\r\n\r\n"
            + "PUT /three HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "slow")
        XCTAssertEqual(try client.readResponse().text, "POST /one abc")
        XCTAssertEqual(try client.readResponse().text, "GET /two ")
        XCTAssertEqual(try client.readResponse().text, "PUT /three xy")
    }

    func testChunkedBodyAcrossWrites() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let client = try RawClient(address)
        client.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        usleep(50_000)
        client.send("lo\r\n6;name=v\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "POST /c hello world")
    }

    func testHeadHasLengthButNoBody() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let client = try RawClient(address)
        client.send("HEAD /thing HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try client.readResponse(bodyExpected: false)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Length"], "12")
        // Nothing after the head: the next response starts right away.
        client.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "GET /x ")
    }

    func testExpectContinue() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let client = try RawClient(address)
        client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        XCTAssertEqual(interim.status, 100)
        client.send("data")
        XCTAssertEqual(try client.readResponse().text, "POST /up data")
        // Too large: 413 straight away, no 100.
        client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n")
        let refused = try client.readResponse()
        XCTAssertEqual(refused.status, 413)
        XCTAssertEqual(refused.headers["Content-Type"], "application/problem+json")
        XCTAssertTrue(client.readsEOF())
    }

    func testProtocolErrors() throws {
        let (server, address) = try startServer(HTTPServerConfiguration(port: 0, maximumBodyBytes: 100))
        defer { server.stop() }
        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\r\nHost: t\r\nX: " + String(repeating: "a", count: 17_000) + "\r\n\r\n", 431),
            ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413),
            ("GARBAGE\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
        ]
        for (text, status) in cases {
            let client = try RawClient(address)
            client.send(text)
            let response = try client.readResponse()
            XCTAssertEqual(response.status, status, text.prefix(40).description)
            XCTAssertEqual(response.headers["Connection"], "close")
            XCTAssertTrue(response.text.contains("\"status\":\(status)"))
            XCTAssertTrue(client.readsEOF())
        }
        XCTAssertEqual(server.counters.responses(class: 4), 5)
        XCTAssertEqual(server.counters.responses(class: 5), 1)
    }

    func testHandlerErrorIs500() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let client = try RawClient(address)
        client.send("GET /fail HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 500)
        // The connection stays usable.
        client.send("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
    }

    func testSlowClientTimesOutWithoutBlockingOthers() throws {
        let configuration = HTTPServerConfiguration(port: 0, headerTimeout: .milliseconds(300))
        let (server, address) = try startServer(configuration)
        defer { server.stop() }
        let slow = try RawClient(address)
        slow.send("GET / HTTP/1.1\r\nHo")
        let started = Date()
        let fast = try RawClient(address)
        fast.send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try fast.readResponse().text, "GET /fast ")
        let fastDone = Date().timeIntervalSince(started)
        XCTAssertLessThan(fastDone, 0.25)
        slow.send("st: t\r\n")  // trickling bytes does not extend the deadline
        let timedOut = try slow.readResponse()
        let slowDone = Date().timeIntervalSince(started)
        XCTAssertEqual(timedOut.status, 408)
        XCTAssertGreaterThan(slowDone, 0.25)
        XCTAssertLessThan(slowDone, 2)
        XCTAssertTrue(slow.readsEOF())
        XCTAssertEqual(server.counters.timeouts, 1)
        // A connection that sends nothing at all gets the same treatment.
        let silent = try RawClient(address)
        XCTAssertEqual(try silent.readResponse().status, 408)
    }

    func testIdleKeepAliveConnectionIsClosed() throws {
        let configuration = HTTPServerConfiguration(port: 0, idleTimeout: .milliseconds(200))
        let (server, address) = try startServer(configuration)
        defer { server.stop() }
        let client = try RawClient(address)
        client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        XCTAssertTrue(client.readsEOF())
        XCTAssertTrue(eventually { server.counters.connectionsOpen == 0 })
    }

    func testConnectionLimit() throws {
        let (server, address) = try startServer(HTTPServerConfiguration(port: 0, maximumConnections: 2))
        defer { server.stop() }
        let a = try RawClient(address)
        let b = try RawClient(address)
        for client in [a, b] {
            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            XCTAssertEqual(try client.readResponse().status, 200)
        }
        let c = try RawClient(address)
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let refused = try c.readResponse()
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.headers["Retry-After"], "1")
        XCTAssertTrue(c.readsEOF())
        XCTAssertEqual(server.counters.connectionsRejected, 1)
        XCTAssertEqual(server.counters.connectionsOpen, 2)
        // Once one closes there is room again.
        a.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        _ = try a.readResponse()
        XCTAssertTrue(a.readsEOF())
        XCTAssertTrue(eventually { server.counters.connectionsOpen == 1 })
        let d = try RawClient(address)
        d.send("GET /d HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try d.readResponse().text, "GET /d ")
    }

    func testAbruptDisconnectMidBody() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        for _ in 0..<5 {
            let client = try RawClient(address)
            client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\npartial")
            client.abort()
        }
        let writer = try RawClient(address)
        writer.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        writer.abort()  // gone before the handler answers
        XCTAssertTrue(eventually { server.counters.connectionsAccepted == 6 && server.counters.connectionsOpen == 0 },
                      "\(server.counters)")
        let client = try RawClient(address)
        client.send("GET /still HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "GET /still ")
    }

    func testLargeBodyAndLargeResponse() throws {
        let (server, address) = try startServer(HTTPServerConfiguration(port: 0, maximumBodyBytes: 4 << 20))
        defer { server.stop() }
        let client = try RawClient(address)
        let body = (0..<(3 << 20)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        client.send(Array("PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        let response = try client.readResponse()
        XCTAssertEqual(response.body.count, "PUT /big ".utf8.count + body.count)
        XCTAssertEqual(Array(response.body.suffix(body.count)), body)
        client.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "GET /after ")
    }

    func testTwoHundredConcurrentConnections() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let clients = try (0..<200).map { _ in try RawClient(address) }
        for (index, client) in clients.enumerated() {
            client.send("POST /n HTTP/1.1\r\nHost: t\r\nContent-Length: \(String(index).utf8.count)\r\n\r\n\(index)")
        }
        for (index, client) in clients.enumerated() {
            XCTAssertEqual(try client.readResponse().text, "POST /n \(index)")
        }
        XCTAssertEqual(server.counters.connectionsOpen, 200)
        XCTAssertEqual(server.counters.requests, 200)
    }

    func testStopClosesListenerAndConnections() throws {
        let (server, address) = try startServer()
        let idle = try RawClient(address)
        idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try idle.readResponse().status, 200)
        let busy = try RawClient(address)
        busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(50_000)
        server.stop()
        XCTAssertTrue(idle.readsEOF())
        // The request in progress is still answered, then the connection closes.
        let answer = try busy.readResponse()
        XCTAssertEqual(answer.text, "slow")
        XCTAssertEqual(answer.headers["Connection"], "close")
        XCTAssertTrue(busy.readsEOF())
        XCTAssertThrowsError(try RawClient(address))
        XCTAssertTrue(eventually { server.counters.connectionsOpen == 0 })
    }

    func testHTTPSRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("http-tls-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let made = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt",
                                                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                                                "-out", certificate, "-days", "1", "-subj", "/CN=localhost"])
        XCTAssertEqual(made.status, 0)

        let configuration = HTTPServerConfiguration(port: 0, tls: TLSConfiguration(certificatePath: certificate,
                                                                                    keyPath: key))
        let (server, address) = try startServer(configuration)
        defer { server.stop() }
        let url = "https://127.0.0.1:\(address.port)"
        // Two requests on one connection, a POST body, TLS 1.2 forced for the second run.
        let result = try run("/usr/bin/curl", ["-sk", "--http1.1", "\(url)/a?x=1",
                                               "-d", "body", "--next", "-sk", "--http1.1", "\(url)/b"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output, "POST /a bodyGET /b ")
        let tls12 = try run("/usr/bin/curl", ["-sk", "--http1.1", "--tlsv1.2", "--tls-max", "1.2", "\(url)/c"])
        XCTAssertEqual(tls12.output, "GET /c ")
        XCTAssertEqual(server.counters.connectionsAccepted, 2)
        XCTAssertEqual(server.counters.requests, 3)
        // TLS 1.1 is refused.
        let old = try run("/usr/bin/curl", ["-sk", "--http1.1", "--tlsv1.0", "--tls-max", "1.1", "\(url)/d"])
        XCTAssertNotEqual(old.status, 0)
        // Plain HTTP on the TLS port gets no HTTP answer.
        let plain = try RawClient(address)
        plain.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertThrowsError(try plain.readResponse())
        XCTAssertTrue(eventually { server.counters.connectionsOpen == 0 })
    }

    func testStartFailures() throws {
        let (server, address) = try startServer()
        defer { server.stop() }
        let clash = HTTPServer(configuration: HTTPServerConfiguration(port: address.port))
        XCTAssertThrowsError(try clash.start(handler: echoHandler))
        let badHost = HTTPServer(configuration: HTTPServerConfiguration(host: "not-an-ip", port: 0))
        XCTAssertThrowsError(try badHost.start(handler: echoHandler))
        let badTLS = HTTPServer(configuration: HTTPServerConfiguration(
            port: 0, tls: TLSConfiguration(certificatePath: "/nonexistent.pem", keyPath: "/nonexistent.pem")))
        XCTAssertThrowsError(try badTLS.start(handler: echoHandler))
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
