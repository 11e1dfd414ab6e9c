import Testing
@testable import RTP
@Test func smoke() { #expect(SequenceNumberUnwrapper().peek(3) == 3) }
