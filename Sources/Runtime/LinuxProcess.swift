import Glibc

/// Facts about the running process that Linux keeps under /proc.
public enum LinuxProcess {
    /// CPUs this process may run on (so `taskset -c 1` gives 1), from the `Cpus_allowed` mask in
    /// `/proc/self/status`; the online CPU count when that cannot be read.
    public static func allowedCPUCount() -> Int {
        let fallback = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let status = readFile("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return fallback }
        let digits = line.dropFirst("Cpus_allowed:".count).filter { $0 != "," && $0 != " " && $0 != "\t" }
        let count = digits.reduce(0) { $0 + (UInt8(String($1), radix: 16)?.nonzeroBitCount ?? 0) }
        return count > 0 ? count : fallback
    }

    /// A whole file as text (for /proc files, whose size stat cannot tell), or nil when it cannot be read.
    public static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
