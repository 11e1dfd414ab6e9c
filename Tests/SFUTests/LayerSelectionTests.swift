import SkylarkBase
import Testing

@testable import SFU

/// A viewer's layer: the one it asked for, switched only at a keyframe, stepped down for loss and back up.
@Suite struct LayerSelectionTests {
    static let ranking = LayerRanking(ssrcs: [10, 20, 30], rids: ["q", "h", "f"], isSimulcast: true, generation: 1)

    func forward(_ selection: inout LayerSelection, _ ssrc: UInt32, _ startsKeyframe: Bool, _ ranking: LayerRanking) -> Bool {
        selection.shouldForward(ssrc: ssrc, startsKeyframe: startsKeyframe, ranking: ranking)
    }

    @Test func aViewerStartsOnTheHighestLayerAtItsKeyframe() {
        var selection = LayerSelection()
        #expect(!forward(&selection, 30, false, Self.ranking))
        #expect(selection.wantsKeyframe)
        #expect(!forward(&selection, 10, true, Self.ranking))
        #expect(forward(&selection, 30, true, Self.ranking))
        #expect(forward(&selection, 30, false, Self.ranking))
        #expect(!forward(&selection, 20, true, Self.ranking))
        #expect(!selection.wantsKeyframe)
    }

    @Test(arguments: [(LayerPreference.low, UInt32(10)), (.medium, 20), (.high, 30), (.rid("h"), 20), (.rid("x"), 30)])
    func aViewerGetsTheLayerItAskedFor(_ preference: LayerPreference, _ ssrc: UInt32) {
        var selection = LayerSelection()
        selection.preference = preference
        _ = forward(&selection, ssrc, false, Self.ranking)
        #expect(selection.target == ssrc)
    }

    /// When the layer it is on stops arriving, the viewer moves to the best one left, at that one's keyframe.
    @Test func aLayerThatStopsIsSkipped() {
        var selection = LayerSelection()
        #expect(forward(&selection, 30, true, Self.ranking))
        let withoutTop = LayerRanking(ssrcs: [10, 20], rids: ["q", "h"], isSimulcast: true, generation: 2)
        #expect(forward(&selection, 30, false, withoutTop))  // late packets
        #expect(selection.target == 20 && selection.wantsKeyframe)
        #expect(forward(&selection, 20, true, withoutTop))
        #expect(selection.current == 20)
    }

    @Test func lossStepsDownAndRecoveryStepsBackUp() {
        var selection = LayerSelection()
        var now = Instant.zero + .seconds(10)
        _ = forward(&selection, 30, true, Self.ranking)
        selection.reportLoss(0.2, now: now)
        _ = forward(&selection, 30, false, Self.ranking)
        #expect(selection.target == 20)
        // Held for a while after a step: more loss right away does not step again.
        now = now + .seconds(1)
        selection.reportLoss(0.2, now: now)
        _ = forward(&selection, 30, false, Self.ranking)
        #expect(selection.target == 20)
        now = now + .seconds(3)
        selection.reportLoss(0.3, now: now)
        _ = forward(&selection, 30, false, Self.ranking)
        #expect(selection.target == 10)
        selection.reportLoss(0.9, now: now + .seconds(5))   // never below the lowest layer
        #expect(selection.stepsDown == 2)
        // Four clean reports in a row, a step at a time.
        for second in 6...9 { selection.reportLoss(0, now: now + .seconds(Int64(second))) }
        _ = forward(&selection, 10, true, Self.ranking)
        #expect(selection.target == 20)
        for second in 10...12 { selection.reportLoss(0.01, now: now + .seconds(Int64(second))) }
        #expect(selection.stepsDown == 1)
        selection.reportLoss(0, now: now + .seconds(13))
        #expect(selection.stepsDown == 0)
    }

    /// Without simulcast every packet goes through, whatever its SSRC (a replaced publisher included).
    @Test func withoutSimulcastEverythingIsForwarded() {
        var selection = LayerSelection()
        let single = LayerRanking(ssrcs: [5], rids: [nil], isSimulcast: false, generation: 1)
        #expect(forward(&selection, 5, false, single))
        #expect(forward(&selection, 6, false, single))
        #expect(!selection.wantsKeyframe)
    }

    @Test func layerQueryValues() {
        #expect(LayerPreference("LOW") == .low)
        #expect(LayerPreference("f") == .rid("f"))
        #expect(LayerPreference("a b") == nil)
    }
}
