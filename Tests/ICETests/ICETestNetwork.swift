import SkylarkBase
import Testing
import VirtualNetwork

@testable import ICE

/// ICE agents on a `VirtualNetwork`: delivers each agent's transmits to the agent owning the destination as the
/// network's conditions say (10 ms one way by default) and fires the agents' timers at their deadlines.
final class TestNetwork {
    final class Node {
        let name: String
        let agent: ICEAgent
        var addresses: [SocketAddress]
        var events: [ICEEvent] = []
        var states: [(Instant, ICEConnectionState)] = []

        init(name: String, agent: ICEAgent, addresses: [SocketAddress]) {
            self.name = name
            self.agent = agent
            self.addresses = addresses
        }

        var selectedChanges: Int {
            events.filter { if case .selectedPairChanged = $0 { return true } else { return false } }.count
        }

        var roleChanges: [ICERole] {
            events.compactMap { if case let .roleChanged(role) = $0 { return role } else { return nil } }
        }

        func time(of state: ICEConnectionState) -> Instant? {
            states.first { $0.1 == state }?.0
        }
    }

    var wire: VirtualNetwork
    /// Virtual time starts here.
    let start: Instant
    var now: Instant { wire.now }
    var nodes: [Node] = []
    /// Return true to drop a datagram before it reaches the wire.
    var drop: (ICETransmit) -> Bool = { _ in false }
    var delivered = 0
    var rejected = 0

    init(conditions: VirtualNetwork.Conditions = .init(), seed: UInt64 = 1) {
        wire = VirtualNetwork(conditions: conditions, seed: seed)
        start = wire.now
    }

    @discardableResult
    func add(_ name: String, _ agent: ICEAgent, _ addresses: [String]) -> Node {
        let node = Node(name: name, agent: agent, addresses: addresses.compactMap { SocketAddress($0) })
        for address in node.addresses { agent.addLocalCandidate(.host(address: address)) }
        nodes.append(node)
        return node
    }

    /// Signals credentials and candidates from `a` to `b` and back, with end-of-candidates.
    func exchange(_ a: Node, _ b: Node, endOfCandidates: Bool = true) {
        a.agent.setRemoteCredentials(b.agent.localCredentials)
        b.agent.setRemoteCredentials(a.agent.localCredentials)
        for address in a.addresses { b.agent.addRemoteCandidate(.host(address: address)) }
        for address in b.addresses { a.agent.addRemoteCandidate(.host(address: address)) }
        if endOfCandidates {
            a.agent.setRemoteEndOfCandidates()
            b.agent.setRemoteEndOfCandidates()
        }
    }

    private func collect() {
        for node in nodes {
            while let transmit = node.agent.pollTransmit() {
                #expect(node.addresses.contains(transmit.source), "\(node.name) sent from a foreign address")
                if !drop(transmit) { wire.send(transmit.bytes, from: transmit.source, to: transmit.destination) }
            }
            while let event = node.agent.pollEvent() {
                node.events.append(event)
                if case let .connectionStateChanged(state) = event { node.states.append((now, state)) }
            }
        }
    }

    private func deliverDue() {
        while let packet = wire.nextDue() {
            guard let node = nodes.first(where: { $0.addresses.contains(packet.to) }) else { continue }
            let accepted = packet.bytes.withUnsafeBytes {
                node.agent.handleReceive($0, from: packet.from, localAddress: packet.to, now: now)
            }
            if accepted { delivered += 1 } else { rejected += 1 }
            collect()
        }
    }

    /// Advances virtual time event by event until `condition` holds or `limit` has passed. Returns the condition.
    @discardableResult
    func run(for limit: Duration, until condition: () -> Bool = { false }) -> Bool {
        let end = now + limit
        collect()
        var steps = 0
        while true {
            steps += 1
            precondition(steps < 200_000, "network did not settle")
            deliverDue()
            for node in nodes {
                if let deadline = node.agent.nextDeadline, deadline <= now {
                    node.agent.handleTimeout(now: now)
                    collect()
                }
            }
            if condition() { return true }
            var next: Instant? = wire.nextArrival
            for node in nodes {
                if let deadline = node.agent.nextDeadline { next = next.map { min($0, deadline) } ?? deadline }
            }
            guard let target = next, target <= end else {
                wire.advance(to: end)
                return condition()
            }
            // A deadline in the past means "now"; time never goes backwards.
            wire.advance(to: target)
        }
    }
}

func connected(_ node: TestNetwork.Node) -> Bool {
    node.agent.selectedPair != nil && (node.agent.state == .connected || node.agent.state == .completed)
}
