/// Replay protection for one SSRC: the highest packet index accepted and a bitmap of the `size` indices up to it
/// (RFC 3711 §3.3.2). The bitmap is a ring indexed by `index mod capacity`, so moving the window forward clears
/// only the bits it passes over and never shifts.
struct SRTPReplayWindow {
    /// Why `check` refused an index.
    enum Refusal: Error {
        case replayed
        case tooOld

        var error: SRTPError { self == .replayed ? .replayed : .tooOld }
    }

    /// How many indices below and including `highest` are remembered.
    let size: UInt64
    /// The highest index accepted so far (0 before the first).
    private(set) var highest: UInt64 = 0
    private(set) var isEmpty = true
    private var bits: [UInt64]

    /// - Parameter size: at least 1; the bitmap is rounded up to whole 64-bit words.
    init(size: Int) {
        let words = max(1, (size + 63) / 64)
        self.size = UInt64(max(1, size))
        self.bits = Array(repeating: 0, count: words)
    }

    /// Whether `index` may be accepted: newer than anything seen, or inside the window and not seen yet.
    func check(_ index: UInt64) throws(Refusal) {
        guard !isEmpty, index <= highest else { return }
        guard highest - index < size else { throw .tooOld }
        let (word, mask) = position(index)
        if bits[word] & mask != 0 { throw .replayed }
    }

    /// Records `index` (which `check` accepted), moving the window forward when it is the newest.
    mutating func accept(_ index: UInt64) {
        let capacity = UInt64(bits.count) &* 64
        if isEmpty {
            isEmpty = false
            highest = index
        } else if index > highest {
            if index - highest >= capacity {
                for word in bits.indices { bits[word] = 0 }
            } else {
                // Clear the bits of the indices skipped over, a word at a time where possible.
                var cleared = highest + 1
                while cleared <= index {
                    let (word, mask) = position(cleared)
                    if cleared & 63 == 0, index - cleared >= 63 {
                        bits[word] = 0
                        cleared += 64
                    } else {
                        bits[word] &= ~mask
                        cleared += 1
                    }
                }
            }
            highest = index
        }
        let (word, mask) = position(index)
        bits[word] |= mask
    }

    private func position(_ index: UInt64) -> (word: Int, mask: UInt64) {
        (Int(truncatingIfNeeded: (index >> 6) % UInt64(bits.count)), 1 << (index & 63))
    }
}

/// RTP packet index estimation (RFC 3711 §3.3.1, Appendix A).
enum SRTPPacketIndex {
    /// The 48-bit index (ROC << 16 | SEQ) a packet with `sequence` most likely has, given the highest index
    /// accepted so far for its SSRC (0 before the first packet). The guess is the one of ROC-1, ROC and ROC+1
    /// that puts the packet closest to `highest`.
    ///
    /// While `highest` is at most 2^15 the ROC is taken as 0 instead of guessing ROC-1 = -1, as libsrtp does:
    /// a stream that starts with a high sequence number and then sees a low one has not wrapped backwards.
    static func estimate(sequence: UInt16, highest: UInt64) -> UInt64 {
        let sequence = UInt64(sequence)
        guard highest > 0x8000 else { return sequence }
        let roc = highest >> 16
        let highestSequence = highest & 0xFFFF
        let guessedROC: UInt64
        if highestSequence < 0x8000 {
            guessedROC = sequence > highestSequence + 0x8000 ? roc - 1 : roc
        } else {
            guessedROC = highestSequence - 0x8000 > sequence ? roc &+ 1 : roc
        }
        // A 48-bit index: the ROC is 32 bits (RFC 3711 §3.3.1); it would take 2^48 packets to wrap.
        return (guessedROC << 16 | sequence) & 0xFFFF_FFFF_FFFF
    }
}
