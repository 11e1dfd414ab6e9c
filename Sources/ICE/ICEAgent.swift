import SkylarkBase
import STUN

/// A sans-IO ICE agent (RFC 8445) for one component over UDP, with trickle (RFC 8838), ICE-lite (§2.5) and
/// consent freshness (RFC 7675).
///
/// The owner feeds datagrams in with `handleReceive`, calls `handleTimeout` at `nextDeadline` (a deadline in the
/// past means "now"), and drains `pollTransmit()` and `pollEvent()` after every call. The agent never reads a clock
/// or touches a socket. Not thread-safe: the owner serializes calls.
public final class ICEAgent {
    // MARK: Timing (RFC 8445 §14, RFC 7675 §5.1)

    /// Pacing between new checks (Ta).
    static let pacing: Duration = .milliseconds(50)
    /// First retransmission timeout of a check; doubles per retransmission up to `maximumRTO`.
    static let initialRTO: Duration = .milliseconds(250)
    static let maximumRTO: Duration = .seconds(3)
    /// Transmissions of one check before its pair fails (Rc).
    static let maximumTransmissions = 7
    /// Consent checks go out every 4–6 s (randomized, RFC 7675 §5.1).
    static let consentInterval: ClosedRange<Int64> = 4000...6000
    /// Silence on the selected pair before reporting `disconnected`.
    static let disconnectedTimeout: Duration = .seconds(8)
    /// Silence on the selected pair before consent is lost (RFC 7675 §5.1), and the longest checking phase.
    static let consentTimeout: Duration = .seconds(30)
    static let checkingTimeout: Duration = .seconds(30)
    /// Bounds on state a peer can make us keep.
    static let maximumRemoteCandidates = 100
    static let maximumPairs = 100

    // MARK: Public state

    /// The current role; changes on `setRole` or after a role conflict (RFC 8445 §7.3.1.1).
    public private(set) var role: ICERole
    /// An ICE-lite agent (RFC 8445 §2.5) never sends checks and is always controlled.
    public let isLite: Bool
    public private(set) var localCredentials: ICECredentials
    public private(set) var remoteCredentials: ICECredentials?
    public private(set) var state: ICEConnectionState = .new
    /// The pair media flows on: the nominated pair, or the previous one during an ICE restart.
    public private(set) var selectedPair: (local: ICECandidate, remote: ICECandidate)?
    public private(set) var stats = ICEStats()

    // MARK: Private state

    private let tieBreaker: UInt64

    private struct PairKey: Hashable {
        var local: SocketAddress
        var remote: SocketAddress
    }

    private enum PairState { case waiting, inProgress, succeeded, failed }

    private struct Pair {
        var local: ICECandidate
        var remote: ICECandidate
        var key: PairKey
        var priority: UInt64 = 0
        var state: PairState = .waiting
        /// Controlled: the peer sent USE-CANDIDATE on this pair; controlling: our USE-CANDIDATE check succeeded.
        var nominated = false
        var roundTripTime: Duration?
    }

    private struct Transaction {
        var key: PairKey
        var bytes: [UInt8]
        var integrityKey: [UInt8]
        var sentRole: ICERole
        var useCandidate: Bool
        var isConsent: Bool
        var firstSent: Instant
        var nextRetransmit: Instant
        var rto: Duration
        var transmissions: Int
    }

    private var localCandidates: [ICECandidate] = []
    private var remoteCandidates: [ICECandidate] = []
    /// Where each remote transport address (with its component) is in `remoteCandidates`: trickle and every
    /// incoming check look candidates up by address, and `ICECandidate.address` parses its IP each time.
    private var remoteCandidateIndex: [RemoteKey: Int] = [:]
    private struct RemoteKey: Hashable {
        var address: SocketAddress
        var component: Int
    }
    private var remoteEndOfCandidates = false
    private var pairs: [Pair] = []
    private var triggeredQueue: [PairKey] = []
    private var transactions: [[UInt8]: Transaction] = [:]

