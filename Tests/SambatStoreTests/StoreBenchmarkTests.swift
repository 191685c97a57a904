import Foundation
import SambatCore
import SambatStore
import Testing

/// The yardsticks behind `sambat bench store`.
@Suite struct StoreBenchmarkTests {
    /// The "writes alone" ceiling writes exactly the rows a real apply of the same upload
    /// writes, so the figure it gives is the cost of this apply's writes and nothing less.
    @Test func writesAloneLeaveTheSameRowsAsARemoteApply() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        // Central authors intake and dispatch; the office works every case, round-robin.
        let author = try StoreFixtures.open(directory, StoreFixtures.central, .central, file: "author.sqlite")
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "dpupr.sqlite")
        var cases: [CaseID] = []
        for serial in 1...12 { cases.append(try await StoreFixtures.dispatchedCase(author, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: author, to: office)
        let bodies: [OpBody] = [
            .acknowledged, .started, .noted(.init(text: "Tim ke lokasi", visibility: .internal)),
            .resolved(.init(summary: "Sudah diperbaiki")),
        ]
        for body in bodies {
            for caseID in cases {
                _ = try await office.append(body, to: caseID, actor: StoreFixtures.officer, at: StoreFixtures.now)
            }
        }
        let setup = try await author.ops(of: author.currentOrigin(), after: 0, limit: 10_000).map(\.sealed)
        let upload = try await office.ops(of: office.currentOrigin(), after: 0, limit: 10_000).map(\.sealed)
        let batches = stride(from: 0, to: upload.count, by: 10).map { Array(upload[$0..<min($0 + 10, upload.count)]) }

        let received = Timestamp(millisecondsSinceEpoch: StoreFixtures.now.millisecondsSinceEpoch + 60_000)
        var paths: [String] = []
        for file in ["applied.sqlite", "written.sqlite"] {
            let central = try StoreFixtures.open(directory, StoreFixtures.central, .central, file: file)
            _ = try await central.applyRemote(
                setup.map { RemoteOp($0) },
                from: .feed(from: StoreFixtures.central),
                receivedAt: StoreFixtures.now
            )
            if file == "applied.sqlite" {
                for batch in batches {
                    let result = try await central.applyRemote(
                        batch.map { RemoteOp($0) },
                        from: .peer(StoreFixtures.dpupr, .office),
                        receivedAt: received
                    )
                    #expect(result.inserted == batch.count && result.quarantined.isEmpty)
                }
            } else {
                _ = try await central.measureApplyWrites(of: batches, receivedAt: received)
            }
            paths.append(directory + "/" + file)
        }
        let tables = ["op", "frontier", "feed", "caseView", "assignment", "caseConflict", "evidence"]
        let applied = try StoreFixtures.rows(of: tables, in: paths[0])
        let written = try StoreFixtures.rows(of: tables, in: paths[1])
        #expect(applied["op"]?.count == setup.count + upload.count)
        #expect(applied["feed"]?.isEmpty == false)
        for table in tables { #expect(applied[table] == written[table], "\(table) differs") }
        let clocks = try paths.map { path in try StoreFixtures.scalar(path, "SELECT lamport FROM nodeMeta") }
        #expect(clocks[0] == clocks[1])
    }

    /// An op that cannot fold onto its case incrementally is refused rather than timed.
    @Test func writesAloneRefuseAnOpThatDoesNotFoldIncrementally() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        // Claims nothing of the case's history, so it does not follow the case causally.
        let stray = try StoreFixtures.forged(origin: "dpupr#1", seq: 1, caseID: caseID, body: .acknowledged)
        await #expect(throws: StoreError.self) {
            _ = try await central.measureApplyWrites(of: [[stray]], receivedAt: StoreFixtures.now)
        }
    }
}
