import SkylarkBase

/// Finds missing sequence numbers of one incoming stream and decides when to ask for them with a generic NACK
/// (RFC 4585 §6.2.1).
///
/// A gap is requested as soon as it is seen, then again every round-trip time until the packet arrives, it has been
/// requested `maxRetries` times, or it has been missing longer than `maxAge`. At most `maxMissing` numbers are
/// tracked; a bigger gap keeps only its newest numbers (the receiver should ask for a key frame instead).
public struct NACKGenerator: Sendable {
    private struct Entry: Sendable {
        var sequence: Int64
        var firstMissing: Instant
        var lastRequested: Instant?
        var requests: Int
    }

    /// How many times one number is requested before giving up.
    public var maxRetries: Int
    /// How long a number stays requestable after it was found missing.
    public var maxAge: Duration
    /// The most numbers tracked at once.
    public var maxMissing: Int

    private var unwrapper = SequenceNumberUnwrapper()
    private var highest: Int64?
    /// Sorted by `sequence`.
    private var missing: [Entry] = []

    public init(maxRetries: Int = 10, maxAge: Duration = .seconds(1), maxMissing: Int = 1000) {
        self.maxRetries = maxRetries
        self.maxAge = maxAge
        self.maxMissing = max(1, maxMissing)
    }

    /// How many numbers are currently missing.
    public var missingCount: Int { missing.count }

    /// The missing numbers, oldest first.
    public var missingSequenceNumbers: [UInt16] { missing.map { UInt16(truncatingIfNeeded: $0.sequence) } }

    /// Records an arrived packet (original or retransmission).
    public mutating func record(_ seq: UInt16, now: Instant) {
        let extended = unwrapper.peek(seq)
        guard let highest else {
            self.highest = unwrapper.unwrap(seq)
            return
        }
        if extended > highest {
            _ = unwrapper.unwrap(seq)
            let gapStart = max(highest + 1, extended - Int64(maxMissing))
            if gapStart < extended {
                missing.reserveCapacity(missing.count + Int(extended - gapStart))
                for s in gapStart..<extended {
                    missing.append(Entry(sequence: s, firstMissing: now, lastRequested: nil, requests: 0))
                }
                if missing.count > maxMissing { missing.removeFirst(missing.count - maxMissing) }
            }
            self.highest = extended
        } else if let index = index(of: extended) {
            missing.remove(at: index)
        }
    }

    private func index(of sequence: Int64) -> Int? {
        var low = 0, high = missing.count
        while low < high {
            let mid = (low + high) / 2
            if missing[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        return low < missing.count && missing[low].sequence == sequence ? low : nil
    }

    /// The numbers to request now, oldest first: those never requested, and those last requested at least `rtt`
    /// ago. Numbers past their retry limit or age are dropped.
    public mutating func pendingNACKs(now: Instant, rtt: Duration) -> [UInt16] {
        missing.removeAll { $0.requests >= maxRetries || now - $0.firstMissing > maxAge }
        var out: [UInt16] = []
        for i in missing.indices {
            if let last = missing[i].lastRequested, now - last < rtt { continue }
            missing[i].lastRequested = now
            missing[i].requests += 1
            out.append(UInt16(truncatingIfNeeded: missing[i].sequence))
        }
        return out
    }
}
