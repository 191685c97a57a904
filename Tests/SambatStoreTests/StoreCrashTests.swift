import Foundation
import GRDB
import SambatCore
import SambatStore
import SambatTestKit
import Testing

/// Kills a writing process at random moments and checks that nothing committed is lost,
/// nothing is half-written, and re-applying what was committed changes nothing.
@Suite(.serialized) struct StoreCrashTests {
    static let kills = 60

    @Test(.timeLimit(.minutes(5)))
    func sigkillAtRandomMomentsLosesNothingAndReplaysAreNoOps() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/sambat.sqlite"
        let churn = URL(fileURLWithPath: try ProcessTestKit.binary("sambat-store-churn"))
        let seed = "7"
        var generator = SystemRandomNumberGenerator()
        var sawProgress = 0
        var lastChecked = CheckedRows()
        for round in 0..<Self.kills {
            let process = Process()
            process.executableURL = churn
            process.arguments = ["churn", path, seed]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let delay = UInt64.random(in: 40...350, using: &generator)
            try await Task.sleep(nanoseconds: delay * 1_000_000)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): the child exited on its own")

            // A restart first projects what the kill left unprojected (the journal).
            _ = try Store.open(StoreConfiguration(path: path), identity: Self.identity)
            let position = try checkInvariants(path, round: round)
            if position > 0 { sawProgress += 1 }
            try await checkRowsMatchTheFold(path, round: round, since: &lastChecked, all: round % 10 == 9)