    private var selectedKey: PairKey?
    /// Controlling: the pair whose USE-CANDIDATE check is in flight.
    private var nominating: PairKey?
    /// During an ICE restart the old selected pair stays usable until a new one is selected (RFC 8445 §9).
    private var restarting = false
    private var restartNeedsTimestamp = false

    private var latestNow: Instant?
    private var nextCheckAt: Instant?
    private var checkingSince: Instant?
    private var nextConsentAt: Instant?
    /// The last proof of consent on the selected pair: a response to our check (full) or a request (lite).
    private var lastConsent: Instant?
    private var stateBeforeDisconnect: ICEConnectionState = .connected

    private var random: any RandomNumberGenerator
    private var transmits: [ICETransmit] = []
    private var transmitHead = 0
    private var events: [ICEEvent] = []
    private var eventHead = 0

    /// - Parameters:
    ///   - role: the initial role (a lite agent is always controlled).
    ///   - tieBreaker: for role conflicts (RFC 8445 §7.3.1.1); drawn from `random` by default.
    ///   - random: where transaction IDs, the tie-breaker and consent intervals come from: the system CSPRNG
    ///     unless a test passes a seeded generator.
    public init(role: ICERole, isLite: Bool = false, localCredentials: ICECredentials, tieBreaker: UInt64? = nil,
                random: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.role = isLite ? .controlled : role
        self.isLite = isLite
        self.localCredentials = localCredentials
        self.random = random
        self.tieBreaker = tieBreaker ?? .random(in: 0 ... .max, using: &self.random)
    }

    // MARK: - Configuration

    /// Sets the role (e.g. from the offer/answer exchange). Ignored by a lite agent.
    public func setRole(_ role: ICERole) {
        guard !isLite, role != self.role else { return }
        switchRole(to: role)
    }

    public func setRemoteCredentials(_ credentials: ICECredentials) {
        remoteCredentials = credentials
    }

    /// Adds a local host candidate; its address is its base. Non-UDP and unresolved candidates are ignored.
    public func addLocalCandidate(_ candidate: ICECandidate) {
        guard state != .closed, candidate.transport.lowercased() == "udp", let address = candidate.address,
              !localCandidates.contains(where: { $0.address == address && $0.component == candidate.component })
        else { return }
        localCandidates.append(candidate)
        guard !isLite else { return }
        for remote in remoteCandidates { formPair(local: candidate, remote: remote) }
    }

    /// Adds a remote candidate, at any time (trickle, RFC 8838). Duplicates, non-UDP and unresolvable (mDNS)
    /// candidates are ignored. A signalled candidate replaces a peer-reflexive one learnt for the same address.
    public func addRemoteCandidate(_ candidate: ICECandidate) {
        guard state != .closed, candidate.transport.lowercased() == "udp", let address = candidate.address else {
            return
        }
        if let index = remoteCandidateIndex[RemoteKey(address: address, component: candidate.component)] {
            // RFC 8445 §7.3.1.3: the signalled candidate supersedes the peer-reflexive one.
            guard remoteCandidates[index].kind == .prflx, candidate.kind != .prflx else { return }
            remoteCandidates[index] = candidate
            for i in pairs.indices where pairs[i].key.remote == address { pairs[i].remote = candidate }
            if let selectedPair, selectedPair.remote.address == address, selectedPair.remote.kind == .prflx {
                self.selectedPair = (selectedPair.local, candidate)
            }
            return
        }
        guard appendRemoteCandidate(candidate, address: address) else { return }
        guard !isLite else { return }
        for local in localCandidates { formPair(local: local, remote: candidate) }
    }

    /// The peer signalled end-of-candidates (RFC 8838 §4): lets the agent conclude `completed` or `failed`.
    public func setRemoteEndOfCandidates() {
        remoteEndOfCandidates = true
    }

