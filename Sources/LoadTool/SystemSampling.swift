import Glibc
import Runtime
import SkylarkBase

/// Readings from `/proc` and `getrusage`, for CPU and memory figures measured outside the server.
public enum SystemSampling {
    /// CPU time (user + system) and resident memory of a process.
    public struct ProcessSample: Sendable, Equatable {
        public var cpuSeconds: Double
        public var residentBytes: UInt64
    }

    /// Kernel UDP counters of this network namespace (`/proc/net/snmp`): datagrams dropped because a socket's
    /// receive buffer was full, and all receive errors.
    public struct UDPCounters: Sendable, Equatable {
        public var receiveBufferErrors: UInt64
        public var inErrors: UInt64
    }

    /// utime + stime from `/proc/PID/stat` (fields 14 and 15, after the parenthesised command name) and VmRSS
    /// from `/proc/PID/status`.
    public static func process(_ pid: Int32) -> ProcessSample? {
        guard let stat = LinuxProcess.readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")": state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var resident: UInt64 = 0
        if let status = LinuxProcess.readFile("/proc/\(pid)/status") {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 2, let kilobytes = UInt64(parts[1]) { resident = kilobytes * 1024 }
            }
        }
        return ProcessSample(cpuSeconds: Double(user + system) / ticks, residentBytes: resident)
    }

    /// This process's CPU time from `getrusage`.
    public static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    public static func udpCounters() -> UDPCounters? {
        guard let text = LinuxProcess.readFile("/proc/net/snmp") else { return nil }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("Udp: ") }
        guard lines.count >= 2 else { return nil }
        let names = lines[0].split(separator: " ")
        let values = lines[1].split(separator: " ")
        func value(_ name: String) -> UInt64? {
            guard let index = names.firstIndex(where: { $0 == name }), index < values.count else { return nil }
            return UInt64(values[index])
        }
        guard let buffer = value("RcvbufErrors"), let errors = value("InErrors") else { return nil }
        return UDPCounters(receiveBufferErrors: buffer, inErrors: errors)
    }

    /// Pins the calling thread to one CPU. Returns false when the system refuses. (`sched_setaffinity` is a GNU
    /// extension the Glibc module does not import, so it is looked up at run time.)
    @discardableResult
    public static func pinCurrentThread(toCPU cpu: Int) -> Bool {
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        guard cpu >= 0, cpu < 1024, let symbol = dlsym(nil, "sched_setaffinity") else { return false }
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        var mask = [UInt8](repeating: 0, count: 128)
        mask[cpu / 8] |= UInt8(1 << (cpu % 8))
        return mask.withUnsafeBytes { setAffinity(0, 128, $0.baseAddress!) } == 0
    }

    /// Raises the soft limit on open files towards `wanted` (at most the hard limit). Returns the new soft limit.
    @discardableResult
    public static func raiseOpenFileLimit(to wanted: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if target > limit.rlim_cur {
            limit.rlim_cur = target
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }
}
