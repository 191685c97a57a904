import Foundation
import SambatCore
import SambatStore
import Testing

/// The yardsticks behind `sambat bench store`.
@Suite struct StoreBenchmarkTests {
    /// The "writes alone" ceiling leaves exactly the rows a real apply of the same ops leaves.
    ///
    /// At central (an office's upload, with a mayor enrolled, so both feeds grow) and at the
    /// mayor (central's feed, so the feed checkpoint moves). Batches touch a case more than
    /// once, so feed runs are split by case as the apply splits them.
    @Test(arguments: [NodeRole.central, .mayor])
    func writesAloneLeaveTheSameRowsAsARemoteApply(at role: NodeRole) async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
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
        let batches = stride(from: 0, to: upload.count, by: 30).map { Array(upload[$0..<min($0 + 30, upload.count)]) }

        let node = role == .central ? StoreFixtures.central : StoreFixtures.mayor
        let received = Timestamp(millisecondsSinceEpoch: StoreFixtures.now.millisecondsSinceEpoch + 60_000)
        var paths: [String] = []
        for file in ["applied.sqlite", "written.sqlite"] {
            let store = try StoreFixtures.open(directory, node, role, file: file)
            if role == .central {
                try await store.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
            }
            _ = try await store.applyRemote(
                setup.map { RemoteOp($0) },
                from: .feed(from: StoreFixtures.central),
                receivedAt: StoreFixtures.now,
                feedPosition: role == .central ? nil : UInt64(setup.count)
            )
            if file == "applied.sqlite" {
                var position = UInt64(setup.count)
                for batch in batches {
                    position += UInt64(batch.count)
                    let result = try await store.applyRemote(
                        batch.map { RemoteOp($0) },
                        from: role == .central
                            ? .peer(StoreFixtures.dpupr, .office) : .feed(from: StoreFixtures.central),
                        receivedAt: received,
                        feedPosition: role == .central ? nil : position
                    )
                    #expect(result.inserted == batch.count && result.quarantined.isEmpty)
                }
                try await store.projectPendingOps()
            } else {
                _ = try await store.measureApplyWrites(
                    of: batches,
                    receivedAt: received,
                    feedPositionBefore: UInt64(setup.count)
                )
            }
            paths.append(directory + "/" + file)
        }
        let tables = [
            "op", "frontier", "feed", "checkpoint", "caseView", "assignment", "caseConflict", "evidence",
            "caseStage", "officeStats", "projectionJournal",
        ]
        let applied = try StoreFixtures.rows(of: tables, in: paths[0])
        let written = try StoreFixtures.rows(of: tables, in: paths[1])
        #expect(applied["op"]?.count == setup.count + upload.count)
        #expect(applied["projectionJournal"] == [], "the projection should have caught up")
        if role == .central {
            let mayorRuns = applied["feed"]?.filter { $0.contains("peer:\"mayor\"") && $0.contains("dpupr#1") }
            // Each batch of 30 comes back to its 12 cases two or three times: still one run.
            #expect(mayorRuns?.count == batches.count, "the feed should take each batch in its order")
        } else {
            #expect(applied["checkpoint"]?.count == 1)
        }
        for table in tables { #expect(applied[table] == written[table], "\(table) differs") }
        let clocks = try paths.map { path in try StoreFixtures.scalar(path, "SELECT lamport FROM nodeMeta") }
        #expect(clocks[0] == clocks[1])
    }

    /// An op that cannot fold onto its case incrementally is refused before anything is written.
    @Test func writesAloneRefuseAnOpThatDoesNotFoldIncrementally() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        // Claims nothing of the case's history, so it does not follow the case causally.
        let stray = try StoreFixtures.forged(origin: "dpupr#1", seq: 1, caseID: caseID, body: .acknowledged)
        let error = await #expect(throws: StoreError.self) {
            _ = try await central.measureApplyWrites(of: [[stray]], receivedAt: StoreFixtures.now)
        }
        #expect(error?.code == .invalidBatch)
        #expect(try StoreFixtures.scalar(directory + "/sambat.sqlite", "SELECT COUNT(*) FROM op") == 3)
    }
}
