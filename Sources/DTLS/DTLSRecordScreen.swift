/// Why a received DTLS record was discarded before OpenSSL saw it.
public enum DTLSDiscardReason: String, CaseIterable, Sendable {
    /// The record header or body runs past the end of the datagram; the rest of the datagram goes with it.
    case truncated
    /// Not DTLS 1.2 (after the handshake), or neither DTLS 1.0 nor 1.2 during it (RFC 6347 §4.1).
    case unsupportedVersion
    /// Not change_cipher_spec, alert, handshake or application_data (RFC 5246 §6.2.1).
    case unknownContentType
    /// An epoch other than the established one (after the handshake), or beyond 1 during it: plaintext
    /// alerts and ClientHellos on an established association land here (RFC 6347 §4.1).
    case unexpectedEpoch
    /// Longer than 2^14 + 2048 bytes (RFC 5246 §6.2.3).
    case badLength
    /// The AEAD tag does not verify with the peer's key: forged, corrupted or too short.
    case notAuthenticated
}

/// How many received records a connection discarded, per reason.
public struct DTLSDiscardCounts: Sendable, Equatable {
    private var counts = [Int](repeating: 0, count: DTLSDiscardReason.allCases.count)

    public init() {}

    public subscript(reason: DTLSDiscardReason) -> Int {
        get { counts[Self.index(reason)] }
        set { counts[Self.index(reason)] = newValue }
    }

    /// All discarded records.
    public var total: Int { counts.reduce(0, +) }

    private static func index(_ reason: DTLSDiscardReason) -> Int {
        DTLSDiscardReason.allCases.firstIndex(of: reason)!
    }
}

/// Splits received datagrams into DTLS records and lets through only those OpenSSL should see.
///
/// RFC 6347 §4.1.2.7: invalid records are silently discarded and the association goes on. On UDP anyone can
/// send from the peer's address, so after the handshake only authenticated records of the established epoch
/// pass; during it, records must at least be well formed.
struct DTLSRecordScreen {
    static let headerLength = 13
    /// RFC 5246 §6.2.3: TLSCiphertext.length is at most 2^14 + 2048.
    static let maximumBodyLength = 16_384 + 2_048

    private(set) var discards = DTLSDiscardCounts()

    /// Calls `deliver` with each record of `datagram` that passes, in order, and counts the others.
    /// `authenticator` is the established association's record check, nil during the handshake.
    mutating func filter(_ datagram: UnsafeRawBufferPointer, established: Bool,
                         authenticator: DTLSRecordAuthenticator?, deliver: (UnsafeRawBufferPointer) -> Void) {
        var offset = 0
        while offset < datagram.count {
            let remaining = datagram.count - offset
            guard remaining >= Self.headerLength else {
                discards[.truncated] += 1
                return
            }
            let contentType = datagram[offset]
            let version = UInt16(datagram[offset + 1]) << 8 | UInt16(datagram[offset + 2])
            let epoch = UInt16(datagram[offset + 3]) << 8 | UInt16(datagram[offset + 4])
            let length = Int(datagram[offset + 11]) << 8 | Int(datagram[offset + 12])
            guard length <= remaining - Self.headerLength else {
                discards[.truncated] += 1
                return
            }
            let end = offset + Self.headerLength + length
            let record = UnsafeRawBufferPointer(rebasing: datagram[offset..<end])
            offset = end
            if let reason = Self.reject(contentType: contentType, version: version, epoch: epoch, length: length,
                                        established: established) {
                discards[reason] += 1
            } else if established, let authenticator, !authenticator.authenticates(record) {
                discards[.notAuthenticated] += 1
            } else {
                deliver(record)
            }
        }
    }

    private static func reject(contentType: UInt8, version: UInt16, epoch: UInt16, length: Int,
                               established: Bool) -> DTLSDiscardReason? {
        guard (20...23).contains(contentType) else { return .unknownContentType }
        // DTLS-SRTP never renegotiates, so the established epoch is 1 for the association's life.
        if established ? epoch != 1 : epoch > 1 { return .unexpectedEpoch }
        // 0xFEFD is DTLS 1.2; a ClientHello may carry 0xFEFF (DTLS 1.0) in its record (RFC 6347 §4.1).
        if established ? version != 0xFEFD : (version != 0xFEFD && version != 0xFEFF) { return .unsupportedVersion }
        guard length <= maximumBodyLength else { return .badLength }
        return nil
    }
}