            if round % 10 == 9 {
                // Re-apply every committed batch: byte-identical afterwards.
                let before = try StoreFixtures.dump(path)
                let replay = try await ProcessTestKit.run(churn.path, ["replay", path, seed])
                #expect(replay.status == 0, "\(replay.output)\(replay.errors)")
                #expect(try StoreFixtures.dump(path) == before, "round \(round): replay changed the store")
            }
        }
        #expect(sawProgress > Self.kills / 2, "the child rarely committed anything before being killed")
    }

    @Test(.timeLimit(.minutes(2)))
    func twoProcessesWritingOneFileKeepTheLogConsistent() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/sambat.sqlite"
        let churn = URL(fileURLWithPath: try ProcessTestKit.binary("sambat-store-churn"))
        // Create it first so the two writers do not race to create the schema.
        _ = try ProcessTestKit.runBlocking(churn.path, ["open", path])
        let writers = try (0..<2).map { _ in
            let process = Process()
            process.executableURL = churn
            process.arguments = ["churn", path, "11"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        try await Task.sleep(nanoseconds: 2_500_000_000)
        for writer in writers {
            #expect(writer.isRunning, "a writer died while sharing the file")
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        _ = try Store.open(StoreConfiguration(path: path), identity: Self.identity)
        let position = try checkInvariants(path, round: 0)
        #expect(position > 0)
    }

    static let identity = NodeIdentity(node: StoreFixtures.dpupr, role: .office, central: StoreFixtures.central)

    /// A kill between the op log's commit and the projection loses nothing and counts nothing
    /// twice.
    ///
    /// The child commits 20 batches to the op log and is killed before their projection is
    /// written. The restart projects them from the journal: no op is lost, and no count (the
    /// offices' report counters above all) takes an op twice; the rows equal a rebuild.
    @Test(.timeLimit(.minutes(2)))
    func aKillBetweenTheLogCommitAndItsProjectionLosesNothingAndCountsNothingTwice() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sambat.sqlite"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ProcessTestKit.binary("sambat-store-churn"))
        process.arguments = ["defer", path, "5"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: path + ".deferred"), process.isRunning,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(process.isRunning, "the child stopped before it was killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(FileManager.default.fileExists(atPath: path + ".deferred"), "the child never got there")

        // The kill came between the commits and their projection: every case has its row (so
        // an open finds nothing missing to rebuild), but the rows still show the cases open.
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == 20)
        let cases = try StoreFixtures.scalar(path, "SELECT COUNT(DISTINCT caseKey) FROM op") ?? 0
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView") == cases)
        let stale = try StoreProjectionTests.projectionTables(path)

        var configuration = StoreConfiguration(path: path)
        configuration.deadlines = StoreFixtures.deadlines
        let store = try Store.open(configuration, identity: Self.identity)
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == 0)
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView") == cases)
        let kept = try StoreProjectionTests.projectionTables(path)
        let rebuilt = try await StoreProjectionTests.rebuilt(path, identity: store.identity)
        #expect(kept == rebuilt, "the projection after the restart differs from a rebuild")
        #expect(stale["caseView"] != kept["caseView"], "the closes should have been pending at the kill")
        #expect(stale["officeStats"] != kept["officeStats"], "the closes should move the office counters")
        #expect(kept["officeStats"]?.isEmpty == false, "the office counters should be part of the check")
    }

    /// What one fold check saw: each case's projection row and how many ops it had.
    private struct CheckedRows {
        /// Each case's status and its whole row, column by column.
        var rows: [String: (status: Int, values: [DatabaseValue])] = [:]
        /// Committed ops per case, by the log's case key.
        var opCounts: [Int64: Int] = [:]
    }

    /// Opens the store as a restart does and checks that each case row's status is what a fold
    /// of the case's committed ops gives.
    ///
    /// Folding every case after every kill made this test the longest of the run (the store
    /// grows to about a thousand cases), so only the cases that gained ops since the last check
    /// are folded; a case that gained none must have kept its row byte for byte. With `all`,
    /// every case is folded.
    private func checkRowsMatchTheFold(
        _ path: String,
        round: Int,
        since last: inout CheckedRows,
        all: Bool
    ) async throws {
        let queue = try DatabaseQueue(path: path)
        let seen = try await queue.read { db in
            var seen = CheckedRows()
            for row in try Row.fetchAll(db, sql: "SELECT * FROM caseView") {
                seen.rows[row["caseId"]] = (row["status"], Array(row.databaseValues))
            }
            for row in try Row.fetchAll(db, sql: "SELECT caseKey, COUNT(*) FROM op GROUP BY caseKey") {
                seen.opCounts[row[0]] = row[1]
            }
            return seen
        }
        try queue.close()
        defer { last = seen }
        guard !seen.rows.isEmpty else { return }
        let store = try Store.open(
            StoreConfiguration(path: path),
            identity: NodeIdentity(node: try NodeID("dpupr"), role: .office, central: try NodeID("central"))
        )
        for (text, row) in seen.rows {
            let caseID = try CaseID(text)
            let key = CaseKey.of(caseID)
            if !all, let before = last.rows[text], last.opCounts[key] == seen.opCounts[key] {
                #expect(row.values == before.values, "round \(round): the row of \(text) changed without a new op")
                continue
            }
            let state = try await store.caseState(caseID)
            #expect(state.map { Int($0.status.rawValue) } == row.status, "round \(round): row of \(text)")
        }
    }

    /// Opens the store after a crash and checks the log's invariants; returns the checkpoint.
    private func checkInvariants(_ path: String, round: Int) throws -> Int64 {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            // The log keys cases by their packed ticket number; the projection by its text.
            db.add(function: CaseKey.sqlFunction)
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"], "round \(round)")
            // Killed before the first migration committed: an empty file, which the next open migrates.
            guard try db.tableExists("nodeMeta") else {
                #expect(try !db.tableExists("op"), "round \(round): a half-created schema")
                return 0
            }
            // Every frontier is exactly the highest contiguous seq present.
            for row in try Row.fetchAll(db, sql: "SELECT origin, contiguous FROM frontier") {
                let origin: String = row["origin"]
                let contiguous: Int64 = row["contiguous"]
                let seqs = try Int64.fetchAll(
                    db,
                    sql: "SELECT seq FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?) ORDER BY seq",
                    arguments: [origin]
                )
                var expected: Int64 = 0
                for seq in seqs where seq == expected + 1 { expected = seq }
                #expect(contiguous == expected, "round \(round): frontier of \(origin)")
            }
            // Local seqs are gapless and end right below nextSeq; central's are gapless too.
            guard let meta = try Row.fetchOne(db, sql: "SELECT incarnation, nextSeq FROM nodeMeta") else {
                Issue.record("round \(round): no metadata row")
                return 0
            }
            let own = "dpupr#\(meta["incarnation"] as Int64)"
            let ownSeqs = try Int64.fetchAll(
                db,
                sql: "SELECT seq FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?) ORDER BY seq",
                arguments: [own]
            )
            #expect(ownSeqs == Array(1..<(meta["nextSeq"] as Int64)), "round \(round): local seqs")
            let centralSeqs = try Int64.fetchAll(
                db,
                sql:
                    "SELECT seq FROM op WHERE originKey = (SELECT key FROM origin WHERE name = 'central#1') ORDER BY seq"
            )
            #expect(centralSeqs == Array(1..<Int64(centralSeqs.count + 1)), "round \(round): feed seqs")
            // Every case with ops has one projection row, which counts exactly the case's
            // committed ops other than notes and evidence (kinds 8 and 14).
            let cases = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT caseKey) FROM op") ?? -1
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caseView") == cases, "round \(round): rows")
            let ahead =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM caseView
                        WHERE changeCount != (
                            SELECT COUNT(*) FROM op WHERE op.caseKey = sambatCaseKey(caseView.caseId) AND op.kind NOT IN (8, 14)
                        )
                        """
                ) ?? -1
            #expect(ahead == 0, "round \(round): projections")
            #expect(
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM projectionJournal") == 0,
                "round \(round): the restart left ops unprojected"
            )
            return try Int64.fetchOne(db, sql: "SELECT position FROM checkpoint WHERE peer = 'central'") ?? 0
        }
    }
}
