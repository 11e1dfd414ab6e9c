import DTLS
import ICE
import SDP
import SkylarkBase
import UDPRuntime
import Transport

/// JSEP (RFC 8829): building offers and answers, and applying local and remote descriptions.
extension RTCPeerConnection {
    /// Creates an offer for the current transceivers (RFC 8829 §5.2.1).
    public func createOffer() async throws -> RTCSessionDescription {
        try await onQueueAsync { try self.makeOffer() }
    }

    /// Creates an answer to the remote offer (RFC 8829 §5.3.1).
    public func createAnswer() async throws -> RTCSessionDescription {
        try await onQueueAsync { try self.makeAnswer() }
    }

    /// Sets the local description; gathers host candidates and starts ICE. With no argument, creates the offer or
    /// answer that the signaling state calls for (W3C implicit description).
    public func setLocalDescription(_ description: RTCSessionDescription? = nil) async throws {
        try await onQueueAsync { try self.applyLocal(description) }
    }

    /// Sets the local description from an initializer.
    public func setLocalDescription(_ initializer: RTCSessionDescriptionInit) async throws {
        try await setLocalDescription(RTCSessionDescription(initializer))
    }

    /// Sets the remote description. Throws `SdpParseException` for SDP that cannot be read, `RTCException` for
    /// a description that does not fit the signaling state or cannot be used.
    public func setRemoteDescription(_ description: RTCSessionDescription) async throws {
        try await onQueueAsync { try self.applyRemote(description) }
    }

    /// Sets the remote description from an initializer.
    public func setRemoteDescription(_ initializer: RTCSessionDescriptionInit) async throws {
        try await setRemoteDescription(RTCSessionDescription(initializer))
    }

    /// Adds a trickled remote candidate (RFC 8838); an empty candidate string marks the end of candidates.
    public func addIceCandidate(_ candidate: RTCIceCandidate) async throws {
        try await onQueueAsync {
            guard !self.isClosed else { throw RTCException.invalidState("the connection is closed") }
            guard self.pendingRemote ?? self.currentRemote != nil, let transport = self.transport else {
                throw RTCException.invalidState("addIceCandidate needs a remote description first")
            }
            let value = candidate.candidate.hasPrefix("a=") ? String(candidate.candidate.dropFirst(2)) : candidate.candidate
            if value.isEmpty {
                transport.ice.setRemoteEndOfCandidates()
            } else {
                let parsed: ICECandidate
                do { parsed = try ICECandidate(parsing: value) } catch {
                    throw RTCException.operation("cannot read candidate \"\(value)\": \(error)")
                }
                transport.ice.addRemoteCandidate(parsed)
            }
            self.pump()
        }
    }

    // MARK: - Offer / answer

    func makeOffer() throws -> RTCSessionDescription {
        guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
        if iceRestartPending {
            localCredentials = ICECredentials.random()
        }
        var sections: [SessionDescriptionWriter.Section] = []
        for transceiver in transceivers {
            let state = transceiver.state.withLock { $0 }
            if state.mid == nil {
                if state.stopped { continue }
                let mid = uniqueMid()
                transceiver.state.withLock { $0.mid = mid }
            }
            sections.append(section(for: transceiver, rejected: state.stopped || transceiver.kind != .audio,
                                    rejectedFormats: transceiver.kind == .video ? ["96"] : ["111"]))
        }
        // Sections of the remote's earlier offer that have no transceiver (e.g. data channels) keep their place.
        return RTCSessionDescription(type: .offer, sdp: writer(sections: sections, setup: "actpass").text)
    }

