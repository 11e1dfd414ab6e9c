import SkylarkBase

/// Which simulcast layer a viewer asked for (WHEP `?layer=`): `high` by default, `medium`, `low`, or a rid.
public enum LayerPreference: Sendable, Equatable, CustomStringConvertible {
    case high, medium, low
    case rid(String)

    /// Reads a `layer` query value; nil when it is none of the names and not a valid rid (RFC 8851 §10).
    public init?(_ text: String) {
        switch text.lowercased() {
        case "high", "": self = .high
        case "medium": self = .medium
        case "low": self = .low
        default:
            guard text.utf8.count <= 255, text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else { return nil }
            self = .rid(text)
        }
    }

    public var description: String {
        switch self {
        case .high: "high"
        case .medium: "medium"
        case .low: "low"
        case let .rid(rid): rid
        }
    }
}

/// One viewer's choice among a publisher's video layers: the layer it asked for, stepped down while it reports
/// loss; a switch happens only at a keyframe of the new layer, so the viewer's decoder never sees a frame that
/// refers to a picture it did not get.
///
/// The loss signal is what the viewer itself reports: the fraction lost of its RTCP receiver reports
/// (RFC 3550 §6.4.1) or, when higher, the share of its video it asked to have again with NACK. Every viewer
/// sends both; an estimate such as REMB or transport-cc would need header extensions the relay does not write.
struct LayerSelection {
    var preference: LayerPreference = .high {
        didSet { stale = true }
    }
    /// Layers below the preferred one, for reported loss.
    private(set) var stepsDown = 0
    /// The layer being forwarded, and the one wanted.
    private(set) var current: UInt32?
    private(set) var target: UInt32?
    private var generation: UInt32?
    private var stale = true
    private var lastStep: Instant?
    private var goodReports = 0
    /// Layers in the ranking last chosen from.
    private var layerCount = 1

    /// Loss above this steps down a layer; below `recovered` for `reportsToStepUp` reports in a row steps back up.
    static let congested = 0.10
    static let recovered = 0.02
    static let reportsToStepUp = 4
    static let holdAfterStep: Duration = .seconds(3)

    /// Whether to forward a packet of layer `ssrc` (`startsKeyframe`: the first packet of a keyframe).
    mutating func shouldForward(ssrc: UInt32, startsKeyframe: Bool, ranking: LayerRanking) -> Bool {
        guard ranking.isSimulcast else {
            current = ssrc
            target = ssrc
            return true
        }
        if stale || generation != ranking.generation { choose(ranking) }
        if ssrc == current { return true }
        if ssrc == target, startsKeyframe {
            current = ssrc
            return true
        }
        return false
    }

    /// Whether the viewer waits for a keyframe of its target layer.
    var wantsKeyframe: Bool { target != nil && target != current }

    private mutating func choose(_ ranking: LayerRanking) {
        stale = false
        generation = ranking.generation
        let count = ranking.ssrcs.count
        layerCount = max(count, 1)
        guard count > 0 else {
            target = nil
            return
        }
        var index: Int
        switch preference {
        case .high: index = count - 1
        case .medium: index = count / 2
        case .low: index = 0
        case let .rid(rid): index = ranking.rids.firstIndex(of: rid) ?? count - 1
        }
        index = max(0, index - stepsDown)
        target = ranking.ssrcs[index]
    }

    /// A loss figure from the viewer (0...1): steps down a layer when congested, back up once it has recovered.
    mutating func reportLoss(_ loss: Double, now: Instant) {
        let settled = lastStep.map { now - $0 >= Self.holdAfterStep } ?? true
        if loss > Self.congested {
            goodReports = 0
            if settled, stepsDown < layerCount - 1 {
                stepsDown += 1
                lastStep = now
                stale = true
            }
        } else if loss < Self.recovered {
            goodReports += 1
            if stepsDown > 0, settled, goodReports >= Self.reportsToStepUp {
                stepsDown -= 1
                lastStep = now
                goodReports = 0
                stale = true
            }
        } else {
            goodReports = 0
        }
    }
}
