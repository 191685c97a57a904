import SambatCore
import Testing

@testable import SambatStore

/// The writer's cache of folded case states, as another process's commit clears it.
@Suite struct CaseStateCacheTests {
    /// Another process's commit empties the cache at once, and the states it held are freed,
    /// not kept: they go on a background queue, so the writer does not wait for the freeing.
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
}