    func makeAnswer() throws -> RTCSessionDescription {
        guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
        guard signalingStateValue == .haveRemoteOffer, let remote = remoteSections else {
            throw RTCException.invalidState("createAnswer needs a remote offer (signaling state is \(signalingStateValue.name))")
        }
        var sections: [SessionDescriptionWriter.Section] = []
        for remoteSection in remote {
            guard remoteSection.isUsableAudio, let transceiver = transceiver(mid: remoteSection.mid), !transceiver.stopped else {
                var rejected = SessionDescriptionWriter.Section(kind: remoteSection.kind, mid: remoteSection.mid, rejected: true)
                rejected.proto = remoteSection.proto
                rejected.rejectedFormats = remoteSection.formats
                sections.append(rejected)
                continue
            }
            sections.append(section(for: transceiver, rejected: false, rejectedFormats: []))
        }
        // RFC 8842 §5.3: answer an actpass offer as active (DTLS client); mirror active/passive.
        let setup: String
        switch remoteSetup {
        case .active?: setup = "passive"
        default: setup = "active"
        }
        return RTCSessionDescription(type: .answer, sdp: writer(sections: sections, setup: setup).text)
    }

    private func uniqueMid() -> String {
        while true {
            let mid = String(nextMid)
            nextMid += 1
            if !transceivers.contains(where: { $0.mid == mid }) { return mid }
        }
    }

    private func section(for transceiver: RTCRtpTransceiver, rejected: Bool,
                         rejectedFormats: [String]) -> SessionDescriptionWriter.Section {
        let state = transceiver.state.withLock { $0 }
        let kind = transceiver.kind == .video ? "video" : "audio"
        var section = SessionDescriptionWriter.Section(kind: kind, mid: state.mid ?? "0", rejected: rejected)
        section.rejectedFormats = rejectedFormats
        guard !rejected else { return section }
        var direction = state.direction
        if let remote = remoteSections?.first(where: { $0.mid == state.mid }), signalingStateValue == .haveRemoteOffer {
            direction = direction.intersection(remote.direction.reversed)
        }
        let senderState = transceiver.sender.state.withLock { $0 }
        section.direction = direction
        section.payloadType = state.payloadType
        section.audioLevelExtensionID = state.audioLevelExtensionID
        section.midExtensionID = state.midExtensionID
        section.ssrc = transceiver.sender.ssrc
        section.streamIDs = senderState.streamIDs
        section.trackID = senderState.track?.id ?? transceiver.sender.placeholderTrackID
        return section
    }

    private func writer(sections: [SessionDescriptionWriter.Section], setup: String) -> SessionDescriptionWriter {
        sessionVersion += 1
        return SessionDescriptionWriter(
            sessionID: sessionID, sessionVersion: sessionVersion, iceUfrag: localCredentials.ufrag,
            icePassword: localCredentials.password, fingerprint: dtlsContext.certificate.fingerprint.sdpValue,
            setup: setup, iceLite: configuration.iceLite, cname: cname,
            candidates: localCandidates.map(\.sdpValue), endOfCandidates: !localCandidates.isEmpty,
            sections: sections)
    }

    func transceiver(mid: String) -> RTCRtpTransceiver? {
        transceivers.first { $0.mid == mid }
    }

    // MARK: - Applying descriptions

    func applyLocal(_ given: RTCSessionDescription?) throws {
        guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
        var description: RTCSessionDescription
        if let given {
            description = given
        } else {
            switch signalingStateValue {
            case .stable, .haveLocalOffer: description = try makeOffer()
            case .haveRemoteOffer, .haveLocalPranswer: description = try makeAnswer()
            default: throw RTCException.invalidState("no description to create in state \(signalingStateValue.name)")
            }
        }
        // The description must be one Skylark can read back.
        let parsed = try parse(description.sdp)
        switch description.type {
        case .offer:
            guard signalingStateValue == .stable || signalingStateValue == .haveLocalOffer else {
                throw RTCException.invalidState("cannot set a local offer in state \(signalingStateValue.name)")
            }
            let restart = iceRestartPending
            iceRestartPending = false
            try ensureTransport(controlling: true)
            if restart { restartTransport() }
            adoptLocalCredentials(from: parsed)
            gatherIfNeeded()
            pendingLocal = RTCSessionDescription(type: .offer, sdp: try regenerate(type: .offer))
            setSignalingState(.haveLocalOffer)
        case .answer, .pranswer:
            guard signalingStateValue == .haveRemoteOffer || signalingStateValue == .haveLocalPranswer else {
                throw RTCException.invalidState("cannot set a local answer in state \(signalingStateValue.name)")
            }
            try ensureTransport(controlling: remoteIsLite)
            adoptLocalCredentials(from: parsed)
            gatherIfNeeded()
            let setup = parsed.setup(forMedia: parsed.media.firstIndex { $0.port != 0 } ?? 0)
            let text = try regenerate(type: .answer)
            if description.type == .pranswer {
                pendingLocal = RTCSessionDescription(type: .pranswer, sdp: text)
                setSignalingState(.haveLocalPranswer)
            } else {
                currentLocal = RTCSessionDescription(type: .answer, sdp: text)
                currentRemote = pendingRemote
                pendingLocal = nil
                pendingRemote = nil
                finishNegotiation(localSetup: setup)
                setSignalingState(.stable)
            }
        case .rollback:
            guard signalingStateValue == .haveLocalOffer else {
                throw RTCException.invalidState("nothing to roll back in state \(signalingStateValue.name)")
            }
            pendingLocal = nil
            setSignalingState(.stable)
        }
        pump()
    }

