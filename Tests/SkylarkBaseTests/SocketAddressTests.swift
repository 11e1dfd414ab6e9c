import Testing
@testable import SkylarkBase

@Suite struct SocketAddressTests {
    @Test func parsesAndPrintsIPv4() {
        let address = SocketAddress("192.0.2.7:5004")
        #expect(address == SocketAddress(ip: .v4(192, 0, 2, 7), port: 5004))
        #expect(address?.description == "192.0.2.7:5004")
    }

    @Test func parsesAndPrintsIPv6WithCompression() {
        #expect(IPAddress("::1") == .loopbackV6)
        #expect(IPAddress("fd00::2")?.description == "fd00::2")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("::ffff:192.0.2.1")?.bytes.suffix(4) == [192, 0, 2, 1])
        #expect(SocketAddress("[fe80::1%eth0]:9")?.ip.isLinkLocal == true)
    }

    @Test func rejectsGarbage() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::1::", "1:2:3:4:5:6:7:8:9", "abc", "1.2.3.4:99999", "[::1]"] {
            #expect(SocketAddress(text) == nil && (IPAddress(text) == nil || text == "::1"), "\(text)")
        }
    }

    @Test func byteReaderStopsAtTheEnd() {
        let bytes: [UInt8] = [0x12, 0x34, 0x56]
        bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(reader.readUInt16() == 0x1234)
            #expect(reader.readUInt16() == nil)
            #expect(reader.readUInt8() == 0x56)
            #expect(reader.readUInt8() == nil)
        }
    }
}