    /// ICE restart (RFC 8445 §9): new local credentials; remote credentials, candidates, pairs and checks are
    /// cleared. The selected pair stays usable for media until a new pair is selected.
    public func restart(localCredentials: ICECredentials) {
        guard state != .closed else { return }
        self.localCredentials = localCredentials
        remoteCredentials = nil
        remoteCandidates = []
        remoteCandidateIndex = [:]
        remoteEndOfCandidates = false
        pairs = []
        triggeredQueue = []
        transactions = [:]
        nominating = nil
        nextCheckAt = nil
        nextConsentAt = nil
        restartNeedsTimestamp = true
        if selectedKey != nil {
            restarting = true
            switch state {
            case .completed: setState(.connected)
            case .failed: setState(.checking)
            default: break
            }
        } else {
            checkingSince = nil
            setState(.new)
        }
    }

    /// Stops the agent: no more transmits, events after `closed`, or processing of datagrams.
    public func close() {
        guard state != .closed else { return }
        transactions = [:]
        triggeredQueue = []
        transmits = []
        transmitHead = 0
        setState(.closed)
    }

    // MARK: - Output

    /// The next datagram to send, or nil.
    public func pollTransmit() -> ICETransmit? {
        guard transmitHead < transmits.count else { return nil }
        let transmit = transmits[transmitHead]
        transmitHead += 1
        if transmitHead == transmits.count { transmits.removeAll(keepingCapacity: true); transmitHead = 0 }
        return transmit
    }

    /// The next event, or nil.
    public func pollEvent() -> ICEEvent? {
        guard eventHead < events.count else { return nil }
        let event = events[eventHead]
        eventHead += 1
        if eventHead == events.count { events.removeAll(keepingCapacity: true); eventHead = 0 }
        return event
    }

    /// When `handleTimeout` must be called next; nil when nothing is scheduled. May be in the past (call now).
    public var nextDeadline: Instant? {
        guard state != .closed, state != .failed else { return nil }
        let now = latestNow ?? .zero
        var deadline: Instant?
        func consider(_ instant: Instant) {
            if deadline.map({ instant < $0 }) ?? true { deadline = instant }
        }
        if restartNeedsTimestamp || (state == .new && !isLite && remoteCredentials != nil) { consider(now) }
        for transaction in transactions.values { consider(transaction.nextRetransmit) }
        if !isLite, remoteCredentials != nil {
            let wantsOrdinaryCheck = (selectedKey == nil || restarting) && pairs.contains { $0.state == .waiting }
            if !triggeredQueue.isEmpty || wantsOrdinaryCheck { consider(nextCheckAt ?? now) }
            if role == .controlling, let nominating, triggeredQueue.contains(nominating) { consider(now) }
            if wantsNomination { consider(now) }
            if selectedKey != nil, !restarting { consider(nextConsentAt ?? now) }
        }
        if selectedKey != nil, !restarting, let lastConsent {
            consider(lastConsent + Self.consentTimeout)
            if state != .disconnected { consider(lastConsent + Self.disconnectedTimeout) }
        }
        if selectedKey == nil || restarting, state == .checking || restarting, let checkingSince {
            consider(checkingSince + Self.checkingTimeout)
        }
        return deadline
    }

    // MARK: - Input

    /// Runs timers due at `now`: paced checks, retransmissions, nomination, consent and state changes.
    public func handleTimeout(now: Instant) {
        guard state != .closed else { return }
        noteTime(now)
        if state == .failed { return }
        if state == .new, !isLite, remoteCredentials != nil { enterChecking(now) }
        runRetransmissions(now)
        startNominationIfNeeded()
        runPacedCheck(now)
        runConsent(now)
        updateState(now)
    }