    func applyRemote(_ description: RTCSessionDescription) throws {
        guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
        if description.type == .rollback {
            guard signalingStateValue == .haveRemoteOffer else {
                throw RTCException.invalidState("nothing to roll back in state \(signalingStateValue.name)")
            }
            pendingRemote = nil
            setSignalingState(.stable)
            return
        }
        let parsed = try parse(description.sdp)
        guard !parsed.media.isEmpty else { throw RTCException.invalidAccess("the description has no media sections") }
        let sections = parsed.media.indices.map { RemoteSection(description: parsed, index: $0) }
        let active = sections.first { $0.port != 0 }
        // RFC 8843: everything is bundled on the transport of the first accepted section.
        guard let activeIndex = active?.index, let credentials = parsed.iceCredentials(forMedia: activeIndex) else {
            throw RTCException.invalidAccess("the description has no ICE credentials (a=ice-ufrag / a=ice-pwd)")
        }
        let fingerprints = parsed.fingerprints(forMedia: activeIndex)
        guard !fingerprints.isEmpty else {
            throw RTCException.invalidAccess("the description has no DTLS fingerprint (a=fingerprint)")
        }
        switch description.type {
        case .offer:
            guard signalingStateValue == .stable || signalingStateValue == .haveRemoteOffer else {
                throw RTCException.invalidState("cannot set a remote offer in state \(signalingStateValue.name)")
            }
            remoteIsLite = parsed.isICELite
            remoteSetup = parsed.setup(forMedia: activeIndex)
            remoteSections = sections
            for section in sections { associate(section) }
            try ensureTransport(controlling: remoteIsLite)
            applyRemoteTransport(parsed: parsed, credentials: credentials, fingerprints: fingerprints)
            pendingRemote = description
            setSignalingState(.haveRemoteOffer)
            fireTrackEvents(sections)
        case .answer, .pranswer:
            guard signalingStateValue == .haveLocalOffer || signalingStateValue == .haveRemotePranswer else {
                throw RTCException.invalidState("cannot set a remote answer in state \(signalingStateValue.name)")
            }
            remoteIsLite = parsed.isICELite
            remoteSetup = parsed.setup(forMedia: activeIndex)
            remoteSections = sections
            for section in sections {
                guard let transceiver = transceiver(mid: section.mid) else { continue }
                transceiver.state.withLock { state in
                    if section.isUsableAudio, let pt = section.opusPayloadType {
                        state.payloadType = pt
                        state.audioLevelExtensionID = section.audioLevelExtensionID
                        state.midExtensionID = section.midExtensionID
                        state.currentDirection = state.direction.intersection(section.direction.reversed)
                    } else if !state.stopped {
                        state.rejected = true
                        state.currentDirection = .inactive
                    }
                }
                transceiver.receiver.state.withLock { $0.remoteSSRC = section.ssrcs.first }
            }
            if remoteIsLite, let transport, transport.ice.role != .controlling {
                transport.ice.setRole(.controlling)
            }
            applyRemoteTransport(parsed: parsed, credentials: credentials, fingerprints: fingerprints)
            if description.type == .pranswer {
                pendingRemote = description
                setSignalingState(.haveRemotePranswer)
            } else {
                currentRemote = description
                currentLocal = pendingLocal
                pendingRemote = nil
                pendingLocal = nil
                // Our offer said actpass; the answer picks (RFC 8842 §5.2): active means we are the server.
                let role: DTLSConnection.Role = remoteSetup == .active ? .server : .client
                configureDTLS(role: role, fingerprints: fingerprints)
                setSignalingState(.stable)
            }
            fireTrackEvents(sections)
        case .rollback:
            break
        }
        pump()
    }

