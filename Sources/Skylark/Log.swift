import Foundation

/// Structured logs on standard error, one `key=value` line per event (logfmt), so they read well in a terminal
/// and in journald, and parse with any logfmt tool.
enum Log {
    enum Level: String { case info, warning, error }

    static func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.info, message, fields) }
    static func warning(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.warning, message, fields) }
    static func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.error, message, fields) }

    static func write(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, String>) {
        var line = "time=\(Date().formatted(.iso8601)) level=\(level.rawValue) msg=\(quote(message))"
        for (key, value) in fields { line += " \(key)=\(quote(value))" }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Quotes a value when it has spaces, quotes or an equals sign.
    static func quote(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