    /// Processes one received datagram. Returns false (and changes nothing but the rejection counters) when it is
    /// not a STUN message for this agent: garbage, another method, an unknown transaction, a wrong ufrag or failed
    /// MESSAGE-INTEGRITY / FINGERPRINT.
    ///
    /// `localAddress` is the local candidate's address the datagram arrived on (not a wildcard): responses are only
    /// accepted on the address their request left from (RFC 8445 §7.2.5.2.1).
    public func handleReceive(_ datagram: UnsafeRawBufferPointer, from remote: SocketAddress,
                              localAddress: SocketAddress, now: Instant) -> Bool {
        guard state != .closed, STUNMessage.isSTUN(datagram),
              let message = try? STUNMessage(parsing: datagram),
              message.method == STUNMessage.bindingMethod else { return false }
        noteTime(now)
        // RFC 8445 §7.2.2: ICE messages carry FINGERPRINT; when present it must verify.
        if message.fingerprint != nil, !STUNMessage.verifyFingerprint(datagram) {
            stats.rejectedFingerprint += 1
            return false
        }
        let handled: Bool
        switch message.messageClass {
        case .request:
            handled = handleRequest(message, datagram, from: remote, local: localAddress, now: now)
        case .successResponse, .errorResponse:
            handled = handleResponse(message, datagram, from: remote, local: localAddress, now: now)
        case .indication:
            handled = true  // Binding indications are keepalives (RFC 8445 §11); nothing to do.
        }
        if handled { handleTimeout(now: now) }
        return handled
    }

    /// The `(local, remote)` fragments of a Binding request's USERNAME `"<receiver ufrag>:<sender ufrag>"`, without
    /// checking integrity — for servers that demultiplex one shared port by ufrag before picking the agent.
    public static func usernameFragments(ofRequest datagram: UnsafeRawBufferPointer) -> (local: String, remote: String)? {
        guard STUNMessage.isSTUN(datagram), let message = try? STUNMessage(parsing: datagram),
              message.messageClass == .request, message.method == STUNMessage.bindingMethod,
              let username = message.username, let colon = username.firstIndex(of: ":") else { return nil }
        let local = String(username[..<colon])
        let remote = String(username[username.index(after: colon)...])
        guard !local.isEmpty else { return nil }
        return (local, remote)
    }

    // MARK: - Requests (RFC 8445 §7.3)

    private func handleRequest(_ message: STUNMessage, _ datagram: UnsafeRawBufferPointer, from: SocketAddress,
                               local: SocketAddress, now: Instant) -> Bool {
        guard let username = message.username, let colon = username.firstIndex(of: ":"),
              username[..<colon] == localCredentials.ufrag else {
            stats.rejectedUsername += 1
            return false
        }
        // RFC 8445 §7.3: short-term credentials, keyed with our password.
        guard STUNMessage.verifyIntegrity(datagram, key: Array(localCredentials.password.utf8)) else {
            stats.rejectedIntegrity += 1
            return false
        }
        stats.requestsReceived += 1
        if state == .failed { return true }
        enterChecking(now)

        // RFC 8445 §7.3.1.1: role conflicts. A lite agent is always controlled; a controlled peer must switch.
        if isLite {
            if message.iceControlled != nil {
                sendError(.roleConflict, to: message, from: from, local: local)
                return true
            }
        } else if role == .controlling, let theirs = message.iceControlling {
            if tieBreaker >= theirs {
                sendError(.roleConflict, to: message, from: from, local: local)
                return true
            }
            switchRole(to: .controlled)
        } else if role == .controlled, let theirs = message.iceControlled {
            if tieBreaker >= theirs {
                switchRole(to: .controlling)
            } else {
                sendError(.roleConflict, to: message, from: from, local: local)
                return true
            }
        }

        sendSuccess(to: message, from: from, local: local)

        let localCandidate = localCandidates.first { $0.address == local }
        let component = localCandidate?.component ?? 1
        let remoteCandidate = remoteCandidateIndex[RemoteKey(address: from, component: component)].map { remoteCandidates[$0] }
            ?? learnPeerReflexive(from, priority: message.priority, component: component)

        if isLite {
            // RFC 8445 §2.5: a lite agent has no checks; the controlling peer's USE-CANDIDATE selects the pair.
            let key = PairKey(local: local, remote: from)
            if key == selectedKey, !restarting { noteConsent(now) }
            if message.useCandidate, key != selectedKey || restarting {
                select(key: key, local: localCandidate ?? ICECandidate.host(address: local, component: component),
                       remote: remoteCandidate, roundTripTime: nil, now: now)
            }
            return true
        }

        // A request on a socket that is not one of our candidates was answered, but forms no pair.
        guard let localCandidate else { return true }

        // RFC 8445 §7.3.1.4: triggered check on the pair the request arrived on.
        let key = PairKey(local: local, remote: from)
        if pairIndex(key) == nil { formPair(local: localCandidate, remote: remoteCandidate) }
        guard let index = pairIndex(key) else { return true }
        switch pairs[index].state {
        case .succeeded, .inProgress:
            break
        case .waiting, .failed:
            pairs[index].state = .waiting
            enqueueTriggered(key)
        }
        // RFC 8445 §7.3.1.5: the controlled agent notes nominations and selects once the pair is valid.
        if message.useCandidate, role == .controlled {
            pairs[index].nominated = true
            if pairs[index].state == .succeeded, key != selectedKey || restarting {
                select(index: index, now: now)
            }
        }
        return true
    }

