import Synchronization

/// A callback that any thread may replace or call.
///
/// Keep callbacks here rather than in `Mutex<(...) -> Void>`: reading a function-typed value with
/// `withLock { $0 }` reabstracts the stored closure in place, so each read wraps it in two more thunks and every
/// later call runs through all of them — slower with each read, until the stack overflows. Behind a struct the
/// stored closure is never rewritten.
public final class CallbackSlot<Function: Sendable>: Sendable {
    private struct Stored: Sendable {
        var function: Function?
    }

    private let stored = Mutex(Stored())

    public init(_ function: Function? = nil) {
        stored.withLock { $0.function = function }
    }

    /// The current callback; nil when none is set.
    public var function: Function? {
        get { stored.withLock { $0.function } }
        set { stored.withLock { $0.function = newValue } }
    }
}
