import Foundation
import GRDB
import SambatCore
import SambatStore
import Testing

/// A peer's batch folded beside the writer (`StoreConfiguration.foldLaneBatchOps`) leaves
/// central exactly as folding on the writer does.
@Suite struct FoldLaneTests {
    /// Two centrals take the same inputs and must end the same, one folding on the lane.
    ///
    /// The inputs: two offices' offline work, uploaded in batches, while central reassigned
    /// and annotated some of their cases (so ops arrive out of fold order and conflict), a
    /// resent batch, and ops the uploader may not author. One central folds no batch on the
    /// lane; a second folds every batch there and takes every cached case's slot from the lane
    /// (`FoldLaneSlots.fromLane`); a third takes those the lane has made when the writer gets
    /// to them (the default); a fourth takes every cached case's slot from the lane with room
    /// for a third of the cases, so that a batch finds some cases cached and folds the others
    /// from the log, and the lane's lookups turn the cache's generations while the writer
    /// holds boxes. Their answers, their files (op log, quarantine, feeds,
    /// projection rows written from the cached states) and a later write on the cached states
    /// must be the same.
    @Test func aBacklogFoldedBesideTheWriterLeavesCentralAsTheWriterWould() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func central(
            _ file: String,
            laneFrom ops: Int,
            slots: FoldLaneSlots = .whenAhead,
            cachedCases: Int = 10_000
        ) throws -> Store {
            var configuration = StoreConfiguration(path: directory + "/" + file, caseCacheCapacity: cachedCases)
            configuration.deadlines = StoreFixtures.deadlines
            configuration.foldLaneBatchOps = ops
            configuration.foldLaneSlots = slots
            return try Store.open(configuration, identity: StoreFixtures.identity(StoreFixtures.central, .central))
        }
        let onWriter = try central("writer.sqlite", laneFrom: .max)
        let laneFiles = ["lane.sqlite", "lane-ahead.sqlite", "lane-small-cache.sqlite"]
        let onLane = [
            try central(laneFiles[0], laneFrom: 1, slots: .fromLane),
            try central(laneFiles[1], laneFrom: 1),
            try central(laneFiles[2], laneFrom: 1, slots: .fromLane, cachedCases: 40),
        ]
        let centrals = [onWriter] + onLane
        let offices = [
            try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "dpupr.sqlite"),
            try StoreFixtures.open(directory, StoreFixtures.dlh, .office, file: "dlh.sqlite"),
        ]
        let cases = (1...120).map(StoreFixtures.caseID)
        func office(of index: Int) -> NodeID { index % 2 == 0 ? StoreFixtures.dpupr : StoreFixtures.dlh }
        for central in centrals {
            try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
            for index in cases.indices {
                _ = try await StoreFixtures.dispatchedCase(central, serial: index + 1, to: office(of: index))
            }
        }
        for office in offices { try await StoreFixtures.deliverFeed(from: onWriter, to: office) }

        // Offline, each office works its cases: several ops each, some returned, a step of
        // every case at a time, so a case's ops are spread over the upload and its later ones
        // come while the lane folds its earlier ones.
        let work = cases.indices.map { index in
            var bodies: [OpBody] = [.acknowledged, .started]
            for note in 0..<(index % 6) {
                bodies.append(.noted(.init(text: "Cek \(note)", visibility: .internal)))
            }
            bodies.append(
                index % 5 == 0
                    ? .returned(.init(reason: .notOurAuthority, note: "Bukan wewenang kami"))
                    : .resolved(.init(summary: "Selesai"))
            )
            return bodies
        }
        for step in 0..<(work.map(\.count).max() ?? 0) {
            for (index, caseID) in cases.enumerated() where step < work[index].count {
                _ = try await offices[index % 2].append(
                    work[index][step],
                    to: caseID,
                    actor: StoreFixtures.actor("\(office(of: index)).budi"),
                    at: StoreFixtures.now
                )
            }
        }
        // Meanwhile central notes some cases and moves two of dpupr's to dlh: the offices'
        // ops come after central's in fold order, and those on the moved cases conflict.
        for central in centrals {
            for caseID in cases.prefix(8) {
                _ = try await central.append(
                    .noted(.init(text: "Operator memantau", visibility: .internal)),
                    to: caseID,
                    actor: StoreFixtures.operatorActor,
                    at: StoreFixtures.now
                )
            }
            for caseID in [cases[2], cases[6]] {
                _ = try await central.append(
                    .reassigned(.init(from: StoreFixtures.dpupr, to: StoreFixtures.dlh, epoch: 1)),
                    to: caseID,
                    actor: StoreFixtures.operatorActor,
                    at: StoreFixtures.now
                )
            }
        }

        // The uploads: each office's first batch of 300 ops (the lane takes 256 at a time, so
        // the writer goes on while it folds), then batches of seven, then one resent whole.
        var batches: [(peer: NodeID, ops: [RemoteOp])] = []
        for store in offices {
            let origin = try await store.currentOrigin()
            let ops = try await store.ops(of: origin, after: 0, limit: 10_000).map { RemoteOp($0.sealed) }
            var start = 0
            while start < ops.count {
                let end = min(start + (start == 0 ? 300 : 7), ops.count)
                batches.append((store.identity.node, Array(ops[start..<end])))
                start = end
            }
        }
        #expect(batches[0].ops.count == 300)
        batches.append(try #require(batches.first { $0.ops.count == 7 }))
        // dlh's next seqs, authored for a case only dpupr ever held: quarantined.
        let dlhOrigin = try await offices[1].currentOrigin()
        let dlhLast = try await offices[1].ops(of: dlhOrigin, after: 0, limit: 10_000).count
        let forged = try (1...3).map { offset in
            RemoteOp(
                try StoreFixtures.forged(
                    origin: dlhOrigin.description,
                    seq: UInt64(dlhLast + offset),
                    caseID: cases[0],
                    lamport: 400,
                    body: .noted(.init(text: "Bukan kasus kami", visibility: .internal))
                )
            )
        }
        batches.append((StoreFixtures.dlh, forged))

        var answers: [[RemoteApplyResult]] = centrals.map { _ in [] }
        for batch in batches {
            for (which, central) in centrals.enumerated() {
                let answer = try await central.applyRemote(
                    batch.ops,
                    from: .peer(batch.peer, .office),
                    receivedAt: StoreFixtures.now
                )
                answers[which].append(answer)
            }
        }
        for other in answers.dropFirst() { #expect(answers[0] == other) }
        #expect(answers[1].reduce(0) { $0 + $1.inserted } > 100)
        #expect(answers[1].reduce(0) { $0 + $1.duplicates } == 7)
        #expect(answers[1].last?.quarantined.count == 3)

        // A later write on every case folds into its cached state, or the state folded from the
        // log where the cache let it go, and writes its rows from it (`caseState` below folds
        // the log, so it cannot see a cached state gone wrong; these rows can).
        for central in centrals {
            try await central.projectPendingOps()
            try await StoreFixtures.close(cases, at: central)
        }
        let tables = [
            "op", "quarantine", "frontier", "feed", "caseView", "assignment", "caseStage", "caseConflict",
            "officeStats", "officeWork",
        ]
        for (file, store) in zip(laneFiles, onLane) {
            try Self.expectSameRows(of: tables, in: directory + "/" + file, as: directory + "/writer.sqlite", file)
            let conflicts = try StoreFixtures.scalar(directory + "/" + file, "SELECT count(*) FROM caseConflict")
            #expect((conflicts ?? 0) > 0, "the moved cases conflict")
            for caseID in cases {
                #expect(try await store.caseState(caseID) == (try await onWriter.caseState(caseID)))
            }
        }
    }

    /// A batch that fails midway while the lane holds its slots and folds leaves no trace: sent
    /// again, it leaves central exactly as a central that took it once, on the writer alone.
    ///
    /// The failure is a trigger on the op log that aborts the insert of the batch's 60th op
    /// while central holds no op of its own beyond those written before the upload, so one
    /// more note by central lets the batch through again.
    @Test func aBatchThatFailsMidwayOnTheLaneLeavesNoTrace() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func central(_ file: String, laneFrom ops: Int) throws -> Store {
            var configuration = StoreConfiguration(path: directory + "/" + file)
            configuration.deadlines = StoreFixtures.deadlines
            configuration.foldLaneBatchOps = ops
            configuration.foldLaneSlots = .fromLane
            return try Store.open(configuration, identity: StoreFixtures.identity(StoreFixtures.central, .central))
        }
        let onWriter = try central("writer.sqlite", laneFrom: .max)
        let onLane = try central("lane.sqlite", laneFrom: 1)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "dpupr.sqlite")
        let cases = (1...40).map(StoreFixtures.caseID)
        for store in [onWriter, onLane] {
            for index in cases.indices { _ = try await StoreFixtures.dispatchedCase(store, serial: index + 1) }
        }
        // Another connection's change empties the lane central's cache; a note on each case
        // then brings every case back into it before the upload. The office sees the notes
        // before it works, so its ops fold onto the cached states in order (an op concurrent
        // with the note would have its case folded again from the log instead).
        let lanePath = directory + "/lane.sqlite"
        let opsBefore = try #require(try StoreFixtures.scalar(lanePath, "SELECT count(*) FROM op"))
        let centralOps = opsBefore + Int64(cases.count)
        let queue = try DatabaseQueue(path: lanePath)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER injectedFailure BEFORE INSERT ON op
                    WHEN NEW.seq = 60 AND (SELECT count(*) FROM op WHERE originKey != NEW.originKey) = \(centralOps)
                    BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                    """
            )
        }
        try queue.close()
        let note = OpBody.noted(.init(text: "Operator memantau", visibility: .internal))
        for store in [onWriter, onLane] {
            for caseID in cases {
                _ = try await store.append(note, to: caseID, actor: StoreFixtures.operatorActor, at: StoreFixtures.now)
            }
        }
        try await StoreFixtures.deliverFeed(from: onWriter, to: office)
        for body in [OpBody.acknowledged, .started] {
            for caseID in cases {
                _ = try await office.append(
                    body,
                    to: caseID,
                    actor: StoreFixtures.actor("dpupr.budi"),
                    at: StoreFixtures.now
                )
            }
        }
        let upload = try await office.ops(of: try await office.currentOrigin(), after: 0, limit: 1_000)
            .map { RemoteOp($0.sealed) }
        #expect(upload.count == 80)
        let uploader = RemoteSource.peer(StoreFixtures.dpupr, .office)

        await #expect(throws: StoreError.self) {
            _ = try await onLane.applyRemote(upload, from: uploader, receivedAt: StoreFixtures.now)
        }
        #expect(try StoreFixtures.scalar(lanePath, "SELECT count(*) FROM op") == centralOps, "none of the batch kept")

        let tables = ["op", "frontier", "feed", "caseView", "assignment", "caseStage", "officeStats", "officeWork"]
        func expectSameRows(_ moment: String) throws {
            try Self.expectSameRows(of: tables, in: lanePath, as: directory + "/writer.sqlite", moment)
        }

        // One more note by each central, written from its cached state: the lane central's
        // must not hold what the failed batch folded into it. Then the upload again.
        for store in [onWriter, onLane] {
            _ = try await store.append(note, to: cases[0], actor: StoreFixtures.operatorActor, at: StoreFixtures.now)
        }
        try expectSameRows("after the failed batch")
        var answers: [RemoteApplyResult] = []
        for store in [onWriter, onLane] {
            answers.append(
                try await store.applyRemote(upload, from: uploader, receivedAt: StoreFixtures.now)
            )
            try await StoreFixtures.close(cases, at: store)
        }
        #expect(answers[0] == answers[1])
        #expect(answers[1].inserted == 80)
        try expectSameRows("at the end")
        for caseID in cases {
            #expect(try await onLane.caseState(caseID) == (try await onWriter.caseState(caseID)))
        }
    }

    /// Expects the store at `path` to hold the rows of `tables` that the one at `reference`
    /// holds; `moment` names the comparison in a failure.
    static func expectSameRows(of tables: [String], in path: String, as reference: String, _ moment: String) throws {
        let expected = try StoreFixtures.rows(of: tables, in: reference)
        let found = try StoreFixtures.rows(of: tables, in: path)
        for table in tables {
            let (mine, theirs) = (found[table] ?? [], expected[table] ?? [])
            let differing = Set(mine).symmetricDifference(theirs).sorted()
            #expect(mine.count == theirs.count && differing.isEmpty, "\(moment), \(table): \(differing.prefix(3))")
        }
    }
}
