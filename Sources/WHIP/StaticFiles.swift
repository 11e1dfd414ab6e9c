import Glibc

/// Serves the web pages in `public/` from a directory on disk: plain files only, no listings, no `..`.
public struct StaticFiles: Sendable {
    public let root: String
    /// Files larger than this are not served.
    public var maximumFileBytes = 4 << 20

    public init(root: String) { self.root = root }

    /// The file's bytes and content type for a request path, or nil.
    public func file(for path: String) -> (body: [UInt8], contentType: String)? {
        var relative = path == "/" ? "/index.html" : path
        if relative.hasSuffix("/") { relative += "index.html" }
        let parts = relative.split(separator: "/")
        guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." || $0.hasPrefix(".") }) else { return nil }
        let fullPath = root + "/" + parts.joined(separator: "/")
        guard let body = Self.read(fullPath, limit: maximumFileBytes) else { return nil }
        return (body, Self.contentType(for: fullPath))
    }

    static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return nil }
            offset += n
        }
        return bytes
    }

    static func contentType(for path: String) -> String {
        switch path.split(separator: ".").last ?? "" {
        case "html": return "text/html; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        default: return "application/octet-stream"
        }
    }
}
