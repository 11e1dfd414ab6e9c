/// Master keys and salts for one SRTP association, already assigned to directions.
///
/// "Local" protects what we send (outbound), "remote" unprotects what we receive (inbound).
public struct SRTPKeyingMaterial: Sendable, Hashable {
    /// The DTLS exporter label for SRTP keys (RFC 5764 §4.2).
    public static let exporterLabel = "EXTRACTOR-dtls_srtp"

    public var localKey: [UInt8]
    public var localSalt: [UInt8]
    public var remoteKey: [UInt8]
    public var remoteSalt: [UInt8]

    public init(localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8]) {
        self.localKey = localKey
        self.localSalt = localSalt
        self.remoteKey = remoteKey
        self.remoteSalt = remoteSalt
    }

    /// Splits DTLS exported keying material into our outbound and inbound keys.
    ///
    /// RFC 5764 §4.2 lays the exporter output out as
    /// `client_write_key | server_write_key | client_write_salt | server_write_salt`;
    /// the DTLS client sends with the client keys and the server with the server keys.
    /// - Parameters:
    ///   - exported: exactly `profile.exportedKeyingMaterialLength` bytes from the exporter with `exporterLabel`.
    ///   - isDTLSClient: whether this endpoint was the DTLS client (`a=setup:active`).
    /// - Throws: `SRTPError.badLength` when `exported` has the wrong size for `profile`.
    public init(profile: SRTPProtectionProfile, exported: [UInt8], isDTLSClient: Bool) throws(SRTPError) {
        let keyLength = profile.keyLength
        let saltLength = profile.saltLength
        guard exported.count == profile.exportedKeyingMaterialLength else { throw .badLength }
        let clientKey = Array(exported[0..<keyLength])
        let serverKey = Array(exported[keyLength..<2 * keyLength])
        let clientSalt = Array(exported[2 * keyLength..<2 * keyLength + saltLength])
        let serverSalt = Array(exported[2 * keyLength + saltLength..<2 * (keyLength + saltLength)])
        if isDTLSClient {
            self.init(localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt)
        } else {
            self.init(localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt)
        }
    }

    /// The same association seen from the other end: our outbound keys are its inbound keys.
    public var swapped: SRTPKeyingMaterial {
        SRTPKeyingMaterial(localKey: remoteKey, localSalt: remoteSalt, remoteKey: localKey, remoteSalt: localSalt)
    }
}
