import SkylarkBase
import Testing

@testable import STUN

/// Hex text (whitespace ignored) to bytes.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { $0.isHexDigit })
    var out: [UInt8] = []
    var index = 0
    while index + 1 < digits.count {
        out.append(UInt8(String(digits[index...index + 1]), radix: 16) ?? 0)
        index += 2
    }
    return out
}

/// RFC 5769 test vectors.
enum Vectors {
    static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
    static let transactionID = hex("b7e7a701 bc34d686 fa87dfae")

    /// §2.1 Sample Request.
    static let request = hex("""
        00010058 2112a442 b7e7a701 bc34d686 fa87dfae
        80220010 5354554e 20746573 7420636c 69656e74
        00240004 6e0001ff
        80290008 932ff9b1 51263b36
        00060009 6576746a 3a683676 59202020
        00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
        80280004 e57a3bcf
        """)

    /// §2.2 Sample IPv4 Response.
    static let ipv4Response = hex("""
        0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200008 0001a147 e112a643
        00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
        80280004 c07d4c96
        """)

    /// §2.3 Sample IPv6 Response.
    static let ipv6Response = hex("""
        01010048 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
        00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
        80280004 c8fb0b4c
        """)
}

@Suite struct STUNVectorTests {
    @Test func sampleRequest() throws {
        let bytes = Vectors.request
        #expect(bytes.count == 108)
        #expect(STUNMessage.isSTUN(bytes))
        #expect(STUNMessage.verifyIntegrity(bytes, key: Vectors.password))
        #expect(STUNMessage.verifyFingerprint(bytes))
        #expect(!STUNMessage.verifyIntegrity(bytes, key: Array("wrong".utf8)))

        let message = try STUNMessage(parsing: bytes)
        #expect(message.messageClass == .request)
        #expect(message.method == STUNMessage.bindingMethod)
        #expect(message.transactionID == Vectors.transactionID)
        #expect(message.software == "STUN test client")
        #expect(message.username == "evtj:h6vY")
        #expect(message.priority == 0x6E00_01FF)
        #expect(message.iceControlled == 0x932F_F9B1_5126_3B36)
        #expect(message.iceControlling == nil)
        #expect(!message.useCandidate)
        #expect(message.messageIntegrity == hex("9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2"))
        #expect(message.fingerprint == 0xE57A_3BCF)
    }

    @Test func sampleIPv4Response() throws {
        let bytes = Vectors.ipv4Response
        #expect(bytes.count == 80)
        #expect(STUNMessage.verifyIntegrity(bytes, key: Vectors.password))
        #expect(STUNMessage.verifyFingerprint(bytes))
        let message = try STUNMessage(parsing: bytes)
        #expect(message.messageClass == .successResponse)
        #expect(message.software == "test vector")
        #expect(message.xorMappedAddress == SocketAddress("192.0.2.1:32853"))
    }

    @Test func sampleIPv6Response() throws {
        let bytes = Vectors.ipv6Response
        #expect(bytes.count == 92)
        #expect(STUNMessage.verifyIntegrity(bytes, key: Vectors.password))
        #expect(STUNMessage.verifyFingerprint(bytes))
        let message = try STUNMessage(parsing: bytes)
        #expect(message.messageClass == .successResponse)
        #expect(message.xorMappedAddress == SocketAddress("[2001:db8:1234:5678:11:2233:4455:6677]:32853"))
    }

    /// The vectors pad with spaces where we pad with zeros, so rebuild them with our padding: the header,
    /// XOR-MAPPED-ADDRESS and attribute layout must match byte for byte, and MI/FINGERPRINT must verify.
    @Test func serializerReproducesVectorLayout() throws {
        for vector in [Vectors.ipv4Response, Vectors.ipv6Response, Vectors.request] {
            let message = try STUNMessage(parsing: vector)
            let bytes = message.serialize(integrityKey: Vectors.password, addFingerprint: true)
            #expect(bytes.count == vector.count)
            #expect(bytes.prefix(20) == vector.prefix(20))
            #expect(STUNMessage.verifyIntegrity(bytes, key: Vectors.password))
            #expect(STUNMessage.verifyFingerprint(bytes))
            var reparsed = try STUNMessage(parsing: bytes)
            var original = message
            reparsed.attributes.removeAll { $0.type == STUNAttribute.messageIntegrity || $0.type == STUNAttribute.fingerprint }
            original.attributes.removeAll { $0.type == STUNAttribute.messageIntegrity || $0.type == STUNAttribute.fingerprint }
            #expect(reparsed == original)
        }
        // The IPv6 response's XOR-MAPPED-ADDRESS needs no padding: identical bytes.
        var message = STUNMessage(messageClass: .successResponse, transactionID: Vectors.transactionID)
        message.xorMappedAddress = SocketAddress("[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        #expect(message.serialize().suffix(24) == Vectors.ipv6Response[36..<60])
    }

    @Test func crc32KnownAnswer() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func hmacSHA1KnownAnswer() {
        // RFC 2202 test case 2.
        let mac = Array("what do ya want for nothing?".utf8).withUnsafeBytes {
            HMACSHA1.mac(key: Array("Jefe".utf8), data: $0)
        }
        #expect(mac == hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
    }
}
