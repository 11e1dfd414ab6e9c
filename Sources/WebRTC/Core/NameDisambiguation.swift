import ICE
import SDP

// SDP and ICE both name a ufrag/password pair `ICECredentials`; inside this module the name means the ICE
// agent's, and the SDP one is spelt `SDP.ICECredentials`.
typealias ICECredentials = ICE.ICECredentials