    /// Parses SDP, turning the parser's error into the reference's `SdpParseException`.
    func parse(_ text: String) throws -> SessionDescription {
        do {
            return try SessionDescription(parsing: text)
        } catch {
            throw SdpParseException(line: error.line, message: "\(error.reason) (\"\(error.text)\")")
        }
    }

    /// Matches a remote offer's m-section to a transceiver (JSEP §5.10), creating one when none fits.
    private func associate(_ section: RemoteSection) {
        let kind: MediaType = section.kind == "audio" ? .audio : section.kind == "video" ? .video : .data
        var transceiver = self.transceiver(mid: section.mid)
        if transceiver == nil, kind != .data {
            transceiver = transceivers.first { t in
                t.kind == kind && t.mid == nil && !t.stopped && t.state.withLock { $0.createdByAddTrack }
            }
            if transceiver == nil, section.port != 0 {
                transceiver = makeTransceiver(kind: kind, track: nil, direction: .recvonly, streams: [],
                                              encodings: [RtpEncodingParameters()])
            }
            transceiver?.state.withLock { $0.mid = section.mid }
        }
        guard let transceiver else { return }
        transceiver.state.withLock { state in
            if let pt = section.opusPayloadType { state.payloadType = pt }
            state.audioLevelExtensionID = section.audioLevelExtensionID
            state.midExtensionID = section.midExtensionID
            state.rejected = !section.isUsableAudio
        }
        transceiver.receiver.state.withLock { $0.remoteSSRC = section.ssrcs.first }
    }

    private func fireTrackEvents(_ sections: [RemoteSection]) {
        for section in sections where section.direction.sends && section.isUsableAudio {
            guard let transceiver = transceiver(mid: section.mid), !transceiver.stopped else { continue }
            let alreadyFired = transceiver.state.withLock { state -> Bool in
                defer { state.trackEventFired = true }
                return state.trackEventFired
            }
            if alreadyFired { continue }
            let streams = section.streamIDs.map { id -> MediaStream in
                if let stream = remoteStreams[id] { return stream }
                let stream = MediaStream(tracks: [], id: id)
                remoteStreams[id] = stream
                return stream
            }
            for stream in streams { stream.addTrack(transceiver.receiver.track) }
            emit(.track(RTCTrackEvent(track: transceiver.receiver.track, receiver: transceiver.receiver,
                                      transceiver: transceiver, streams: streams)))
        }
    }

    /// After our answer: directions become current and DTLS takes the role our answer chose.
    private func finishNegotiation(localSetup: SetupRole?) {
        guard let remote = remoteSections else { return }
        for section in remote {
            guard let transceiver = transceiver(mid: section.mid) else { continue }
            transceiver.state.withLock { state in
                guard !state.stopped else { return }
                state.currentDirection = section.isUsableAudio
                    ? state.direction.intersection(section.direction.reversed) : .inactive
            }
        }
        let role: DTLSConnection.Role = localSetup == .passive ? .server : .client
        let fingerprints = remoteFingerprints
        configureDTLS(role: role, fingerprints: fingerprints)
    }

    private func configureDTLS(role: DTLSConnection.Role, fingerprints: [CertificateFingerprint]) {
        guard let transport else { return }
        do {
            try transport.configureDTLS(role: role, remoteFingerprints: fingerprints)
            for transceiver in transceivers {
                transceiver.sender.state.withLock { $0.transport = dtlsTransport }
                transceiver.receiver.state.withLock { $0.transport = dtlsTransport }
            }
        } catch {
            dtlsStateValue = .failed
            dtlsTransport.stateBox.withLock { $0 = .failed }
            updateConnectionState()
        }
    }

