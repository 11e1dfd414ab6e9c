/// The common supertype of the package's objects (the reference's `webrtc.WebRTCObject`, the base class of every
/// W3C object it wraps). It has no requirements: Swift objects own their state directly, so there is no native
/// handle to expose. Use `any WebRTCObject` to hold objects of the package of different kinds together.
public protocol WebRTCObject: Sendable {}

extension RTCPeerConnection: WebRTCObject {}
extension MediaStream: WebRTCObject {}
extension MediaStreamTrack: WebRTCObject {}
extension RTCAudioSource: WebRTCObject {}
extension RTCOnDataEvent: WebRTCObject {}
extension RTCDtlsTransport: WebRTCObject {}
extension RTCIceTransport: WebRTCObject {}
extension RTCSctpTransport: WebRTCObject {}
extension RTCRtpSender: WebRTCObject {}
extension RTCRtpReceiver: WebRTCObject {}
extension RTCRtpTransceiver: WebRTCObject {}
extension RTCSessionDescription: WebRTCObject {}
extension RTCSessionDescriptionInit: WebRTCObject {}
extension RtpEncodingParameters: WebRTCObject {}
extension RtpTransceiverInit: WebRTCObject {}
