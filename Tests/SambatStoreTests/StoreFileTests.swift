import Foundation
import GRDB
import SambatCore
import SambatTestKit
import Synchronization
import Testing

@testable import SambatStore

/// Opening, migrating, restoring, and refusing bad files.
@Suite struct StoreFileTests {
    /// Found by the demo test: `sambat status` opened an office's store while `sambat run`
    /// was creating it, and one of the two failed inside the migrations ("SQLite error 1").
    @Test func storesOpenedAtOnceOnANewFileAllSucceed() throws {
        for round in 0..<5 {
            let directory = try StoreFixtures.temporaryDirectory()
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do {
                    _ = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office)
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
        }
    }

    @Test func aDataDirectoryOfAnotherNodeIsRefused() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        _ = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office)
        #expect { try StoreFixtures.open(directory, StoreFixtures.dlh, .office) } throws: { error in
            let error = error as? StoreError
            return error?.code == .wrongNode && error?.message.contains("belongs to node dpupr") == true
        }
        #expect { try StoreFixtures.open(directory, StoreFixtures.dpupr, .mayor) } throws: {
            ($0 as? StoreError)?.code == .wrongNode
        }
    }

    @Test func aRestoredStoreStartsANewIncarnationBeforeItWrites() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        var office: Store? = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        guard let original = office else { return }
        let caseID = try await StoreFixtures.dispatchedCase(central)
        try await StoreFixtures.deliverFeed(from: central, to: original)
        _ = try await original.append(.acknowledged, to: caseID, actor: StoreFixtures.officer, at: StoreFixtures.now)
        try await original.backup(to: directory + "/backup.sqlite")
        // After the backup the office works on and central receives it: dpupr#1 seq 1 and 2.
        _ = try await original.append(.started, to: caseID, actor: StoreFixtures.officer, at: StoreFixtures.now)
        try await StoreFixtures.upload(from: original, to: central)
        office = nil

        // The disk dies; the backup is restored.
        try Store.restore(backup: directory + "/backup.sqlite", to: directory + "/office.sqlite")
        let restored = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        let meta = try await restored.meta()
        #expect(meta.origin.description == "dpupr#2")
        #expect(meta.nextSeq == 1)
        let note = try await restored.append(
            .noted(.init(text: "Dipulihkan dari cadangan", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.officer,
            at: StoreFixtures.now
        )
        #expect(note.sealed.op.id.description == "dpupr#2/1")
        let upload = try await StoreFixtures.upload(from: restored, to: central)
        #expect(upload.inserted == 1)
        #expect(upload.integrityAlarms.isEmpty)
        #expect(try await central.frontier(of: try Origin(parsing: "dpupr#1")) == 2)
        #expect(try await central.frontier(of: try Origin(parsing: "dpupr#2")) == 1)
        // Opening it again does not move to yet another incarnation.
        let again = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        #expect(try await again.meta().origin.description == "dpupr#2")
    }

    @Test func aDatabaseOfThePreviousSchemaVersionIsUpgradedWithItsCases() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/old.sqlite"
        // A v1 database: the log exists, the projection tables do not yet.
        let (caseID, _) = try await Self.makeVersion1DatabaseWithADispatchedCase(at: path)
        let upgraded = try Store.open(
            StoreConfiguration(path: path),
            identity: StoreFixtures.identity(StoreFixtures.central, .central)
        )
        #expect(try await upgraded.caseIDs() == [caseID])
        #expect(try await upgraded.caseState(caseID)?.status == .dispatched)
        let queue = try DatabaseQueue(path: path)
        let applied = try await queue.read { db in try StoreSchema.migrator.appliedMigrations(db) }
        #expect(applied == StoreSchema.migrator.migrations)
        let status = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT status FROM caseView") }
        #expect(status == Int(CaseStatus.dispatched.rawValue))
        // And it keeps working: the next local op continues the sequence.
        let next = try await upgraded.append(
            .closed(.init(reason: .byOperator)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(next.sealed.op.id.seq == 4)
    }

    /// A new store takes the configured page size; a store created with other pages keeps its
    /// own, works as before, and keeps its write-ahead log to the same number of bytes.
    @Test func aNewStoreTakesLargePagesAndAnExistingStoreKeepsItsOwn() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = StoreFixtures.identity(StoreFixtures.central, .central)
        let fresh = try Store.open(StoreConfiguration(path: directory + "/fresh.sqlite"), identity: identity)
        _ = try await StoreFixtures.dispatchedCase(fresh)
        #expect(try await fresh.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 8_192)
        #expect(fresh.checkpointer.frameLimits == (background: 500, writer: 4_000))

        // A store an earlier release created, with SQLite's 4 KiB pages.
        var earlier = StoreConfiguration(path: directory + "/earlier.sqlite")
        earlier.pageSize = 4_096
        var created: Store? = try Store.open(earlier, identity: identity)
        let caseID = try await StoreFixtures.dispatchedCase(created!)
        created = nil
        let reopened = try Store.open(StoreConfiguration(path: directory + "/earlier.sqlite"), identity: identity)
        #expect(try await reopened.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 4_096)
        #expect(reopened.checkpointer.frameLimits == (background: 1_000, writer: 8_000))
        #expect(try await reopened.caseState(caseID)?.status == .dispatched)
        try await Self.expectTakesNewWork(reopened, on: caseID)
    }

    /// A store opened from an older file takes new work on its dispatched case (three ops): a
    /// note continues the case's log, and the file checks whole.
    static func expectTakesNewWork(
        _ store: Store,
        on caseID: CaseID,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        _ = try await store.append(
            .noted(.init(text: "Setelah pembaruan", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(try await store.ops(ofCase: caseID).count == 4, sourceLocation: sourceLocation)
        #expect(try await store.integrityCheck() == ["ok"], sourceLocation: sourceLocation)
    }

    /// The page sizes SQLite takes, and only those: the powers of two from 512 to 65,536.
    @Test func thePossiblePageSizesAreSQLitesOwn() {
        #expect((-1...70_000).filter(StoreConfiguration.isPossiblePageSize) == (9...16).map { 1 << $0 })
    }

    /// A page size SQLite cannot use is refused before any file is created.
    @Test(arguments: [0, 1_000, 256, 131_072])
    func anImpossiblePageSizeIsRefused(_ size: Int) throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = StoreConfiguration(path: directory + "/sambat.sqlite")
        configuration.pageSize = size
        let error = #expect(throws: StoreError.self) {
            try Store.open(configuration, identity: StoreFixtures.identity(StoreFixtures.central, .central))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("page size \(size)") == true)
        #expect(!FileManager.default.fileExists(atPath: directory + "/sambat.sqlite"))
    }

    @Test func garbageForeignAndNewerFilesAreRefusedWithARemedy() throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let garbage = directory + "/garbage.sqlite"
        _ = FileManager.default.createFile(
            atPath: garbage,
            contents: Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        )
        #expect { try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "garbage.sqlite") } throws: {
            ($0 as? StoreError)?.code == .notADatabase
        }

        let foreign = directory + "/foreign.sqlite"
        let queue = try DatabaseQueue(path: foreign)
        try queue.write { db in try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)") }
        try queue.close()
        #expect { try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "foreign.sqlite") } throws: {
            error in
            let error = error as? StoreError
            return error?.code == .foreignDatabase && error?.path == foreign
        }
        // Nothing was added to the foreign file.
        let tables = try DatabaseQueue(path: foreign).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(tables == ["invoices"])

        _ = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "newer.sqlite")
        let newer = try DatabaseQueue(path: directory + "/newer.sqlite")
        try newer.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99-from-the-future')") }
        try newer.close()
        #expect { try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "newer.sqlite") } throws: {
            ($0 as? StoreError)?.code == .newerSchema
        }

        #expect { try StoreFixtures.open(directory + "/missing", StoreFixtures.dpupr, .office) } throws: {
            ($0 as? StoreError)?.code == .cannotOpen
        }
    }

    @Test func aFullDiskRefusesTheWriteAndLosesNothingCommitted() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/small.sqlite"
        var configuration = StoreConfiguration(path: path)
        // Room for the schema and the case, then a few notes: the schema's own size, measured.
        let caseID = try await StoreFixtures.dispatchedCase(
            try Store.open(configuration, identity: StoreFixtures.identity(StoreFixtures.central, .central))
        )
        let pages = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        }
        configuration.maximumPageCount = pages + 8
        let central = try Store.open(configuration, identity: StoreFixtures.identity(StoreFixtures.central, .central))
        let text = String(repeating: "Catatan panjang untuk mengisi halaman. ", count: 90)
        var committed = 3
        var failure: StoreError?
        for _ in 0..<200 {
            do {
                _ = try await central.append(
                    .noted(.init(text: text, visibility: .internal)),
                    to: caseID,
                    actor: StoreFixtures.operatorActor,
                    at: StoreFixtures.now
                )
                committed += 1
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .diskFull)
        #expect(failure?.message.contains("nothing was written") == true)
        // Reopen without the limit: every committed op is there, the failed one is not, seqs are gapless.
        let reopened = try StoreFixtures.open(directory, StoreFixtures.central, .central, file: "small.sqlite")
        #expect(try await reopened.integrityCheck() == ["ok"])
        let meta = try await reopened.meta()
        #expect(meta.nextSeq == UInt64(committed + 1))
        #expect(try await reopened.ops(ofCase: caseID).count == committed)
        #expect(try await reopened.frontier(of: meta.origin) == UInt64(committed))
        #expect(try await reopened.caseState(caseID)?.opCount == committed)
    }

    /// `ABORT` fails the statement and GRDB rolls the transaction back; `ROLLBACK` makes
    /// SQLite roll it back by itself, as an I/O error or a full disk can.
    @Test(arguments: ["ABORT", "ROLLBACK"])
    func aWriteThatFailsAfterFoldingLeavesNoTraceInTheCaseCache(resolution: String) async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        // A trigger (added through another connection) fails the case row's update to closed:
        // the op is inserted and folded into the cached state, then the transaction rolls back.
        let closed = CaseStatus.closed.rawValue
        let queue = try DatabaseQueue(path: directory + "/sambat.sqlite")
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER injectedFailure BEFORE UPDATE ON caseView WHEN NEW.status = \(closed)
                    BEGIN SELECT RAISE(\(resolution), 'injected failure'); END
                    """
            )
        }
        try queue.close()
        let note = OpBody.noted(.init(text: "Dicek", visibility: .internal))
        _ = try await central.append(note, to: caseID, actor: StoreFixtures.operatorActor, at: StoreFixtures.now)
        await #expect(throws: StoreError.self) {
            _ = try await central.append(
                .closed(.init(reason: .byOperator)),
                to: caseID,
                actor: StoreFixtures.operatorActor,
                at: StoreFixtures.now
            )
        }
        // The next op takes the same seq. Had the cache kept the rolled-back close, it would
        // count as already folded and the case row would say closed.
        _ = try await central.append(note, to: caseID, actor: StoreFixtures.operatorActor, at: StoreFixtures.now)
        let path = directory + "/sambat.sqlite"
        #expect(try StoreFixtures.scalar(path, "SELECT status FROM caseView") == Int64(CaseStatus.dispatched.rawValue))
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        #expect(try await central.caseState(caseID)?.opCount == 5)
    }

    /// Schema v13 drops columns, which SQLite before 3.35 cannot: such a system is refused
    /// with a clear error instead of a migration's syntax error.
    @Test func anSQLiteTooOldForTheSchemaIsRecognised() {
        #expect(Store.isRecentEnough(sqliteVersion: "3.40.1"))
        #expect(Store.isRecentEnough(sqliteVersion: "3.35.0"))
        #expect(!Store.isRecentEnough(sqliteVersion: "3.34.1"))
        #expect(!Store.isRecentEnough(sqliteVersion: "3.31.1"))
        #expect(!Store.isRecentEnough(sqliteVersion: ""))
    }

    @Test func aReadOnlyDirectoryIsRefusedWithAHint() throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let locked = directory + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        if getuid() != 0 {
            #expect { try StoreFixtures.open(locked, StoreFixtures.dpupr, .office) } throws: {
                ($0 as? StoreError)?.code == .readOnly
            }
            return
        }
        // Root ignores permissions: check the refusal as an unprivileged user in a child process.
        // A copy in the test's own directory, so the unprivileged user can run it wherever the checkout is.
        let churn = URL(fileURLWithPath: directory + "/sambat-store-churn")
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: try ProcessTestKit.binary("sambat-store-churn")),
            to: churn
        )
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: churn.path)
        let output = try ProcessTestKit.runBlocking(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", churn.path, "open", locked + "/sambat.sqlite"]
        )
        #expect(output.status == 1)
        #expect(output.output.contains("read-only"))
        #expect(output.output.contains("not writable"))
        #expect(!FileManager.default.fileExists(atPath: locked + "/sambat.sqlite"))
    }

    /// Every schema an earlier release left behind, the newest excepted.
    static let earlierSchemas = Array(StoreSchema.migrator.migrations.dropLast())

    /// An upgrade from each earlier schema: the store opens, reaches the current schema,
    /// rebuilds what it lists from the log, shows the same case, and takes new work.
    @Test(arguments: earlierSchemas)
    func aStoreOfAnEarlierSchemaOpensUnderThisRelease(_ schema: String) async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/earlier.sqlite"
        let source = try StoreFixtures.open(try StoreFixtures.temporaryDirectory(), StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(source)
        try Self.makeVersion1Database(at: path, caseID: caseID, ops: try await source.ops(ofCase: caseID))
        let queue = try DatabaseQueue(path: path)
        try StoreSchema.migrator.migrate(queue, upTo: schema)
        let before = try await queue.read { db in try StoreSchema.migrator.appliedIdentifiers(db) }
        try queue.close()
        #expect(before.contains(schema) && before.count < StoreSchema.migrator.migrations.count)

        let upgraded = try Store.open(
            StoreConfiguration(path: path),
            identity: StoreFixtures.identity(StoreFixtures.central, .central)
        )
        let after = try await upgraded.read { db in try StoreSchema.migrator.appliedIdentifiers(db) }
        #expect(after == Set(StoreSchema.migrator.migrations))
        #expect(try await upgraded.caseState(caseID) == source.caseState(caseID))
        #expect(try await upgraded.caseIDs() == [caseID])
        try await Self.expectTakesNewWork(upgraded, on: caseID)
    }

    /// A store a v12 release wrote, upgraded: the row counts only the changes now.
    ///
    /// Its case row counted every op (notes too) and its watched reporter was notified up to
    /// that count. After the upgrade the watched case is looked at again once.
    @Test func theUpgradeToLeanCaseRowsCountsOnlyChangesAndLooksAtWatchedCasesAgain() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/v12.sqlite"
        let source = try StoreFixtures.open(try StoreFixtures.temporaryDirectory(), StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(source)
        for text in ["Dicek", "Dicek lagi"] {
            _ = try await source.append(
                .noted(.init(text: text, visibility: .internal)),
                to: caseID,
                actor: StoreFixtures.operatorActor,
                at: StoreFixtures.now
            )
        }
        let ops = try await source.ops(ofCase: caseID)
        #expect(ops.count == 5)
        try Self.makeVersion1Database(at: path, caseID: caseID, ops: ops)
        let queue = try DatabaseQueue(path: path)
        try StoreSchema.migrator.migrate(queue, upTo: "v12-sync-health")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO caseView (caseId, status, phase, opCount, lamport, updatedAt) VALUES (?, 2, 2, 5, 9, 1);
                    INSERT INTO reporterCase (ref, caseId, openedAt, notifiedOps) VALUES ('rpt-1', ?, 1, 5);
                    """,
                arguments: [caseID.rawValue, caseID.rawValue]
            )
        }
        try queue.close()

        let upgraded = try Store.open(
            StoreConfiguration(path: path),
            identity: StoreFixtures.identity(StoreFixtures.central, .central)
        )
        let columns = try await upgraded.read { db in try db.columns(in: "caseView").map(\.name) }
        #expect(!columns.contains("lamport") && !columns.contains("updatedAt") && !columns.contains("opCount"))
        #expect(try StoreFixtures.scalar(path, "SELECT changeCount FROM caseView") == 3)
        let watched = try await upgraded.casesToNotify()
        #expect(watched.map(\.caseID) == [caseID])
        #expect(watched.first?.changes == 3)
    }

    @Test func aFeedWrittenOneRowPerOpBeforeRunsIsServedAndContinued() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let path = directory + "/v4.sqlite"
        // A v4 database: its projections rebuild from the log; its feed has one row per op.
        let (caseID, ops) = try await Self.makeVersion1DatabaseWithADispatchedCase(at: path)
        let queue = try DatabaseQueue(path: path)
        try StoreSchema.migrator.migrate(queue, upTo: "v4-feed-epoch")
        try await queue.write { db in
            for (index, op) in ops.enumerated() {
                try db.execute(
                    sql: "INSERT INTO feed (peer, feedSeq, origin, seq) VALUES ('dpupr', ?, ?, ?)",
                    arguments: [index + 1, op.sealed.op.id.origin.description, Int64(op.sealed.op.id.seq)]
                )
            }
        }
        try queue.close()

        let upgraded = try Store.open(
            StoreConfiguration(path: path),
            identity: StoreFixtures.identity(StoreFixtures.central, .central)
        )
        #expect(try await upgraded.feed(for: StoreFixtures.dpupr, after: 1, limit: 10).map(\.feedSeq) == [2, 3])
        _ = try await upgraded.append(
            .noted(.init(text: "Setelah pembaruan", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        let feed = try await upgraded.feed(for: StoreFixtures.dpupr, after: 0, limit: 10)
        #expect(feed.map(\.feedSeq) == [1, 2, 3, 4])
        #expect(feed.last?.op.sealed.op.kind == .noted)
    }

    /// Writes a schema-v1 database holding one dispatched case, as an older build left it.
    ///
    /// The case is authored by a current central in a scratch directory.
    static func makeVersion1DatabaseWithADispatchedCase(at path: String) async throws -> (CaseID, [StoredOp]) {
        let source = try StoreFixtures.open(try StoreFixtures.temporaryDirectory(), StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(source)
        let ops = try await source.ops(ofCase: caseID)
        try makeVersion1Database(at: path, caseID: caseID, ops: ops)
        return (caseID, ops)
    }

    /// Writes a database at schema v1 holding `ops`, as an older build would have left it.
    private static func makeVersion1Database(at path: String, caseID: CaseID, ops: [StoredOp]) throws {
        let queue = try DatabaseQueue(path: path)
        try StoreSchema.migrator.migrate(queue, upTo: "v1-oplog")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO nodeMeta (id, node, role, central, incarnation, nextSeq, lamport, createdAt)
                    VALUES (1, 'central', 'central', 'central', 1, 4, 3, 0)
                    """
            )
            for op in ops {
                try db.execute(
                    sql: "INSERT INTO op VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        op.sealed.op.id.origin.description, Int64(op.sealed.op.id.seq), caseID.rawValue,
                        Int64(op.sealed.op.lamport), Int64(op.sealed.op.kind.rawValue), Data(op.sealed.bytes),
                        Data(op.sealed.hash.bytes), op.receivedAt.millisecondsSinceEpoch,
                    ]
                )
            }
            try db.execute(sql: "INSERT INTO frontier VALUES ('central#1', 3)")
        }
        try queue.close()
    }
}
