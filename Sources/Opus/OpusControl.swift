import COpus
import Glibc

/// Access to `opus_encoder_ctl` / `opus_decoder_ctl`.
///
/// They are C variadic functions, which Swift cannot call, and the COpus module carries no wrappers for them. On the
/// Linux ABIs (x86-64 System V and AArch64 AAPCS64) variadic integer and pointer arguments travel in the same
/// registers as fixed ones, so calling the symbol through a fixed-argument C function type is equivalent for the
/// `(state, request, int)` and `(state, request, int *)` shapes used here. Other platforms (Apple arm64 passes
/// variadic arguments on the stack) get `OpusError.unimplemented` instead.
enum OpusControl {
    typealias SetInt = @convention(c) (OpaquePointer, Int32, Int32) -> Int32
    typealias GetInt = @convention(c) (OpaquePointer, Int32, UnsafeMutablePointer<Int32>) -> Int32
    typealias NoArgument = @convention(c) (OpaquePointer, Int32) -> Int32

    // Requests from opus_defines.h.
    static let setBitrate: Int32 = 4002
    static let getBitrate: Int32 = 4003
    static let setInbandFEC: Int32 = 4012
    static let getInbandFEC: Int32 = 4013
    static let setPacketLossPercent: Int32 = 4014
    static let getPacketLossPercent: Int32 = 4015
    static let setDTX: Int32 = 4016
    static let getDTX: Int32 = 4017
    static let getLookahead: Int32 = 4027
    static let resetState: Int32 = 4028
    static let getLastPacketDuration: Int32 = 4039

    #if os(Linux) && (arch(x86_64) || arch(arm64))
    // Immutable after the lazy, once-only global initialisation.
    nonisolated(unsafe) private static let encoderControl: UnsafeMutableRawPointer? = symbol("opus_encoder_ctl")
    nonisolated(unsafe) private static let decoderControl: UnsafeMutableRawPointer? = symbol("opus_decoder_ctl")
    #else
    nonisolated(unsafe) private static let encoderControl: UnsafeMutableRawPointer? = nil
    nonisolated(unsafe) private static let decoderControl: UnsafeMutableRawPointer? = nil
    #endif

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(dlopen(nil, RTLD_NOW), name)
    }

    static func encoderSet(_ state: OpaquePointer, _ request: Int32, _ value: Int32) throws(OpusError) {
        guard let function = encoderControl else { throw .unimplemented }
        try check(unsafeBitCast(function, to: SetInt.self)(state, request, value))
    }

    static func encoderGet(_ state: OpaquePointer, _ request: Int32) throws(OpusError) -> Int32 {
        guard let function = encoderControl else { throw .unimplemented }
        var value: Int32 = 0
        try check(unsafeBitCast(function, to: GetInt.self)(state, request, &value))
        return value
    }

    static func encoderReset(_ state: OpaquePointer) throws(OpusError) {
        guard let function = encoderControl else { throw .unimplemented }
        try check(unsafeBitCast(function, to: NoArgument.self)(state, resetState))
    }

    static func decoderGet(_ state: OpaquePointer, _ request: Int32) throws(OpusError) -> Int32 {
        guard let function = decoderControl else { throw .unimplemented }
        var value: Int32 = 0
        try check(unsafeBitCast(function, to: GetInt.self)(state, request, &value))
        return value
    }

    static func decoderReset(_ state: OpaquePointer) throws(OpusError) {
        guard let function = decoderControl else { throw .unimplemented }
        try check(unsafeBitCast(function, to: NoArgument.self)(state, resetState))
    }

    private static func check(_ result: Int32) throws(OpusError) {
        guard result == OPUS_OK else { throw OpusError(code: result) }
    }
}
