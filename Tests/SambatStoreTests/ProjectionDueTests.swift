import Testing

@testable import SambatStore

/// When a deferred projection is due: once peers' batches pause, or once the first deferred
/// op has waited the longest delay, whichever comes first.
@Suite struct ProjectionDueTests {
    static let quiet = Duration.milliseconds(250)
    static let delay = Duration.seconds(5)
    static let start = ContinuousClock.now

    /// A pending projection whose first batch came at `first` and last at `last` (seconds
    /// after `start`).
    static func pending(first: Double, last: Double) -> PendingProjection {
        var pending = PendingProjection()
        pending.since = start + .seconds(first)
        pending.latest = start + .seconds(last)
        return pending
    }

    static func due(_ pending: PendingProjection, at seconds: Double) -> Bool? {
        pending.isDue(at: start + .seconds(seconds), quiet: quiet, delay: delay)
    }

    /// While batches keep coming, the projection waits; once they pause, it is due.
    @Test func aStreamOfBatchesWaitsUntilItPauses() {
        let streaming = Self.pending(first: 0, last: 2)
        #expect(Self.due(streaming, at: 2.1) == false, "due 0.1 s after the last batch of a stream")
        #expect(Self.due(streaming, at: 2.25) == true, "not due after the batches paused")
    }

    /// A stream that never pauses is projected once its first op has waited the delay.
    @Test func aStreamThatNeverPausesIsProjectedAfterTheDelay() {
        let endless = Self.pending(first: 0, last: 4.95)
        #expect(Self.due(endless, at: 4.99) == false)
        #expect(Self.due(endless, at: 5.0) == true, "a stream held the projection past the delay")
    }

    /// A live change, which comes alone, is due after the pause, not after the delay.
    @Test func aLoneChangeIsDueAfterThePause() {
        let lone = Self.pending(first: 1, last: 1)
        #expect(Self.due(lone, at: 1.2) == false)
        #expect(Self.due(lone, at: 1.3) == true)
    }

    /// With nothing deferred by this process, it cannot say.
    @Test func nothingDeferredIsNeitherDueNorNot() {
        #expect(PendingProjection().isDue(at: .now, quiet: Self.quiet, delay: Self.delay) == nil)
    }
}
