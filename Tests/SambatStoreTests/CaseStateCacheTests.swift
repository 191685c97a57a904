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