    private func learnPeerReflexive(_ address: SocketAddress, priority: UInt32?, component: Int) -> ICECandidate {
        let candidate = ICECandidate(
            foundation: ICECandidate.foundation(kind: .prflx, transport: "udp", baseIP: address.ip),
            component: component,
            priority: priority ?? ICECandidate.priority(kind: .prflx, localPreference: 65535, component: component),
            connectionAddress: address.ip.description, port: address.port, kind: .prflx)
        appendRemoteCandidate(candidate, address: address)
        return candidate
    }

    /// Adds a remote candidate unless there are `maximumRemoteCandidates` already; says whether it did.
    @discardableResult
    private func appendRemoteCandidate(_ candidate: ICECandidate, address: SocketAddress) -> Bool {
        guard remoteCandidates.count < Self.maximumRemoteCandidates else { return false }
        remoteCandidateIndex[RemoteKey(address: address, component: candidate.component)] = remoteCandidates.count
        remoteCandidates.append(candidate)
        return true
    }

    private func sendSuccess(to request: STUNMessage, from: SocketAddress, local: SocketAddress) {
        var response = STUNMessage(messageClass: .successResponse, transactionID: request.transactionID)
        response.xorMappedAddress = from
        send(response, key: Array(localCredentials.password.utf8), from: local, to: from)
    }

    private func sendError(_ error: STUNErrorCode, to request: STUNMessage, from: SocketAddress, local: SocketAddress) {
        var response = STUNMessage(messageClass: .errorResponse, transactionID: request.transactionID)
        response.errorCode = error
        send(response, key: Array(localCredentials.password.utf8), from: local, to: from)
    }

    private func send(_ response: STUNMessage, key: [UInt8], from local: SocketAddress, to remote: SocketAddress) {
        let bytes = response.serialize(integrityKey: key, addFingerprint: true)
        transmits.append(ICETransmit(source: local, destination: remote, bytes: bytes))
        stats.responsesSent += 1
    }

    // MARK: - Responses (RFC 8445 §7.2.5)

