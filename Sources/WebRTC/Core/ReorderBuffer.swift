/// Puts received audio packets back in sequence before decoding: a packet that arrives early waits for the
/// ones before it, up to `depth` packets; a gap that outlives that is given up on and reported as lost, so the
/// decoder can conceal it (RFC 3550 §A.1 sequence arithmetic, modulo 2^16).
struct ReorderBuffer {
    /// What to decode next: a payload, or nil for a packet that never came.
    typealias Output = [UInt8]?

    let depth: Int
    private var expected: UInt16?
    private var pending: [UInt16: [UInt8]] = [:]

    init(depth: Int = 3) { self.depth = depth }

    /// Adds a packet and returns, in order, what can be decoded now.
    mutating func insert(sequence: UInt16, payload: [UInt8]) -> [Output] {
        guard let next = expected else {
            expected = sequence &+ 1
            return [payload]
        }
        let distance = Int16(bitPattern: sequence &- next)
        if distance < 0 { return [] }             // late or duplicate: already concealed or played
        if distance > 100 {                        // a jump (the sender restarted): start over there
            pending.removeAll()
            expected = sequence &+ 1
            return [payload]
        }
        pending[sequence] = payload
        var out: [Output] = []
        var cursor = next
        while true {
            if let ready = pending.removeValue(forKey: cursor) {
                out.append(ready)
                cursor &+= 1
            } else if pending.count >= depth {
                out.append(nil)                    // give up on the missing one
                cursor &+= 1
            } else {
                break
            }
        }
        expected = cursor
        return out
    }
}
