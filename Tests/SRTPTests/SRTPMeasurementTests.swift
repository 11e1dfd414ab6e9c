import Foundation
import Testing

@testable import SRTP

/// Numbers for capacity planning, run by `scripts/bench --srtp` only: they print rather than assert (the machine
/// decides them, not the code), so in a test run they are skipped, not counted as passing.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SKYLARK_SRTP_BENCH"] == "1",
                             "a benchmark: scripts/bench --srtp"))
struct SRTPMeasurementTests {
    /// Protect+unprotect of 200-byte RTP, round-robin over 1 and 2,000 session pairs, with this library's
    /// OpenSSL implementation and with the libsrtp2 reference side by side.
    @Test(arguments: SRTPProtectionProfile.allCases)
    func protectAndUnprotectThroughput(profile: SRTPProtectionProfile) throws {
        for sessionCount in [1, 2000] {
            let ours = try throughput(SRTPSession.self, profile: profile, sessionCount: sessionCount)
            let libsrtp = try throughput(LibSRTPSession.self, profile: profile, sessionCount: sessionCount)
            let ratio = Double(ours) / Double(max(libsrtp, 1))
            print(
                "SRTP \(profile) \(sessionCount) session pair(s): OpenSSL \(ours) vs libsrtp \(libsrtp) "
                    + "protect+unprotect/s of 200-byte RTP (\(Int(ratio * 10) / 10).\(Int(ratio * 10) % 10)x)")
        }
    }

    private func throughput<Session: SRTPSessionUnderTest>(
        _ type: Session.Type, profile: SRTPProtectionProfile, sessionCount: Int
    ) throws -> Int {
        var senders: [Session] = []
        var receivers: [Session] = []
        for index in 0..<sessionCount {
            let keys = Fixture.keys(profile, seed: UInt8(truncatingIfNeeded: index))
            senders.append(try Session(profile: profile, keys: keys, replayWindowSize: SRTPSession.defaultReplayWindowSize))
            receivers.append(
                try Session(profile: profile, keys: keys.swapped, replayWindowSize: SRTPSession.defaultReplayWindowSize))
        }
        let template = Fixture.rtp(sequence: 0, payload: Array(repeating: 0x5A, count: 188))  // 200 bytes
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
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(failures == 0)
        return Int(Double(packets) / seconds)
    }

    @Test(arguments: SRTPProtectionProfile.allCases)
    func heapPerSession(profile: SRTPProtectionProfile) throws {
        let ours = try heapPerSession(SRTPSession.self, profile: profile)
        let libsrtp = try heapPerSession(LibSRTPSession.self, profile: profile)
        print("SRTP \(profile): OpenSSL \(ours) vs libsrtp \(libsrtp) heap bytes per session (one SSRC each way)")
    }

    private func heapPerSession<Session: SRTPSessionUnderTest>(_ type: Session.Type, profile: SRTPProtectionProfile)
        throws -> Int
    {
        let pairs = 1000
        let before = heapBytesInUse()
        var sessions: [Session] = []
        sessions.reserveCapacity(2 * pairs)
        for index in 0..<pairs {
            let keys = Fixture.keys(profile, seed: UInt8(truncatingIfNeeded: index))
            let a = try Session(profile: profile, keys: keys, replayWindowSize: SRTPSession.defaultReplayWindowSize)
            let b = try Session(
                profile: profile, keys: keys.swapped, replayWindowSize: SRTPSession.defaultReplayWindowSize)
            // One SSRC each way, so each session holds one outbound and one inbound stream.
            var forward = Fixture.rtp(sequence: 1, ssrc: 1, payload: [1])
            var backward = Fixture.rtp(sequence: 1, ssrc: 2, payload: [2])
            try a.protectRTP(&forward)
            try b.protectRTP(&backward)
            try b.unprotectRTP(&forward)
            try a.unprotectRTP(&backward)
            sessions.append(a)
            sessions.append(b)
        }
        let bytes = heapBytesInUse() - before
        #expect(sessions.count == 2 * pairs)
        return bytes / sessions.count
    }

    /// Bytes malloc has handed out and not had back, from glibc's `malloc_info` (found with dlsym: malloc.h is not
    /// part of the Glibc module). In use = system bytes - free fast bins - free other chunks + mmapped chunks,
    /// from the process-wide totals after the last `</heap>`.
    private func heapBytesInUse() -> Int {
        typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_info") else { return 0 }
        var text: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let stream = open_memstream(&text, &size) else { return 0 }
        _ = unsafeBitCast(symbol, to: MallocInfo.self)(0, stream)
        fclose(stream)
        guard let text else { return 0 }
        defer { free(text) }
        let xml = String(cString: text)
        guard let totals = xml.components(separatedBy: "</heap>").last else { return 0 }
        return sizeAfter(totals, "<system type=\"current\"") - sizeAfter(totals, "<total type=\"fast\"")
            - sizeAfter(totals, "<total type=\"rest\"") + sizeAfter(totals, "<total type=\"mmap\"")
    }

    private func sizeAfter(_ text: String, _ tag: String) -> Int {
        guard let tagRange = text.range(of: tag),
            let sizeRange = text[tagRange.upperBound...].range(of: "size=\"")
        else { return 0 }
        return Int(text[sizeRange.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}