    private func handleResponse(_ message: STUNMessage, _ datagram: UnsafeRawBufferPointer, from: SocketAddress,
                                local: SocketAddress, now: Instant) -> Bool {
        guard let transaction = transactions[message.transactionID] else { return false }
        guard STUNMessage.verifyIntegrity(datagram, key: transaction.integrityKey) else {
            stats.rejectedIntegrity += 1
            return false
        }
        transactions[message.transactionID] = nil
        stats.responsesReceived += 1
        guard let index = pairIndex(transaction.key) else { return true }

        // RFC 8445 §7.2.5.2.1: the response must come back on the same addresses the request used.
        guard from == transaction.key.remote, local == transaction.key.local else {
            if !transaction.isConsent { failPair(index) }
            return true
        }

        if message.messageClass == .errorResponse {
            if message.errorCode?.code == STUNErrorCode.roleConflict.code, !transaction.isConsent {
                // RFC 8445 §7.2.5.1: switch roles (unless already done) and retry the pair as a triggered check.
                if role == transaction.sentRole {
                    switchRole(to: transaction.sentRole == .controlling ? .controlled : .controlling)
                }
                if nominating == transaction.key { nominating = nil }
                if pairs[index].state != .succeeded { pairs[index].state = .waiting }
                enqueueTriggered(transaction.key)
            } else if !transaction.isConsent {
                failPair(index)
            }
            return true
        }

        let roundTripTime = transaction.transmissions == 1 ? now - transaction.firstSent : nil
        if transaction.key == selectedKey, !restarting {
            noteConsent(now)
            if let roundTripTime {
                pairs[index].roundTripTime = roundTripTime
                stats.roundTripTime = roundTripTime
            }
        }
        if transaction.isConsent { return true }

        // RFC 8445 §7.2.5.3: the pair becomes valid. (A mapped address differing from the base would be a local
        // peer-reflexive candidate; host-only agents send from the base either way, so the pair is reported as is.)
        pairs[index].state = .succeeded
        if let roundTripTime { pairs[index].roundTripTime = roundTripTime }
        if role == .controlling, transaction.useCandidate {
            pairs[index].nominated = true
            if nominating == transaction.key { nominating = nil }
            select(index: index, now: now)
        } else if role == .controlled, pairs[index].nominated, transaction.key != selectedKey || restarting {
            select(index: index, now: now)
        }
        return true
    }

    // MARK: - Timers

    private func noteTime(_ now: Instant) {
        if latestNow.map({ now > $0 }) ?? true { latestNow = now }
        if restartNeedsTimestamp {
            restartNeedsTimestamp = false
            checkingSince = now
        }
    }

    private func runRetransmissions(_ now: Instant) {
        for (id, transaction) in transactions where transaction.nextRetransmit <= now {
            if transaction.transmissions >= Self.maximumTransmissions {
                transactions[id] = nil
                if !transaction.isConsent, let index = pairIndex(transaction.key) { failPair(index) }
                continue
            }
            var updated = transaction
            updated.transmissions += 1
            updated.rto = min(updated.rto * 2, Self.maximumRTO)
            updated.nextRetransmit = now + updated.rto
            transactions[id] = updated
            transmits.append(ICETransmit(source: transaction.key.local, destination: transaction.key.remote,
                                         bytes: transaction.bytes))
            stats.requestsSent += 1
        }
    }

    /// Controlling: nominate the best valid pair once there is one (regular nomination, RFC 8445 §8.1.1).
    private var wantsNomination: Bool {
        !isLite && role == .controlling && nominating == nil && (selectedKey == nil || restarting)
            && pairs.contains { $0.state == .succeeded }
    }

    private func startNominationIfNeeded() {
        guard wantsNomination, remoteCredentials != nil else { return }
        var best: Int?
        for index in pairs.indices where pairs[index].state == .succeeded {
            if best.map({ pairs[index].priority > pairs[$0].priority }) ?? true { best = index }
        }
        guard let best else { return }
        nominating = pairs[best].key
        enqueueTriggered(pairs[best].key, first: true)
    }

