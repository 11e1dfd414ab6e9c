// libFuzzer target: STUN messages and the ICE-lite agent that answers them (RFC 8489, RFC 8445 §7.3).
import FuzzDriver
import ICE
import SkylarkBase
import STUN

enum Fixture {
    static let credentials = ICECredentials(ufrag: "srv1", password: "server-password-for-fuzzing")
    static let remote = SocketAddress(ip: IPAddress("192.0.2.10")!, port: 50_000)
    static let local = SocketAddress(ip: .loopbackV4, port: 8189)
    /// Made on the first input and kept: state from earlier inputs (a nominated pair, consent) is fuzzed too.
    nonisolated(unsafe) static var agent: ICEAgent?
}

func fuzzSTUN(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (credentials, remote, local) = (Fixture.credentials, Fixture.remote, Fixture.local)
    let bytes = input(data, size)
    // A message that parses is also signed with the server's key and fed again: the fuzzer cannot forge
    // MESSAGE-INTEGRITY, and the code behind it (USERNAME, USE-CANDIDATE, roles, consent) is the interesting part.
    let signed = (try? STUNMessage(parsing: bytes))?.serialize(integrityKey: Array(credentials.password.utf8),
                                                               addFingerprint: true)
    _ = STUNMessage.verifyIntegrity(bytes, key: Array(credentials.password.utf8))
    _ = STUNMessage.verifyFingerprint(bytes)
    _ = ICEAgent.usernameFragments(ofRequest: bytes)
    // A lite agent like the server's, with the client's credentials known, so checks that authenticate go deep.
    if Fixture.agent == nil {
        let fresh = ICEAgent(role: .controlled, isLite: true, localCredentials: credentials)
        fresh.setRemoteCredentials(ICECredentials(ufrag: "cli1", password: "client-password-for-fuzzing"))
        fresh.addLocalCandidate(.host(address: local))
        Fixture.agent = fresh
    }
    guard let agent = Fixture.agent else { return 0 }
    _ = agent.handleReceive(bytes, from: remote, localAddress: local, now: .zero)
    if let signed {
        signed.withUnsafeBytes { _ = agent.handleReceive($0, from: remote, localAddress: local, now: .zero) }
    }
    while agent.pollTransmit() != nil {}
    while agent.pollEvent() != nil {}
    return 0
}

runFuzzer { data, size in fuzzSTUN(data, size) }
