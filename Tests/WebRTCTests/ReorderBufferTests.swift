import Testing
@testable import WebRTC

@Suite struct ReorderBufferTests {
    @Test func inOrderPacketsPassStraightThrough() {
        var buffer = ReorderBuffer(depth: 3)
        for sequence in UInt16(65_533)...65_535 {
            #expect(buffer.insert(sequence: sequence, payload: [UInt8(sequence & 0xFF)]) == [[UInt8(sequence & 0xFF)]])
        }
        #expect(buffer.insert(sequence: 0, payload: [0]) == [[0]])  // across the wrap
    }

    @Test func anEarlyPacketWaitsForTheOneBeforeIt() {
        var buffer = ReorderBuffer(depth: 3)
        #expect(buffer.insert(sequence: 10, payload: [10]) == [[10]])
        #expect(buffer.insert(sequence: 12, payload: [12]) == [])
        #expect(buffer.insert(sequence: 11, payload: [11]) == [[11], [12]])
        #expect(buffer.insert(sequence: 11, payload: [11]) == [])  // duplicate
    }

    @Test func aGapOutlivingTheDepthIsReportedLost() {
        var buffer = ReorderBuffer(depth: 2)
        _ = buffer.insert(sequence: 1, payload: [1])
        #expect(buffer.insert(sequence: 3, payload: [3]) == [])
        #expect(buffer.insert(sequence: 4, payload: [4]) == [nil, [3], [4]])
        #expect(buffer.insert(sequence: 2, payload: [2]) == [])  // too late
        #expect(buffer.insert(sequence: 5, payload: [5]) == [[5]])
    }
}
