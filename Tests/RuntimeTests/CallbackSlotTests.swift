import Runtime
import SkylarkBase
import Synchronization
import Testing

@Suite struct CallbackSlotTests {
    @Test func aCallbackReadAMillionTimesStillCallsThroughOnce() {
        let calls = Atomic<Int>(0)
        let slot = CallbackSlot<@Sendable (Int, String) -> Void>({ value, text in
            if value == 7, text == "seven" { calls.add(1, ordering: .relaxed) }
        })
        // Each read of a function stored directly in a Mutex used to add two thunks; a million reads made the next
        // call a two-million-frame recursion.
        for _ in 0..<1_000_000 { _ = slot.function }
        slot.function?(7, "seven")
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func replacingAndClearing() {
        let slot = CallbackSlot<@Sendable () -> Int>()
        #expect(slot.function == nil)
        slot.function = { 1 }
        #expect(slot.function?() == 1)
        slot.function = { 2 }
        #expect(slot.function?() == 2)
        slot.function = nil
        #expect(slot.function == nil)
    }
}
