/// A fixed-size log-linear histogram of non-negative integers (nanoseconds here), in the style of HdrHistogram:
/// exact below 32, then 32 buckets per power of two, so any recorded value is known to within about 3 %.
///
/// The counts live in one array allocated at creation; `record` never allocates, so it can sit on a receive path.
public struct Histogram: Sendable, Equatable {
    static let subBucketBits = 5
    static let subBuckets = 1 << subBucketBits
    /// Enough buckets for every `UInt64`.
    static let bucketCount = (64 - subBucketBits + 1) * subBuckets

    private var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var sum: UInt64 = 0
    public private(set) var minimum: UInt64 = .max
    public private(set) var maximum: UInt64 = 0

    public init() {
        counts = Array(repeating: 0, count: Self.bucketCount)
    }

    static func bucket(of value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - subBucketBits
        return (shift + 1) * subBuckets + Int(value >> UInt64(shift)) - subBuckets
    }

    /// The smallest and largest value that fall in a bucket.
    static func range(ofBucket index: Int) -> ClosedRange<UInt64> {
        if index < subBuckets { return UInt64(index)...UInt64(index) }
        let shift = UInt64(index / subBuckets - 1)
        let mantissa = UInt64(index % subBuckets + subBuckets)
        let lower = mantissa << shift
        let width = UInt64(1) << shift
        return lower...(lower &+ (width - 1))
    }

    @inline(__always)
    public mutating func record(_ value: UInt64) {
        counts[Self.bucket(of: value)] &+= 1
        count &+= 1
        sum &+= value
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    /// Adds another histogram's counts.
    public mutating func merge(_ other: Histogram) {
        guard other.count > 0 else { return }
        for index in 0..<Self.bucketCount where other.counts[index] != 0 { counts[index] &+= other.counts[index] }
        count &+= other.count
        sum &+= other.sum
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    public mutating func reset() {
        guard count > 0 else { return }
        for index in counts.indices { counts[index] = 0 }
        count = 0
        sum = 0
        minimum = .max
        maximum = 0
    }

    /// The value at quantile `q` (0...1): the middle of the bucket holding it, clamped to the exact extremes.
    /// Nil when empty.
    public func quantile(_ q: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let rank = max(1, UInt64((min(max(q, 0), 1) * Double(count)).rounded(.up)))
        if rank >= count { return maximum }
        var seen: UInt64 = 0
        for index in 0..<Self.bucketCount where counts[index] != 0 {
            seen &+= counts[index]
            if seen >= rank {
                let range = Self.range(ofBucket: index)
                let middle = range.lowerBound + (range.upperBound - range.lowerBound) / 2
                return min(max(middle, minimum), maximum)
            }
        }
        return maximum
    }

    public var mean: Double? { count == 0 ? nil : Double(sum) / Double(count) }
}