    /// One new check per Ta: the triggered queue first, then the highest-priority waiting pair (RFC 8445 §6.1.4.2).
    private func runPacedCheck(_ now: Instant) {
        guard !isLite, remoteCredentials != nil else { return }
        // The nomination goes out at once rather than after Ta: its pair has already succeeded, so it probes
        // nothing new, and waiting would add Ta to every connection's setup (RFC 8445 §8.1.1 regular nomination).
        if role == .controlling, let nominating, let position = triggeredQueue.firstIndex(of: nominating),
           let index = pairIndex(nominating) {
            triggeredQueue.remove(at: position)
            sendCheck(index: index, useCandidate: true, isConsent: false, now: now)
            return
        }
        if let nextCheckAt, now < nextCheckAt { return }
        while !triggeredQueue.isEmpty {
            let key = triggeredQueue.removeFirst()
            guard let index = pairIndex(key) else { continue }
            let useCandidate = role == .controlling && nominating == key
            // A pair already being checked keeps its transaction, unless this is the nomination.
            if pairs[index].state == .inProgress, !useCandidate { continue }
            sendCheck(index: index, useCandidate: useCandidate, isConsent: false, now: now)
            nextCheckAt = now + Self.pacing
            return
        }
        guard selectedKey == nil || restarting else { return }
        var best: Int?
        for index in pairs.indices where pairs[index].state == .waiting {
            if best.map({ pairs[index].priority > pairs[$0].priority }) ?? true { best = index }
        }
        guard let best else { return }
        sendCheck(index: best, useCandidate: false, isConsent: false, now: now)
        nextCheckAt = now + Self.pacing
    }

