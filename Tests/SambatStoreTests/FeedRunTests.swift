import SambatCore
import Testing

@testable import SambatStore

/// How feed entries form runs, and how a back-fill finds what a feed already covers.
@Suite struct FeedRunTests {
    static func id(_ origin: String, _ seq: UInt64) throws -> OpID {
        try OpID(origin: try Origin(parsing: origin), seq: seq)
    }

    @Test func onlyConsecutiveSeqsOfOneOriginShareARun() throws {
        var feeds = PendingFeeds()
        for (origin, seq) in [("dpupr#1", 3), ("dpupr#1", 4), ("central#1", 5), ("dpupr#1", 5), ("dpupr#1", 7)] {
            feeds.append(try Self.id(origin, UInt64(seq)), to: "mayor")
        }
        feeds.append(try Self.id("dpupr#1", 8), to: "dlh")
        feeds.append(try Self.id("dpupr#2", 9), to: "dlh")
        #expect(feeds.lists.map(\.peer) == ["mayor", "dlh"])
        // dpupr#1/5 follows dpupr#1/4 in seq but not in the feed: a run of its own.
        #expect(
            feeds.runs(of: "mayor").map { "\($0.origin)/\($0.firstSeq)x\($0.length)" } == [
                "dpupr#1/3x2", "central#1/5x1", "dpupr#1/5x1", "dpupr#1/7x1",
            ]
        )
        // The same node under another incarnation is another origin.
        #expect(feeds.runs(of: "dlh").map(\.length) == [1, 1])
    }

    /// A feed batch in case order names each origin's seqs out of order; its journal row
    /// still takes one run per origin's consecutive seqs, and reads back as the same ops.
    @Test func aJournalRowNamesAFeedBatchInCaseOrderAsEachOriginsRuns() throws {
        let caseID = try CaseID("MJK-261129-0042")
        var batch: [SealedOp] = []
        // Case by case: dpupr#1/1, dlh#1/1, dpupr#1/2, dlh#1/2, ... then dpupr#1/9 after a gap.
        for seq in 1...4 {
            for origin in ["dpupr#1", "dlh#1"] {
                batch.append(
                    try StoreFixtures.forged(origin: origin, seq: UInt64(seq), caseID: caseID, body: .acknowledged)
                )
            }
        }
        batch.append(try StoreFixtures.forged(origin: "dpupr#1", seq: 9, caseID: caseID, body: .acknowledged))
        let retimed: Set<OpID> = [try Self.id("central#1", 3)]
        let row = ProjectionJournal.encode(inserted: batch.reversed(), retimed: retimed)
        #expect(
            String(decoding: row, as: UTF8.self).split(separator: "\n") == [
                "o dlh#1 1 4", "o dpupr#1 1 4", "o dpupr#1 9 1", "r central#1 3",
            ]
        )
        let named = try ProjectionJournal.decode(row, path: "journal")
        #expect(Set(named.inserted) == Set(batch.map(\.op.id)))
        #expect(named.inserted.count == batch.count)
        #expect(named.retimed == Array(retimed))
    }

    @Test func coverageSeesEverySeqOfOverlappingRunsAndNothingElse() {
        var coverage = FeedCoverage()
        // Sorted by first seq; 10...30 reaches past the run that starts after it.
        coverage.add(first: 1, last: 3)
        coverage.add(first: 10, last: 30)
        coverage.add(first: 12, last: 14)
        coverage.add(first: 40, last: 40)
        let covered = (0...45).filter { coverage.contains(Int64($0)) }
        #expect(covered == Array(1...3) + Array(10...30) + [40])
        #expect(!FeedCoverage().contains(1))
    }
}
