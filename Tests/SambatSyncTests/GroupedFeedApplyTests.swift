import Foundation
import SambatCore
import SambatStore
import Testing

@testable import SambatSync

/// Feed batches that waited for the writer together are applied in one transaction
/// (``NodeStoreWork/applyFeed(_:receivedAt:)``), with the events the machine expects for each.
@Suite struct GroupedFeedApplyTests {
    /// What an event says, in a form a test can compare.
    enum Outcome: Equatable {
        case applied(batchID: UInt64, position: UInt64)
        case refused(batchID: UInt64)
        case notStored
        case other
    }

    static func outcome(_ event: NodeSync.Event) -> Outcome {
        switch event {
        case .link(.feedApplied(let batchID, let position)): .applied(batchID: batchID, position: position)
        case .link(.feedRefused(let batchID, _)): .refused(batchID: batchID)
        case .feedNotStored: .notStored
        default: .other
        }
    }

    /// Central with three dispatched cases, the mayor's feed cut into two batches (ids 1 and
    /// 2), and a fresh mayor store.
    struct Fixture {
        let world: SyncWorld
        let central: Store
        let mayor: Store
        let batches: [Sambat_Sync_V1_Batch]
        let cases: [CaseID]

        init() async throws {
            world = try SyncWorld()
            central = try await world.openCentral()
            var cases: [CaseID] = []
            for serial in 1...3 { cases.append(try await SyncWorld.dispatch(central, serial: serial)) }
            self.cases = cases
            let entries = try await central.feed(for: SyncWorld.mayor, after: 0, limit: 100)
            try #require(entries.count == 9)
            func batch(_ id: UInt64, _ part: ArraySlice<FeedEntry>) -> Sambat_Sync_V1_Batch {
                var batch = Sambat_Sync_V1_Batch()
                batch.batchID = id
                batch.ops = part.map { Data($0.op.sealed.bytes) }
                batch.receivedAtMs = part.map(\.op.receivedAt.millisecondsSinceEpoch)
                batch.feedPosition = part.last?.feedSeq ?? 0
                return batch
            }
            batches = [batch(1, entries[0..<4]), batch(2, entries[4...])]
            mayor = try world.open(SyncWorld.mayor, .mayor)
        }

        /// The case's ops at the mayor equal central's.
        func mayorHolds(_ caseID: CaseID) async throws -> Bool {
            try await SyncWorld.hashes(mayor, caseID) == SyncWorld.hashes(central, caseID)
        }
    }

    @Test func twoBatchesAreAppliedTogetherAndEachIsReported() async throws {
        let fixture = try await Fixture()
        let work = NodeStoreWork(store: fixture.mayor)
        let events = await work.applyFeed(fixture.batches, receivedAt: .now)
        #expect(
            events.map(Self.outcome) == [
                .applied(batchID: 1, position: fixture.batches[0].feedPosition),
                .applied(batchID: 2, position: fixture.batches[1].feedPosition),
            ]
        )
        for caseID in fixture.cases { #expect(try await fixture.mayorHolds(caseID)) }
        #expect(try await fixture.mayor.checkpoint(for: SyncWorld.central) == fixture.batches[1].feedPosition)
    }

    /// The batches before the damaged one are applied and reported, the damaged one is
    /// refused, and nothing of it or after it is stored; the checkpoint is the last applied
    /// batch's (none: 0).
    @Test(arguments: [0, 1])
    func aBatchThatDoesNotDecodeIsRefusedAfterTheOnesBeforeItAreApplied(damaging index: Int) async throws {
        let fixture = try await Fixture()
        var batches = fixture.batches
        let last = batches[index].ops.count - 1
        batches[index].ops[last][batches[index].ops[last].count - 1] ^= 0xFF
        let events = await NodeStoreWork(store: fixture.mayor).applyFeed(batches, receivedAt: .now)
        let before = fixture.batches[..<index]
        #expect(
            events.map(Self.outcome)
                == before.map { .applied(batchID: $0.batchID, position: $0.feedPosition) }
                + [.refused(batchID: batches[index].batchID)]
        )
        let stored = try await fixture.cases.asyncSum { try await fixture.mayor.ops(ofCase: $0).count }
        #expect(stored == before.reduce(0) { $0 + $1.ops.count })
        #expect(try await fixture.mayor.checkpoint(for: SyncWorld.central) == before.last?.feedPosition ?? 0)
    }
}

extension Array {
    /// The sum of `value` over the elements, one after another.
    fileprivate func asyncSum(_ value: (Element) async throws -> Int) async rethrows -> Int {
        var total = 0
        for element in self { total += try await value(element) }
        return total
    }
}
