import COpus

/// `opus_encoder_ctl` / `opus_decoder_ctl` through the fixed-argument wrappers in the COpus module (the C
/// functions are variadic, which Swift cannot call).
enum OpusControl {
    // Requests from opus_defines.h (the OPUS_SET_/GET_ macros also add type checks Swift cannot import).
    static let setBitrate: Int32 = 4002
    static let getBitrate: Int32 = 4003
    static let setInbandFEC: Int32 = 4012
    static let getInbandFEC: Int32 = 4013
    static let setPacketLossPercent: Int32 = 4014
    static let getPacketLossPercent: Int32 = 4015
    static let setDTX: Int32 = 4016
    static let getDTX: Int32 = 4017
    static let getLookahead: Int32 = 4027
    static let getLastPacketDuration: Int32 = 4039

    static func encoderSet(_ state: OpaquePointer, _ request: Int32, _ value: Int32) throws(OpusError) {
        try check(skylark_opus_encoder_set(state, request, value))
    }

    static func encoderGet(_ state: OpaquePointer, _ request: Int32) throws(OpusError) -> Int32 {
        var value: Int32 = 0
        try check(skylark_opus_encoder_get(state, request, &value))
        return value
    }

    static func encoderReset(_ state: OpaquePointer) throws(OpusError) {
        try check(skylark_opus_encoder_reset(state))
    }

    static func decoderGet(_ state: OpaquePointer, _ request: Int32) throws(OpusError) -> Int32 {
        var value: Int32 = 0
        try check(skylark_opus_decoder_get(state, request, &value))
        return value
    }

    static func decoderReset(_ state: OpaquePointer) throws(OpusError) {
        try check(skylark_opus_decoder_reset(state))
    }

    private static func check(_ result: Int32) throws(OpusError) {
        guard result == OPUS_OK else { throw OpusError(code: result) }
    }
}
