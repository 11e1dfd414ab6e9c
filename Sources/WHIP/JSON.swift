import SkylarkBase

/// Just enough JSON writing for the server's small responses, without Foundation.
public enum JSON {
    /// A JSON string literal (RFC 8259 §7).
    public static func string(_ text: String) -> String { jsonStringLiteral(text) }

    /// A JSON number; non-finite values become null.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// An object from members already encoded.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    public static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
}
