import COpenSSL
import COpenSSLShims

/// Where the server's TLS certificate and key live (PEM files). With this set the server speaks HTTPS only.
public struct TLSConfiguration: Sendable, Equatable {
    /// The certificate chain, leaf first (`SSL_CTX_use_certificate_chain_file`).
    public var certificatePath: String
    /// The private key matching the certificate.
    public var keyPath: String

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// A server `SSL_CTX` (TLS 1.2 and newer) holding the certificate and key; shared by every connection.
///
/// OpenSSL allows one `SSL_CTX` to serve many `SSL`s on many threads once it is configured, which happens in `init`.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(_ configuration: TLSConfiguration) throws(HTTPServerError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw tlsError("SSL_CTX_new") }
        self.context = context
        // SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
        guard SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1 else {
            throw tlsError("setting TLS 1.2 as minimum")
        }
        // No renegotiation (SSL_OP_NO_RENEGOTIATION, bit 30) and no compression (SSL_OP_NO_COMPRESSION, bit 17,
        // CRIME); the macros are casts Swift cannot import.
        SSL_CTX_set_options(context, UInt64(1) << 30 | UInt64(1) << 17)
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificatePath) == 1 else {
            throw tlsError("loading certificate \(configuration.certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw tlsError("loading key \(configuration.keyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else { throw tlsError("key does not match certificate") }
    }

    deinit { SSL_CTX_free(context) }
}

/// One server-side TLS session over two memory BIOs: ciphertext from the socket goes in, plaintext comes out, and
/// whatever OpenSSL wants to send (handshake, records, alerts) is collected for the socket. Use from one queue.
final class TLSSession {
    enum ReceiveResult {
        /// Decrypted application data (possibly empty while the handshake runs).
        case data([UInt8])
        /// The peer sent close_notify.
        case closed
        /// Handshake or record failure; the connection must close.
        case failed(String)
    }

    private let context: TLSContext
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer

    init(context: TLSContext) throws(HTTPServerError) {
        guard let ssl = SSL_new(context.context) else { throw tlsError("SSL_new") }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw tlsError("BIO_new")
        }
        // An empty read BIO means "no data yet", not end of stream.
        skylark_bio_set_mem_eof_return(readBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_accept_state(ssl)
        self.context = context
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
    }

    deinit { SSL_free(ssl) }  // frees both BIOs too

    /// Feeds ciphertext and returns any plaintext now available (the handshake advances on the way).
    func receive(_ ciphertext: UnsafeRawBufferPointer) -> ReceiveResult {
        ERR_clear_error()
        var offset = 0
        while offset < ciphertext.count {
            guard let base = ciphertext.baseAddress else { break }
            let written = BIO_write(readBIO, base + offset, Int32(min(ciphertext.count - offset, Int(Int32.max))))
            guard written > 0 else { return .failed("BIO_write") }
            offset += Int(written)
        }
        var plaintext: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                plaintext.append(contentsOf: chunk[0..<Int(count)])
                continue
            }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return .data(plaintext)
            case SSL_ERROR_ZERO_RETURN:
                return plaintext.isEmpty ? .closed : .data(plaintext)
            default:
                return .failed(openSSLErrors("TLS"))
            }
        }
    }

    /// Encrypts application data; the records are then in `takeOutput()`.
    func send(_ plaintext: [UInt8]) -> Bool {
        ERR_clear_error()
        var offset = 0
        while offset < plaintext.count {
            let count = plaintext.withUnsafeBytes { raw -> Int32 in
                guard let base = raw.baseAddress else { return 0 }
                return SSL_write(ssl, base + offset, Int32(min(raw.count - offset, 1 << 20)))
            }
            guard count > 0 else { return false }
            offset += Int(count)
        }
        return true
    }

    /// Queues a close_notify alert.
    func shutdown() {
        ERR_clear_error()
        if SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
    }

    /// Everything OpenSSL produced for the peer since the last call.
    func takeOutput() -> [UInt8] {
        var out: [UInt8] = []
        while skylark_bio_pending(writeBIO) > 0 {
            let pending = skylark_bio_pending(writeBIO)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: pending))
            let read = out.withUnsafeMutableBytes { raw -> Int32 in
                guard let base = raw.baseAddress else { return 0 }
                return BIO_read(writeBIO, base + start, Int32(pending))
            }
            out.removeLast(pending - max(0, Int(read)))
            if read <= 0 { break }
        }
        return out
    }
}

private func tlsError(_ operation: String) -> HTTPServerError {
    HTTPServerError(openSSLErrors(operation), code: 0)
}

/// `operation` followed by OpenSSL's queued error strings (which are then cleared).
private func openSSLErrors(_ operation: String) -> String {
    var text = operation
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        text += ": " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return text
}
