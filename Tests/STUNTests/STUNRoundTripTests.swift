import SkylarkBase
import Testing

@testable import STUN

@Suite struct STUNRoundTripTests {
    func sampleRequest() -> STUNMessage {
        var message = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID())
        message.username = "remote:local"
        message.priority = 0x6E7F_1EFF
        message.iceControlling = 0x0123_4567_89AB_CDEF
        message.useCandidate = true
        return message
    }

    @Test func requestRoundTripsWithIntegrityAndFingerprint() throws {
        let message = sampleRequest()
        let key = Array("secret-password".utf8)
        let bytes = message.serialize(integrityKey: key, addFingerprint: true)
        #expect(STUNMessage.isSTUN(bytes))
        #expect(STUNMessage.verifyIntegrity(bytes, key: key))
        #expect(STUNMessage.verifyFingerprint(bytes))
        let parsed = try STUNMessage(parsing: bytes)
        #expect(parsed.username == "remote:local")
        #expect(parsed.priority == 0x6E7F_1EFF)
        #expect(parsed.iceControlling == 0x0123_4567_89AB_CDEF)
        #expect(parsed.useCandidate)
        #expect(parsed.transactionID == message.transactionID)
        // Re-serializing the parsed message (its MI and FINGERPRINT are replaced) gives the same bytes.
        #expect(parsed.serialize(integrityKey: key, addFingerprint: true) == bytes)
        var stripped = parsed
        stripped.attributes.removeAll { $0.type == STUNAttribute.messageIntegrity || $0.type == STUNAttribute.fingerprint }
        #expect(stripped == message)
    }

    @Test func withoutIntegrityOrFingerprint() throws {
        let message = sampleRequest()
        let bytes = message.serialize()
        #expect(try STUNMessage(parsing: bytes) == message)
        #expect(!STUNMessage.verifyIntegrity(bytes, key: []))
        #expect(!STUNMessage.verifyFingerprint(bytes))
        let onlyFingerprint = message.serialize(addFingerprint: true)
        #expect(STUNMessage.verifyFingerprint(onlyFingerprint))
        #expect(!STUNMessage.verifyIntegrity(onlyFingerprint, key: []))
    }

    @Test func tamperingBreaksIntegrityAndFingerprint() {
        let key = Array("pw".utf8)
        let bytes = sampleRequest().serialize(integrityKey: key, addFingerprint: true)
        for index in stride(from: 20, to: bytes.count - 8, by: 3) {
            var copy = bytes
            copy[index] ^= 0x01
            #expect(!STUNMessage.verifyIntegrity(copy, key: key))
            #expect(!STUNMessage.verifyFingerprint(copy))
        }
    }

    @Test func classesAndMethodEncode() throws {
        for messageClass in [STUNMessage.Class.request, .indication, .successResponse, .errorResponse] {
            for method: UInt16 in [0x001, 0x003, 0x00A, 0xFFF] {
                let message = STUNMessage(messageClass: messageClass, method: method, transactionID: Array(0..<12))
                let parsed = try STUNMessage(parsing: message.serialize())
                #expect(parsed.messageClass == messageClass)
                #expect(parsed.method == method)
            }
        }
        let success = STUNMessage(messageClass: .successResponse, transactionID: Array(0..<12)).serialize()
        let error = STUNMessage(messageClass: .errorResponse, transactionID: Array(0..<12)).serialize()
        let indication = STUNMessage(messageClass: .indication, transactionID: Array(0..<12)).serialize()
        #expect(success.prefix(2) == [0x01, 0x01])
        #expect(error.prefix(2) == [0x01, 0x11])
        #expect(indication.prefix(2) == [0x00, 0x11])
    }

    @Test func addressesRoundTrip() throws {
        for text in ["192.0.2.1:32853", "10.0.0.1:1", "[2001:db8::1]:443", "[::1]:65535"] {
            var message = STUNMessage(messageClass: .successResponse, transactionID: STUNMessage.randomTransactionID())
            message.xorMappedAddress = SocketAddress(text)
            message.mappedAddress = SocketAddress(text)
            let parsed = try STUNMessage(parsing: message.serialize())
            #expect(parsed.xorMappedAddress == SocketAddress(text))
            #expect(parsed.mappedAddress == SocketAddress(text))
        }
    }

    @Test func errorCodeRoundTrips() throws {
        var message = STUNMessage(messageClass: .errorResponse, transactionID: STUNMessage.randomTransactionID())
        message.errorCode = .roleConflict
        let parsed = try STUNMessage(parsing: message.serialize(integrityKey: [1, 2, 3], addFingerprint: true))
        #expect(parsed.errorCode == STUNErrorCode(code: 487, reason: "Role Conflict"))
        message.errorCode = nil
        #expect(message.attributes.isEmpty)
    }

    @Test func settersReplaceAndRemove() {
        var message = STUNMessage(messageClass: .request, transactionID: Array(repeating: 0, count: 12))
        message.username = "a:b"
        message.username = "c:d"
        #expect(message.attributes.count == 1 && message.username == "c:d")
        message.useCandidate = true
        message.useCandidate = false
        #expect(!message.useCandidate && message.attributes.count == 1)
        message.priority = nil
        message.username = nil
        #expect(message.attributes.isEmpty)
    }
}
