import Dispatch
import Glibc
import SkylarkBase
import Synchronization
import UDPRuntime

/// The machine's raw UDP send ceiling: one thread sending `size`-byte datagrams with `sendmmsg` round-robin to
/// many loopback sockets, which another thread drains (so the kernel's receive path, wakeups included, is paid as
/// it is when the SFU sends to real viewers). The figure the SFU's forwarding rate per core is compared with.
public enum UDPCeiling {
    public struct Result: Sendable {
        public var seconds: Double
        /// Datagrams the kernel accepted per second.
        public var sentPerSecond: Double
        /// Datagrams the drain thread read per second.
        public var receivedPerSecond: Double
        /// CPU the sending thread used (1.0 = one core).
        public var senderCPU: Double
        public var destinations: Int
        public var size: Int
        /// Datagrams refused by sendmmsg (full send buffer) .
        public var sendErrors: UInt64
        public var kernelReceiveBufferErrors: UInt64?

        /// Datagrams per second of the sender's own CPU time: the ceiling of one fully used core, robust to other
        /// processes taking part of that CPU.
        public var sentPerCPUSecond: Double { senderCPU > 0 ? sentPerSecond / senderCPU : 0 }

        public var text: String {
            """
            udp ceiling: \(format(sentPerCPUSecond, 0)) packets per CPU-second; \(format(sentPerSecond, 0)) packets/s sent (\(format(sentPerSecond * Double(size) * 8 / 1e9, 2)) Gbit/s of payload), \
            \(format(receivedPerSecond, 0)) packets/s drained, sender CPU \(format(senderCPU * 100, 1)) %, \
            \(size)-byte datagrams to \(destinations) sockets over \(format(seconds, 1)) s\
            \(kernelReceiveBufferErrors.map { ", kernel drops \($0)" } ?? "")
            """
        }

        public var json: String {
            JSONObject().add("type", "udp-ceiling").add("seconds", seconds).add("packets_per_s", sentPerSecond)
                .add("packets_per_cpu_s", sentPerCPUSecond)
                .add("drained_per_s", receivedPerSecond).add("sender_cpu", senderCPU).add("destinations", destinations)
                .add("size", size).add("send_errors", Int(sendErrors))
                .add("kernel_udp_rcvbuf_errors", kernelReceiveBufferErrors.map(Double.init)).text
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case setup(String)
        public var description: String {
            switch self { case let .setup(reason): reason }
        }
    }

    /// Measures for `seconds`. `drainCPU` pins the draining thread (e.g. to a CPU the sender is not on).
    public static func run(seconds: Double, destinations: Int, size: Int, drainCPU: Int? = nil,
                           localIP: IPAddress = .loopbackV4) throws(Failure) -> Result {
        let size = min(max(size, 1), 1_400)
        SystemSampling.raiseOpenFileLimit(to: destinations + 64)
        var receivers: [UDPSocket] = []
        do {
            for _ in 0..<max(1, destinations) {
                receivers.append(try UDPSocket(bindTo: SocketAddress(ip: localIP, port: 0), receiveBufferBytes: 1 << 20))
            }
        } catch {
            for socket in receivers { socket.close() }
            throw .setup("cannot bind receiver socket \(receivers.count + 1): \(error)")
        }
        defer { for socket in receivers { socket.close() } }
        let sender: UDPSocket
        do {
            sender = try UDPSocket(bindTo: SocketAddress(ip: localIP, port: 0), receiveBufferBytes: 1 << 16,
                                   sendBufferBytes: 1 << 23)
        } catch {
            throw .setup("cannot bind the sending socket: \(error)")
        }
        defer { sender.close() }

        let stop = Atomic<Bool>(false)
        let drained = Atomic<UInt64>(0)
        let drainDone = DispatchSemaphore(value: 0)
        let descriptors = receivers.map(\.fileDescriptor)
        let drainThread = DispatchQueue(label: "skylark.udp-ceiling.drain")
        drainThread.async {
            if let drainCPU { SystemSampling.pinCurrentThread(toCPU: drainCPU) }
            drain(descriptors, stop: stop, count: drained)
            drainDone.signal()
        }

        let destinationsList = receivers.map(\.localAddress)
        let payload = [UInt8](repeating: 0x5A, count: size)
        let batch = DatagramBatch(capacity: 64, maximumDatagramSize: size)
        let udpStart = SystemSampling.udpCounters()
        let cpuStart = threadCPUSeconds()
        let start = monotonicNanoseconds()
        let end = start + UInt64(seconds * 1e9)
        var sent: UInt64 = 0
        var errors: UInt64 = 0
        var next = 0
        var now = start
        payload.withUnsafeBytes { bytes in
            while now < end {
                for _ in 0..<batch.capacity {
                    batch.append(bytes, to: destinationsList[next])
                    next = next + 1 == destinationsList.count ? 0 : next + 1
                }
                let accepted = batch.send(on: sender)
                sent &+= UInt64(accepted)
                errors &+= UInt64(64 - accepted)
                now = monotonicNanoseconds()
            }
        }
        let cpu = threadCPUSeconds() - cpuStart
        let elapsed = Double(now - start) / 1e9
        usleep(100_000)  // let the drain thread catch up with what is queued
        let udpEnd = SystemSampling.udpCounters()
        stop.store(true, ordering: .relaxed)
        drainDone.wait()
        return Result(seconds: elapsed, sentPerSecond: Double(sent) / elapsed,
                      receivedPerSecond: Double(drained.load(ordering: .relaxed)) / elapsed, senderCPU: cpu / elapsed,
                      destinations: destinationsList.count, size: size, sendErrors: errors,
                      kernelReceiveBufferErrors: udpStart.flatMap { start in udpEnd.map { $0.receiveBufferErrors &- start.receiveBufferErrors } })
    }

    /// Reads every ready socket until it is empty, with poll(2) (epoll is not in the Glibc module), until `stop`.
    private static func drain(_ descriptors: [Int32], stop: borrowing Atomic<Bool>, count: borrowing Atomic<UInt64>) {
        var polls = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 2048)
        var total: UInt64 = 0
        while !stop.load(ordering: .relaxed) {
            let ready = polls.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 50) }
            guard ready > 0 else { continue }
            buffer.withUnsafeMutableBytes { raw in
                for index in polls.indices where polls[index].revents != 0 {
                    while recv(polls[index].fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT)) >= 0 { total &+= 1 }
                }
            }
            count.store(total, ordering: .relaxed)
        }
        count.store(total, ordering: .relaxed)
    }

    private static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
