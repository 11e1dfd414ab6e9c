/// HTTP header fields as an ordered multimap: names compare case-insensitively (RFC 9110 §5.1), order and repeated
/// fields are kept as received.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One field line: the name as written and its value (without surrounding whitespace).
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// All field lines in order.
    public private(set) var fields: [Field]

    public init() { fields = [] }

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of `name`, or nil. Setting replaces every field of that name (nil removes them).
    public subscript(name: String) -> String? {
        get { fields.first { Self.equalNames($0.name, name) }?.value }
        set {
            if let newValue { replaceOrAdd(name: name, value: newValue) } else { remove(name: name) }
        }
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { Self.equalNames($0.name, name) }.map(\.value)
    }

    /// True when at least one field is named `name`.
    public func contains(_ name: String) -> Bool {
        fields.contains { Self.equalNames($0.name, name) }
    }

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces the first field of `name` and removes the others, or appends when none exists.
    public mutating func replaceOrAdd(name: String, value: String) {
        if let index = fields.firstIndex(where: { Self.equalNames($0.name, name) }) {
            fields[index].value = value
            var i = fields.count - 1
            while i > index {
                if Self.equalNames(fields[i].name, name) { fields.remove(at: i) }
                i -= 1
            }
        } else {
            add(name: name, value: value)
        }
    }

    /// Removes every field of `name`.
    public mutating func remove(name: String) {
        fields.removeAll { Self.equalNames($0.name, name) }
    }

    /// The comma-separated list members of every `name` field, trimmed, lowercased (RFC 9110 §5.6.1), e.g. the
    /// options of `Connection` or the codings of `Transfer-Encoding`.
    public func tokens(for name: String) -> [String] {
        var out: [String] = []
        for value in values(for: name) {
            for part in value.split(separator: ",") {
                let token = asciiLowercased(trimmingOWS(Substring(part)))
                if !token.isEmpty { out.append(token) }
            }
        }
        return out
    }

    /// True when the `name` fields' list contains `token` (case-insensitively).
    public func containsToken(_ token: String, for name: String) -> Bool {
        let wanted = asciiLowercased(Substring(token))
        return tokens(for: name).contains(wanted)
    }

    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    /// ASCII case-insensitive name comparison (field names are tokens, so ASCII suffices).
    static func equalNames(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            guard lowerASCII(p) == lowerASCII(q) else { return false }
        }
        return true
    }
}

@inline(__always) func lowerASCII(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}

func asciiLowercased(_ text: Substring) -> String {
    String(decoding: text.utf8.map(lowerASCII), as: UTF8.self)
}

/// Drops leading and trailing spaces and tabs (OWS, RFC 9110 §5.6.3).
func trimmingOWS(_ text: Substring) -> Substring {
    var t = text
    while let first = t.first, first == " " || first == "\t" { t.removeFirst() }
    while let last = t.last, last == " " || last == "\t" { t.removeLast() }
    return t
}