    private func applyRemoteTransport(parsed: SessionDescription, credentials: ICECredentials,
                                      fingerprints: [CertificateFingerprint]) {
        guard let transport else { return }
        let remote = credentials
        if let previous = remoteICECredentials, previous != remote {
            // The remote restarted ICE (RFC 8445 §9): restart ours too, with new local credentials.
            localCredentials = ICECredentials.random()
            restartTransport()
        }
        remoteICECredentials = remote
        remoteFingerprints = fingerprints
        transport.ice.setRemoteCredentials(remote)
        for media in parsed.media where media.port != 0 {
            for value in media.candidates {
                guard let candidate = try? ICECandidate(parsing: value) else { continue }
                transport.ice.addRemoteCandidate(candidate)
            }
        }
        if parsed.media.contains(where: { $0.hasEndOfCandidates }) { transport.ice.setRemoteEndOfCandidates() }
    }

    /// Creates the ICE agent and the bundle transport the first time a description is applied.
    func ensureTransport(controlling: Bool) throws {
        guard transport == nil else { return }
        let role: ICERole = configuration.iceLite ? .controlled : (controlling ? .controlling : .controlled)
        let agent = ICEAgent(role: role, isLite: configuration.iceLite, localCredentials: localCredentials)
        transport = BundleTransport(ice: agent, dtlsContext: dtlsContext)
        iceTransport.stateBox.withLock { $0.role = role == .controlling ? .controlling : .controlled }
        timer = network.makeTimer(queue: queue) { [weak self] in self?.timerFired() }
    }

    /// New local credentials for an ICE restart; the selected pair keeps working until a new one is chosen.
    private func restartTransport() {
        transport?.ice.restart(localCredentials: localCredentials)
    }

    private func adoptLocalCredentials(from parsed: SessionDescription) {
        // The local description may have been edited; its credentials are the ones the remote will use.
        let index = parsed.media.firstIndex { $0.port != 0 } ?? 0
        guard parsed.media.indices.contains(index), let credentials = parsed.iceCredentials(forMedia: index) else { return }
        let mine = credentials
        if mine != localCredentials {
            localCredentials = mine
            restartTransport()
        }
    }

    private func regenerate(type: RTCSdpType) throws -> String {
        type == .offer ? try makeOffer().sdp : try makeAnswer().sdp
    }

    /// Opens a UDP socket per local address and turns each into a host candidate (RFC 8445 §5.1.1.1).
    func gatherIfNeeded() {
        guard localAddresses.isEmpty, let transport else { return }
        var addresses = configuration.bindAddresses
        if addresses.isEmpty {
            addresses = NetworkInterfaces.addresses(includeLoopback: configuration.includeLoopback,
                                                    includeIPv6: configuration.includeIPv6)
            if addresses.isEmpty { addresses = [.loopbackV4] }
        }
        iceGatheringStateValue = .gathering
        iceTransport.stateBox.withLock { $0.gatheringState = .gathering }
        emit(.iceGatheringStateChange(.gathering))
        let opened: [SocketAddress]
        do {
            opened = try network.open(addresses: addresses.map { SocketAddress(ip: $0, port: 0) }, queue: queue) {
                [weak self] bytes, from, local in
                self?.handleDatagram(bytes, from: from, local: local)
            }
        } catch {
            opened = []
        }
        localAddresses = opened
        for (index, address) in opened.enumerated() {
            let candidate = ICECandidate.host(address: address, component: 1,
                                              localPreference: UInt16(clamping: 65_535 - index))
            localCandidates.append(candidate)
            transport.ice.addLocalCandidate(candidate)
            emit(.iceCandidate(RTCIceCandidate(candidate: "candidate:" + candidate.sdpValue, sdpMid: transceivers.first?.mid,
                                               sdpMLineIndex: 0)))
        }
        iceGatheringStateValue = .complete
        iceTransport.stateBox.withLock { $0.gatheringState = .complete }
        emit(.iceCandidate(nil))
        emit(.iceGatheringStateChange(.complete))
    }
}
