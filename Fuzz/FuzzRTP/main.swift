// libFuzzer target: RTP headers (with extensions and CSRCs), video payloads read for keyframes, and compound RTCP, as they arrive after SRTP.
import FuzzDriver
import RTP

func fuzzRTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let packet = input(data, size)
    if let header = try? RTPHeader(parsing: packet) {
        let payload = header.payload(in: packet)
        if payload.startIndex < 0 || payload.endIndex > packet.count { fatalError("payload outside the packet") }
        for index in 0..<16 { _ = header.csrc(at: index, in: packet) }
        for id in 1...14 { _ = header.extensionElement(id: UInt8(id), in: packet) }
        header.forEachExtensionElement(in: packet) { _, _ in true }
        // A simulcast switch reads the payload of every video format for a keyframe start.
        let body = UnsafeRawBufferPointer(rebasing: payload)
        for format in [VideoPayloadFormat.h264, .vp8, .vp9, .av1] { _ = format.startsKeyframe(body) }
    }
    if let packets = try? RTCPPacket.parseCompound(packet) {
        // What parses serialises; re-parsing it must work too.
        let bytes = RTCPPacket.serializeCompound(packets)
        if !bytes.isEmpty, (try? RTCPPacket.parseCompound(bytes)) == nil { fatalError("serialised RTCP did not re-parse") }
    }
    return 0
}

runFuzzer { data, size in fuzzRTP(data, size) }
