#include <opus/opus.h>

/* opus_encoder_ctl / opus_decoder_ctl are variadic, which Swift cannot call: fixed-argument wrappers. */
static inline int skylark_opus_encoder_set(OpusEncoder *state, int request, opus_int32 value) {
    return opus_encoder_ctl(state, request, value);
}
static inline int skylark_opus_encoder_get(OpusEncoder *state, int request, opus_int32 *value) {
    return opus_encoder_ctl(state, request, value);
}
static inline int skylark_opus_encoder_reset(OpusEncoder *state) {
    return opus_encoder_ctl(state, OPUS_RESET_STATE);
}
static inline int skylark_opus_decoder_get(OpusDecoder *state, int request, opus_int32 *value) {
    return opus_decoder_ctl(state, request, value);
}
static inline int skylark_opus_decoder_reset(OpusDecoder *state) {
    return opus_decoder_ctl(state, OPUS_RESET_STATE);
}
