import Glibc
import SRTP
import SRTPReference

// SRTP on its own, for capacity planning: protect+unprotect rate of 200-byte RTP and heap bytes per session, this
// library's OpenSSL implementation beside libsrtp2 (the reference the tests cross-check against), measured in the
// same process so the ratio holds on any machine. Run by `scripts/bench --srtp`.

/// Keys that differ per session pair, so no cipher context is shared by accident.
func keys(_ profile: SRTPProtectionProfile, seed: Int) -> SRTPKeyingMaterial {
    func bytes(_ count: Int, _ step: Int, _ offset: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* step &+ seed &+ offset) }
    }
    return SRTPKeyingMaterial(
        localKey: bytes(profile.keyLength, 7, 0), localSalt: bytes(profile.saltLength, 13, 0),
        remoteKey: bytes(profile.keyLength, 11, 100), remoteSalt: bytes(profile.saltLength, 17, 50))
}

/// An RTP packet (RFC 3550 §5.1), payload type 111, `payload` bytes of payload.
func rtp(sequence: UInt16, ssrc: UInt32, payload: Int) -> [UInt8] {
    [0x80, 111, UInt8(sequence >> 8), UInt8(truncatingIfNeeded: sequence), 0, 0, 0x03, 0xC0,
     UInt8(ssrc >> 24), UInt8(truncatingIfNeeded: ssrc >> 16), UInt8(truncatingIfNeeded: ssrc >> 8),
     UInt8(truncatingIfNeeded: ssrc)] + [UInt8](repeating: 0x5A, count: payload)
}

func fail(_ message: String) -> Never {
    let bytes = Array(("srtp-bench: " + message + "\n").utf8)
    _ = write(2, bytes, bytes.count)
    exit(1)
}

/// Protect+unprotect per second, round-robin over `sessionCount` session pairs.
func throughput<Session: SRTPSessionUnderTest>(_: Session.Type, profile: SRTPProtectionProfile, sessionCount: Int)
    throws(SRTPError) -> Int
{
    var senders: [Session] = []
    var receivers: [Session] = []
    for index in 0..<sessionCount {
        let material = keys(profile, seed: index)
        senders.append(try Session(profile: profile, keys: material, replayWindowSize: SRTPSession.defaultReplayWindowSize))
        receivers.append(
            try Session(profile: profile, keys: material.swapped, replayWindowSize: SRTPSession.defaultReplayWindowSize))
    }
    let template = rtp(sequence: 0, ssrc: 0x1234_5678, payload: 188)  // 200 bytes
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 16)
    defer { buffer.deallocate() }

    let packets = 100_000
    var failures = 0
    let clock = ContinuousClock()
    let start = clock.now
    for index in 0..<packets {
        let session = index % sessionCount
        let sequence = UInt16(truncatingIfNeeded: index / sessionCount)
        buffer.copyBytes(from: template)
        buffer[2] = UInt8(sequence >> 8)
        buffer[3] = UInt8(truncatingIfNeeded: sequence)
        do {
            let length = try senders[session].protectRTP(buffer, length: template.count)
            _ = try receivers[session].unprotectRTP(buffer, length: length)
        } catch {
            failures += 1
        }
    }
    let elapsed = clock.now - start
    // A figure from packets that failed would be meaningless.
    guard failures == 0 else { fail("\(failures) of \(packets) packets failed with \(Session.self)") }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Int(Double(packets) / seconds)
}

/// Heap bytes per session holding one outbound and one inbound stream.
func heapPerSession<Session: SRTPSessionUnderTest>(_: Session.Type, profile: SRTPProtectionProfile)
    throws(SRTPError) -> Int
{
    let pairs = 1000
    let before = heapBytesInUse()
    var sessions: [Session] = []
    sessions.reserveCapacity(2 * pairs)
    for index in 0..<pairs {
        let material = keys(profile, seed: index)
        let a = try Session(profile: profile, keys: material, replayWindowSize: SRTPSession.defaultReplayWindowSize)
        let b = try Session(profile: profile, keys: material.swapped, replayWindowSize: SRTPSession.defaultReplayWindowSize)
        var forward = rtp(sequence: 1, ssrc: 1, payload: 1)
        var backward = rtp(sequence: 1, ssrc: 2, payload: 1)
        try a.protectRTP(&forward)
        try b.protectRTP(&backward)
        try b.unprotectRTP(&forward)
        try a.unprotectRTP(&backward)
        sessions.append(a)
        sessions.append(b)
    }
    let bytes = heapBytesInUse() - before
    withExtendedLifetime(sessions) {}
    return bytes / sessions.count
}

/// Bytes malloc has handed out and not had back, from glibc's `malloc_info` (found with dlsym: malloc.h is not part
/// of the Glibc module). In use = system bytes - free fast bins - free other chunks + mmapped chunks, from the
/// process-wide totals after the last `</heap>`.
func heapBytesInUse() -> Int {
    typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_info") else { fail("glibc has no malloc_info") }
    var text: UnsafeMutablePointer<CChar>?
    var length = 0
    guard let stream = open_memstream(&text, &length) else { fail("open_memstream failed") }
    _ = unsafeBitCast(symbol, to: MallocInfo.self)(0, stream)
    fclose(stream)
    guard let text else { fail("malloc_info wrote nothing") }
    defer { free(text) }
    let xml = String(cString: text)
    guard let end = xml.ranges(of: "</heap>").last else { fail("malloc_info's output has no heap") }
    let totals = xml[end.upperBound...]
    func bytes(after tag: String) -> Int {
        guard let tagRange = totals.firstRange(of: tag),
            let sizeRange = totals[tagRange.upperBound...].firstRange(of: "size=\"")
        else { return 0 }
        return Int(totals[sizeRange.upperBound...].prefix { $0.isNumber }) ?? 0
    }
    return bytes(after: "<system type=\"current\"") - bytes(after: "<total type=\"fast\"")
        - bytes(after: "<total type=\"rest\"") + bytes(after: "<total type=\"mmap\"")
}

func ratio(_ ours: Int, _ theirs: Int) -> String {
    let tenths = ours * 10 / max(theirs, 1)
    return "\(tenths / 10).\(tenths % 10)x"
}

do throws(SRTPError) {
    print("SRTP libsrtp reference: \(LibSRTPLibrary.version)")
    for profile in SRTPProtectionProfile.allCases {
        for sessionCount in [1, 2000] {
            let ours = try throughput(SRTPSession.self, profile: profile, sessionCount: sessionCount)
            let libsrtp = try throughput(LibSRTPSession.self, profile: profile, sessionCount: sessionCount)
            print("SRTP \(profile) \(sessionCount) session pair(s): OpenSSL \(ours) vs libsrtp \(libsrtp) "
                + "protect+unprotect/s of 200-byte RTP (\(ratio(ours, libsrtp)))")
        }
        let ours = try heapPerSession(SRTPSession.self, profile: profile)
        let libsrtp = try heapPerSession(LibSRTPSession.self, profile: profile)
        print("SRTP \(profile): OpenSSL \(ours) vs libsrtp \(libsrtp) heap bytes per session (one SSRC each way)")
    }
} catch {
    fail("\(error)")
}
