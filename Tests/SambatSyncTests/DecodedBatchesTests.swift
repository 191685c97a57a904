import Foundation
import SambatCore
import SambatStore
import Testing

@testable import SambatSync

/// The feed pipeline's decoding stage: a batch decoded ahead is found by the apply exactly
/// when it is the same batch, and what the stage keeps stays bounded.
@Suite struct DecodedBatchesTests {
    static func batch(_ id: UInt64, _ ops: [Data]) -> Sambat_Sync_V1_Batch {
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = id
        batch.ops = ops
        return batch
    }

    static func hashes(_ decoded: DecodedBatches.Decoded) throws -> [String] {
        try decoded.get().map(\.sealed.hash.description)
    }

    @Test func aBatchDecodedAheadIsTakenOnceAndEqualsADecodeNow() async throws {
        let ops = try PackedOpsTests.uploadBacklog(count: 300)
        let stage = DecodedBatches()
        await stage.decodeAhead(Self.batch(1, ops))
        #expect(stage.waiting == 1)
        let taken = try Self.hashes(await stage.take(Self.batch(1, ops)))
        #expect(stage.waiting == 0)
        let now = try Self.hashes(await DecodedBatches().take(Self.batch(1, ops)))
        #expect(taken == now)
        #expect(taken == (try ops.map { try SealedOp(decoding: Array($0)).hash.description }))
    }

    /// A batch of the same id with other bytes (a new session, another central) is decoded
    /// anew, never answered with what was decoded for the other.
    @Test func anotherBatchUnderTheSameIdIsDecodedAnew() async throws {
        let ops = try PackedOpsTests.uploadBacklog(count: 40)
        let stage = DecodedBatches()
        await stage.decodeAhead(Self.batch(7, Array(ops.prefix(20))))
        let taken = try Self.hashes(await stage.take(Self.batch(7, Array(ops.suffix(20)))))
        #expect(taken == (try ops.suffix(20).map { try SealedOp(decoding: Array($0)).hash.description }))
        #expect(stage.waiting == 1, "the other batch's entry is not taken for this one")
    }

    @Test(arguments: [true, false])
    func anOpThatDoesNotDecodeIsNamedByItsIndex(decodedAhead: Bool) async throws {
        var ops = try PackedOpsTests.uploadBacklog(count: 10)
        ops[6][ops[6].count - 1] ^= 0xFF
        let stage = DecodedBatches()
        if decodedAhead { await stage.decodeAhead(Self.batch(3, ops)) }
        guard case .failure(let error) = await stage.take(Self.batch(3, ops)) else {
            Issue.record("a batch with a damaged op decoded")
            return
        }
        #expect(error.index == 6)
    }

    /// A feed batch's ops come with central's receive times, in order; an upload's with none
    /// (central stamps them), whatever the batch carries.
    @Test(arguments: [true, false])
    func feedOpsArePairedWithTheirReceiveTimes(decodedAhead: Bool) async throws {
        let ops = try PackedOpsTests.uploadBacklog(count: 120)
        var batch = Self.batch(4, ops)
        batch.receivedAtMs = ops.indices.map { 1_764_000_000_000 + Int64($0) * 1_000 }
        let feed = DecodedBatches(receiveTimes: .central)
        let uploads = DecodedBatches()
        if decodedAhead {
            await feed.decodeAhead(batch)
            await uploads.decodeAhead(batch)
        }
        let fromFeed = try await feed.take(batch).get()
        let uploaded = try await uploads.take(batch).get()
        #expect(fromFeed.map { $0.centralReceivedAt?.millisecondsSinceEpoch } == batch.receivedAtMs)
        #expect(fromFeed.map(\.sealed) == uploaded.map(\.sealed))
        #expect(uploaded.allSatisfy { $0.centralReceivedAt == nil })
    }

    /// A feed batch without one receive time per op is refused at the first op without its
    /// time, never applied with times missing or shifted.
    @Test(arguments: [true, false])
    func aFeedBatchShortOfReceiveTimesIsRefused(decodedAhead: Bool) async throws {
        let ops = try PackedOpsTests.uploadBacklog(count: 12)
        var batch = Self.batch(9, ops)
        batch.receivedAtMs = Array(repeating: 1_764_000_000_000, count: 7)
        let stage = DecodedBatches(receiveTimes: .central)
        if decodedAhead { await stage.decodeAhead(batch) }
        guard case .failure(let error) = await stage.take(batch) else {
            Issue.record("a feed batch short of receive times decoded")
            return
        }
        #expect(error.index == 7)
        #expect(error.error.field == "receivedAtMs")
    }

    /// Batches never taken (refused by the machine, or of a replaced session) are let go:
    /// by the bound, and when a later batch is taken.
    @Test func batchesNeverTakenAreLetGo() async throws {
        let ops = try PackedOpsTests.uploadBacklog(count: 2 * DecodedBatches.capacity + 2)
        let stage = DecodedBatches()
        for index in 0..<(DecodedBatches.capacity + 2) {
            await stage.decodeAhead(Self.batch(UInt64(index), [ops[index]]))
        }
        #expect(stage.waiting == DecodedBatches.capacity)
        _ = await stage.take(Self.batch(5, [ops[5]]))
        #expect(stage.waiting == DecodedBatches.capacity + 1 - 5)
    }
}
