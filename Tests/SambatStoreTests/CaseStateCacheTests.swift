import Foundation
import SambatCore
import Synchronization
import Testing

@testable import SambatStore

/// The writer's cache of folded case states, as another process's commit clears it.
@Suite struct CaseStateCacheTests {
    /// Another process's commit empties the cache at once, and the states it held are freed,
    /// not kept.
    @Test func aCommitElsewhereDropsEveryStateAndFreesIt() throws {
        let cache = CaseStateCache(capacity: 100)
        let caseIDs = try (1...3).map { try CaseID("MJK-261205-000\($0)") }
        // The first look learns the version the states are put in under.
        #expect(cache.synchronize(dataVersion: 1))
        weak var dropped: CaseStateBox?
        do {
            let boxes = caseIDs.map { CaseStateBox(CaseState(caseID: $0)) }
            dropped = boxes[0]
            for box in boxes { cache.store(box) }
        }
        #expect(!cache.synchronize(dataVersion: 1), "nothing changed, yet the cache was dropped")
        #expect(caseIDs.allSatisfy { cache.box($0) != nil })
        #expect(dropped != nil)

        #expect(cache.synchronize(dataVersion: 2))
        #expect(caseIDs.allSatisfy { cache.box($0) == nil }, "a state outlived another process's commit")
        BackgroundRelease.drain()
        #expect(dropped == nil, "a dropped state was kept alive")

        // The emptied cache takes states again.
        cache.store(CaseStateBox(CaseState(caseID: caseIDs[2])))
        #expect(cache.box(caseIDs[2]) != nil)
    }

    /// A stream of new cases passes through a full cache: the cache holds between half and one
    /// and a half times its capacity, a case the writer keeps using stays, and the cases it
    /// let go are freed.
    ///
    /// The writer uses a case by taking it with `use` (a write session), or by looking at it
    /// and putting it back.
    @Test(arguments: [false, true]) func aCaseInUseOutlivesAStreamOfNewOnes(throughUse: Bool) throws {
        let cache = CaseStateCache(capacity: 100)
        let hot = CaseStateBox(CaseState(caseID: try CaseID("MJK-261205-9999")))
        cache.store(hot)
        weak var firstPassing: CaseStateBox?
        for serial in 1_001...3_000 {
            let passing = CaseStateBox(CaseState(caseID: try CaseID("MJK-261205-\(serial)")))
            if serial == 1_001 { firstPassing = passing }
            cache.store(passing)
            // The writer folds the hot case again every few changes and puts it back.
            if serial.isMultiple(of: 10) {
                if throughUse {
                    #expect(cache.use(hot.state.caseID) === hot)
                } else if let box = cache.box(hot.state.caseID) {
                    cache.store(box)
                }
            }
            #expect(cache.count <= 150)
        }
        #expect(cache.box(hot.state.caseID) === hot, "a case in use was let go")
        #expect(cache.count >= 50, "the cache kept less than half its capacity")
        #expect(try cache.box(CaseID("MJK-261205-3000")) != nil, "the newest case is not held")
        BackgroundRelease.drain()
        #expect(firstPassing == nil, "a case the cache let go was kept alive")
    }

    /// Cases that fit in the capacity stay, even visited round-robin: the order in which
    /// `sambat bench store` touches its cases, and the worst order for a cache of two
    /// generations that turns whenever half the capacity is recent.
    @Test(arguments: [false, true]) func casesThatFitStayWhenVisitedInTurn(throughUse: Bool) throws {
        let cache = CaseStateCache(capacity: 100)
        let caseIDs = try (1_001...1_090).map { try CaseID("MJK-261205-\($0)") }
        for caseID in caseIDs { cache.store(CaseStateBox(CaseState(caseID: caseID))) }
        for _ in 0..<5 {
            for caseID in caseIDs {
                if throughUse {
                    _ = try #require(cache.use(caseID), "a case that fits was let go")
                } else {
                    cache.store(try #require(cache.box(caseID), "a case that fits was let go"))
                }
            }
        }
        #expect(cache.count == 90)
    }

    /// What the writer hands over is freed on the release queue, not on the writer's thread,
    /// even when the queue is quick: the writer keeps no reference past the hand-over.
    @Test func aHandedOverValueIsFreedOffTheCallersThread() {
        let log = FreeingLog()
        for _ in 0..<200 {
            BackgroundRelease.release { FreedWhere(log) }
        }
        BackgroundRelease.drain()
        let threads = log.threads.withLock { $0 }
        #expect(threads.count == 200)
        let freedHere = threads.contains(FreeingLog.currentThread())
        #expect(!freedHere, "a value was freed on the thread that handed it over")
    }

    /// A batch handed over by its owner is taken whole: the owner is left empty, so none of
    /// its elements can be freed on the owner's thread when the queue runs first.
    @Test func aCollectionHandedOverLeavesItsOwnerEmpty() {
        let log = FreeingLog()
        for _ in 0..<50 {
            var batch = (0..<40).map { _ in FreedWhere(log) }
            BackgroundRelease.release(emptying: &batch)
            #expect(batch.isEmpty)
        }
        BackgroundRelease.drain()
        let threads = log.threads.withLock { $0 }
        #expect(threads.count == 2_000)
        let freedHere = threads.contains(FreeingLog.currentThread())
        #expect(!freedHere, "an element was freed on the thread that handed its batch over")
    }
}

/// The threads on which ``FreedWhere`` instances were freed.
private final class FreeingLog: Sendable {
    let threads = Mutex<[String]>([])

    static func currentThread() -> String { "\(pthread_self())" }
}

/// Notes in its log, when freed, on which thread that happened.
private final class FreedWhere: Sendable {
    private let log: FreeingLog

    init(_ log: FreeingLog) { self.log = log }

    deinit { log.threads.withLock { $0.append(FreeingLog.currentThread()) } }
}
