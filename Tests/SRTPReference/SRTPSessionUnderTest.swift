import SRTP

/// The same operations on SRTPSession (OpenSSL) and LibSRTPSession (libsrtp2), so tests and measurements can
/// run either.
public protocol SRTPSessionUnderTest: AnyObject {
    init(profile: SRTPProtectionProfile, keys: SRTPKeyingMaterial, replayWindowSize: Int) throws(SRTPError)
    var counters: SRTPCounters { get }
    func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int
    func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int
    func protectRTP(_ packet: inout [UInt8]) throws(SRTPError)
    func unprotectRTP(_ packet: inout [UInt8]) throws(SRTPError)
    func protectRTCP(_ packet: inout [UInt8]) throws(SRTPError)
    func unprotectRTCP(_ packet: inout [UInt8]) throws(SRTPError)
}

extension SRTPSession: SRTPSessionUnderTest {}
extension LibSRTPSession: SRTPSessionUnderTest {}