    private func sendCheck(index: Int, useCandidate: Bool, isConsent: Bool, now: Instant) {
        guard let credentials = remoteCredentials else { return }
        let pair = pairs[index]
        var request = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID(using: &random))
        // RFC 8445 §7.2.2: USERNAME is "<remote ufrag>:<local ufrag>"; §7.1.1 PRIORITY as if peer-reflexive.
        request.username = credentials.ufrag + ":" + localCredentials.ufrag
        request.priority = ICECandidate.priority(kind: .prflx, localPreference: UInt16(truncatingIfNeeded: pair.local.priority >> 8),
                                                 component: pair.local.component)
        if role == .controlling {
            request.iceControlling = tieBreaker
        } else {
            request.iceControlled = tieBreaker
        }
        if useCandidate { request.useCandidate = true }
        let key = Array(credentials.password.utf8)
        let bytes = request.serialize(integrityKey: key, addFingerprint: true)
        transactions[request.transactionID] = Transaction(
            key: pair.key, bytes: bytes, integrityKey: key, sentRole: role, useCandidate: useCandidate,
            isConsent: isConsent, firstSent: now, nextRetransmit: now + Self.initialRTO, rto: Self.initialRTO,
            transmissions: 1)
        transmits.append(ICETransmit(source: pair.key.local, destination: pair.key.remote, bytes: bytes))
        stats.requestsSent += 1
        if !isConsent, pairs[index].state != .succeeded { pairs[index].state = .inProgress }
        enterChecking(now)
    }

    /// RFC 7675: full agents check consent on the selected pair every 4–6 s.
    private func runConsent(_ now: Instant) {
        guard !isLite, !restarting, let selectedKey, remoteCredentials != nil,
              state == .connected || state == .completed || state == .disconnected else { return }
        guard let due = nextConsentAt else {
            nextConsentAt = now + randomConsentInterval()
            return
        }
        guard now >= due else { return }
        nextConsentAt = now + randomConsentInterval()
        if pairIndex(selectedKey) == nil { return }
        // One consent transaction at a time; a pending one keeps retransmitting.
        if transactions.values.contains(where: { $0.isConsent }) { return }
        if let index = pairIndex(selectedKey) {
            sendCheck(index: index, useCandidate: false, isConsent: true, now: now)
            stats.consentRequestsSent += 1
        }
    }

    private func randomConsentInterval() -> Duration {
        .milliseconds(Int64.random(in: Self.consentInterval, using: &random))
    }

    private func noteConsent(_ now: Instant) {
        lastConsent = now
        if state == .disconnected { setState(stateBeforeDisconnect) }
    }

    // MARK: - State

    private func updateState(_ now: Instant) {
        if selectedKey != nil, !restarting {
            // RFC 7675 §5.1: consent lost after 30 s without a response (or, lite, without a request).
            if let lastConsent {
                let silence = now - lastConsent
                if silence >= Self.consentTimeout {
                    setState(.failed)
                    return
                }
                if silence >= Self.disconnectedTimeout, state == .connected || state == .completed {
                    stateBeforeDisconnect = state
                    setState(.disconnected)
                }
            }
            if state == .connected, remoteEndOfCandidates, selectedIsNominated { setState(.completed) }
            return
        }
        guard state == .checking || restarting else { return }
        let allFailed = !pairs.isEmpty && pairs.allSatisfy { $0.state == .failed }
        // Without any pair, a peer-reflexive candidate may still show up (e.g. a peer with only mDNS candidates),
        // so that case waits for the checking timeout.
        if !isLite, remoteEndOfCandidates, remoteCredentials != nil, allFailed,
           !transactions.values.contains(where: { !$0.isConsent }) {
            setState(.failed)
            return
        }
        if let checkingSince, now - checkingSince >= Self.checkingTimeout { setState(.failed) }
    }

    private var selectedIsNominated: Bool {
        guard let selectedKey else { return false }
        if isLite { return true }
        return pairIndex(selectedKey).map { pairs[$0].nominated } ?? false
    }

    private func enterChecking(_ now: Instant) {
        guard state == .new else { return }
        checkingSince = now
        setState(.checking)
    }

    private func setState(_ newState: ICEConnectionState) {
        guard newState != state else { return }
        state = newState
        events.append(.connectionStateChanged(newState))
    }

    private func switchRole(to newRole: ICERole) {
        role = newRole
        for index in pairs.indices {
            pairs[index].priority = pairPriority(local: pairs[index].local, remote: pairs[index].remote)
        }
        if newRole == .controlled { nominating = nil }
        events.append(.roleChanged(newRole))
    }

    private func select(index: Int, now: Instant) {
        let pair = pairs[index]
        select(key: pair.key, local: pair.local, remote: pair.remote, roundTripTime: pair.roundTripTime, now: now)
    }

    private func select(key: PairKey, local: ICECandidate, remote: ICECandidate, roundTripTime: Duration?,
                        now: Instant) {
        guard state != .failed, state != .closed else { return }
        selectedKey = key
        selectedPair = (local, remote)
        restarting = false
        lastConsent = now
        nextConsentAt = nil
        if let roundTripTime { stats.roundTripTime = roundTripTime }
        events.append(.selectedPairChanged(local: local, remote: remote))
        setState(.connected)
    }

    // MARK: - Pairs (RFC 8445 §6.1.2)

    private func pairIndex(_ key: PairKey) -> Int? {
        pairs.firstIndex { $0.key == key }
    }

    private func formPair(local: ICECandidate, remote: ICECandidate) {
        guard let localAddress = local.address, let remoteAddress = remote.address,
              local.component == remote.component, localAddress.ip.isIPv4 == remoteAddress.ip.isIPv4,
              pairs.count < Self.maximumPairs else { return }
        let key = PairKey(local: localAddress, remote: remoteAddress)
        guard pairIndex(key) == nil else { return }
        var pair = Pair(local: local, remote: remote, key: key)
        pair.priority = pairPriority(local: local, remote: remote)
        pairs.append(pair)
    }

    /// RFC 8445 §6.1.2.3: 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0), G the controlling side's priority.
    private func pairPriority(local: ICECandidate, remote: ICECandidate) -> UInt64 {
        let g = UInt64(role == .controlling ? local.priority : remote.priority)
        let d = UInt64(role == .controlling ? remote.priority : local.priority)
        return (min(g, d) << 32) + 2 * max(g, d) + (g > d ? 1 : 0)
    }

    private func failPair(_ index: Int) {
        pairs[index].state = .failed
        if nominating == pairs[index].key { nominating = nil }
    }

    private func enqueueTriggered(_ key: PairKey, first: Bool = false) {
        triggeredQueue.removeAll { $0 == key }
        if first {
            triggeredQueue.insert(key, at: 0)
        } else {
            triggeredQueue.append(key)
        }
    }
}
