/// Why a session description could not be parsed, and where.
public struct SDPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based number of the offending line (counting every line of the input, blank ones included).
    /// Errors about the text as a whole (empty, too long) report line 1.
    public var line: Int
    /// The offending line, truncated to 200 characters.
    public var text: String
    /// What is wrong, in words (e.g. "m= line needs <media> <port> <proto> <fmt>").
    public var reason: String

    /// An error; `text` is truncated to 200 characters.
    public init(line: Int, text: String, reason: String) {
        self.line = line
        self.text = text.count > 200 ? String(text.prefix(200)) : text
        self.reason = reason
    }

    /// `SDP line <n>: <reason>: <text>`.
    public var description: String {
        text.isEmpty ? "SDP line \(line): \(reason)" : "SDP line \(line): \(reason): \(text)"
    }
}
