import SkylarkBase
import Testing

@Suite struct ConstantTimeTests {
    @Test(arguments: [("secret", "secret", true), ("secret", "secreT", false), ("secret", "secret2", false),
                      ("", "", true), ("", "x", false), ("tok\u{e9}n", "tok\u{e9}n", true)])
    func equalOnlyWhenEveryByteIs(_ a: String, _ b: String, _ equal: Bool) {
        #expect(constantTimeEqual(a, b) == equal)
        #expect(constantTimeEqual(b, a) == equal)
    }
}
