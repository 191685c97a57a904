import Foundation
import GRDB
import SambatCore
import SambatStore
import SambatTestKit
import Testing

/// The projections a store maintains op by op against the ones rebuilt from its log.
@Suite struct StoreProjectionTests {
    /// Every store's projection tables equal what a rebuild from its op log writes.
    ///
    /// Central, two offices and a few rounds of every kind of change, synced now and then, so
    /// the incremental paths (notes, status changes, stamps, reassignment, conflicts,
    /// central's receive times adopted from the feed) all run.
    /// A note changes nothing a case row's readers use, so it does not write the row (the
    /// most common op, and before this the row was rewritten for it every time).
    @Test func aNoteLeavesTheCaseRowUnwrittenAndAStatusChangeWritesIt() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        // From here on any write to a case row fails its transaction.
        let queue = try DatabaseQueue(path: directory + "/sambat.sqlite")
        try await queue.write { db in
            try db.execute(
                sql: "CREATE TRIGGER rowWritten BEFORE UPDATE ON caseView BEGIN SELECT RAISE(ABORT, 'row written'); END"
            )
        }
        try queue.close()
        _ = try await central.append(
            .noted(.init(text: "Sudah dicek ke lokasi", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(try await central.caseState(caseID)?.opCount == 4)
        await #expect(throws: StoreError.self) {
            _ = try await central.append(
                .closed(.init(reason: .byOperator)),
                to: caseID,
                actor: StoreFixtures.operatorActor,
                at: StoreFixtures.now
            )
        }
    }

    /// With due times kept, a change rewrites only the projection rows whose values change: no
    /// stage row is deleted and rewritten, and no row is updated to what it already holds.
    @Test func aChangeWritesOnlyTheRowsWhoseValuesChange() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try Self.openCentral(directory)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let stagesBefore = try StoreFixtures.scalar(directory + "/sambat.sqlite", "SELECT COUNT(*) FROM caseStage")
        let queue = try DatabaseQueue(path: directory + "/sambat.sqlite")
        let caseColumns = [
            "status", "phase", "tier", "topic", "channel", "activeOffices", "openConflicts", "changeCount",
            "receivedAt", "dueAt", "subject", "closedAt", "archivedAt", "archiveReason",
        ]
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER stageDeleted BEFORE DELETE ON caseStage
                    BEGIN SELECT RAISE(ABORT, 'stage row deleted'); END;
                    CREATE TRIGGER stageRewritten BEFORE UPDATE ON caseStage
                    WHEN OLD.startedAt IS NEW.startedAt AND OLD.dueAt IS NEW.dueAt AND OLD.doneAt IS NEW.doneAt
                    BEGIN SELECT RAISE(ABORT, 'stage row rewritten unchanged'); END;
                    CREATE TRIGGER caseRowRewritten BEFORE UPDATE ON caseView
                    WHEN \(caseColumns.map { "OLD.\($0) IS NEW.\($0)" }.joined(separator: " AND "))
                    BEGIN SELECT RAISE(ABORT, 'case row rewritten unchanged'); END;
                    """
            )
        }
        try queue.close()
        for body in [
            OpBody.noted(.init(text: "Dicek", visibility: .internal)),
            .closed(.init(reason: .byOperator)),
            .reopened(.init(reason: "Warga melapor masih rusak")),
        ] {
            _ = try await central.append(body, to: caseID, actor: StoreFixtures.operatorActor, at: StoreFixtures.now)
        }
        #expect(try await central.caseState(caseID)?.opCount == 6)
        #expect(
            try StoreFixtures.scalar(directory + "/sambat.sqlite", "SELECT COUNT(*) FROM caseStage") == stagesBefore
        )
    }

    /// A cached case remembers the receive times its stage clocks read.
    ///
    /// Central's echo moves
    /// an office's own ops to central's receive time, and a later write must clock the stages
    /// from the moved times, as a rebuild from the log does.
    @Test func anEchoedReceiveTimeReachesTheStagesOfALaterWrite() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let policy = StoreFixtures.deadlines
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        let office = try StoreFixtures.open(
            directory,
            StoreFixtures.dpupr,
            .office,
            file: "dpupr.sqlite",
            deadlines: policy
        )
        let caseID = try await StoreFixtures.dispatchedCase(central, serial: 1)
        _ = try await StoreFixtures.deliverFeed(from: central, to: office)
        var clock = StoreFixtures.now.millisecondsSinceEpoch
        func tick() -> Timestamp {
            clock += 60_000
            return Timestamp(millisecondsSinceEpoch: clock)
        }
        // Worked offline: the second write reads the first one's local receive time.
        _ = try await office.append(.acknowledged, to: caseID, actor: StoreFixtures.officer, at: tick())
        _ = try await office.append(.started, to: caseID, actor: StoreFixtures.officer, at: tick())
        // Central receives both a day later, and its echo moves their receive times.
        clock += 24 * 3_600_000
        try await StoreFixtures.upload(from: office, to: central, at: tick())
        let echo = try await StoreFixtures.deliverFeed(from: central, to: office)
        #expect(echo.duplicates == 2, "the echo should carry the office's own two ops")
        let resolved = OpBody.resolved(.init(summary: "Sudah diperbaiki"))
        _ = try await office.append(resolved, to: caseID, actor: StoreFixtures.officer, at: tick())

        let kept = try Self.projectionTables(directory + "/dpupr.sqlite")
        let rebuilt = try await Self.rebuilt(directory + "/dpupr.sqlite", identity: office.identity)
        #expect(kept == rebuilt, "the office's projection differs from a rebuild")
    }

    @Test(arguments: [UInt64(7), 123, 2026])
    func incrementalProjectionsEqualARebuildFromTheLog(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let directory = try StoreFixtures.temporaryDirectory()
        // With a deadline policy, as nodes open their stores: stage clocks, due times and
        // office counts are kept too, and rewritten when an echo changes a receive time.
        let policy = StoreFixtures.deadlines
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        let dpupr = try StoreFixtures.open(
            directory,
            StoreFixtures.dpupr,
            .office,
            file: "dpupr.sqlite",
            deadlines: policy
        )
        let dlh = try StoreFixtures.open(directory, StoreFixtures.dlh, .office, file: "dlh.sqlite", deadlines: policy)
        var cases: [CaseID] = []
        for serial in 1...10 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        var clock = StoreFixtures.now.millisecondsSinceEpoch
        func tick() -> Timestamp {
            clock += 60_000
            return Timestamp(millisecondsSinceEpoch: clock)
        }
        let offices: [(store: Store, actor: ActorID)] = [
            (dpupr, StoreFixtures.officer), (dlh, StoreFixtures.actor("dlh.sari")),
        ]
        let officeBodies: [OpBody] = [
            .acknowledged, .started, .noted(.init(text: "Tim ke lokasi", visibility: .internal)),
            .resolved(.init(summary: "Sudah diperbaiki")),
            .returned(.init(reason: .notOurAuthority, note: "Bukan kewenangan kami")),
        ]
        for _ in 0..<8 {
            for office in offices {
                // An office that missed the last feed works on a stale view: conflicts follow.
                if random.next(below: 3) > 0 { try await StoreFixtures.deliverFeed(from: central, to: office.store) }
                for _ in 0..<12 {
                    let body = officeBodies[random.next(below: officeBodies.count)]
                    let caseID = cases[random.next(below: cases.count)]
                    _ = try? await office.store.append(body, to: caseID, actor: office.actor, at: tick())
                }
                if random.next(below: 4) > 0 {
                    try await StoreFixtures.upload(from: office.store, to: central, at: tick())
                }
            }
            for _ in 0..<4 {
                let caseID = cases[random.next(below: cases.count)]
                let body: OpBody =
                    switch random.next(below: 4) {
                    case 0: .noted(.init(text: "Operator memantau", visibility: .public))
                    case 1: .reassigned(.init(from: StoreFixtures.dpupr, to: StoreFixtures.dlh, epoch: 1))
                    case 2: .closed(.init(reason: .byOperator))
                    default: .reopened(.init(reason: "Pelapor: belum selesai"))
                    }
                _ = try? await central.append(body, to: caseID, actor: StoreFixtures.operatorActor, at: tick())
            }
        }
        for office in offices {
            try await StoreFixtures.upload(from: office.store, to: central, at: tick())
        }
        for office in offices { try await StoreFixtures.deliverFeed(from: central, to: office.store) }

        try await central.projectPendingOps()
        let conflicts = try StoreFixtures.scalar(directory + "/sambat.sqlite", "SELECT COUNT(*) FROM caseConflict")
        #expect((conflicts ?? 0) > 0, "the scenario should produce conflicts")
        for (store, file) in [(central, "sambat.sqlite"), (dpupr, "dpupr.sqlite"), (dlh, "dlh.sqlite")] {
            // The rows of the last batches from peers follow their ops in a later transaction.
            try await store.projectPendingOps()
            let kept = try Self.projectionTables(directory + "/" + file)
            let rebuilt = try await Self.rebuilt(directory + "/" + file, identity: store.identity)
            #expect(kept == rebuilt, "\(file): incremental projection differs from a rebuild")
        }
    }

    /// An open says when it rebuilt every projection row (a node logs it: at a year of a city
    /// it is most of a start): after the deadline policy changed, and not on the opens after.
    @Test func anOpenSaysWhetherItRebuiltTheProjection() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = StoreFixtures.deadlines
        let first = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        _ = try await StoreFixtures.dispatchedCase(first, serial: 1)
        #expect(!first.projectionsRebuiltOnOpen, "a new store has nothing to rebuild")
        let samePolicy = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        #expect(!samePolicy.projectionsRebuiltOnOpen, "rows kept under the same policy are current")
        // Opened without a policy (its writes will not keep due times), then with one again.
        let withoutPolicy = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        #expect(!withoutPolicy.projectionsRebuiltOnOpen)
        let policyAgain = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        #expect(policyAgain.projectionsRebuiltOnOpen, "due times marked stale are computed again")
        let afterRebuild = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        #expect(!afterRebuild.projectionsRebuiltOnOpen)
    }

    /// A process that deferred batches, while another process projected them for its own
    /// write, projects what came after from the journal, not from the baselines it remembers.
    ///
    /// Two stores open the office's file, as the node and the office CLI do. Had the first
    /// trusted its memory, the cases the second projected meanwhile would be written again
    /// from stale baselines, and the office's counters would count their changes twice.
    @Test func aProjectionWrittenByAnotherProcessIsNotWrittenAgain() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = StoreFixtures.deadlines
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: policy)
        var configuration = StoreConfiguration(path: directory + "/dpupr.sqlite")
        configuration.deadlines = policy
        configuration.projectionDelay = .seconds(3_600)
        configuration.projectionQuiet = .seconds(3_600)
        let identity = NodeIdentity(node: StoreFixtures.dpupr, role: .office, central: StoreFixtures.central)
        let node = try Store.open(configuration, identity: identity)
        let cli = try Store.open(configuration, identity: identity)
        var cases: [CaseID] = []
        for serial in 1...6 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: central, to: node)
        // The CLI's write projects the node's deferred batch first (from the journal).
        _ = try await cli.append(.acknowledged, to: cases[0], actor: StoreFixtures.officer, at: StoreFixtures.now)
        for caseID in cases.prefix(3) {
            _ = try await central.append(
                .closed(.init(reason: .byOperator)),
                to: caseID,
                actor: StoreFixtures.operatorActor,
                at: StoreFixtures.now
            )
        }
        for serial in 7...8 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: central, to: node)
        try await node.projectPendingOps()

        #expect(try StoreFixtures.scalar(directory + "/dpupr.sqlite", "SELECT COUNT(*) FROM projectionJournal") == 0)
        let kept = try Self.projectionTables(directory + "/dpupr.sqlite")
        let rebuilt = try await Self.rebuilt(directory + "/dpupr.sqlite", identity: identity)
        #expect(kept == rebuilt, "the office's projection differs from a rebuild")
        #expect(try await node.caseRows(office: nil, includeClosed: true, dueBefore: nil, limit: nil).count == 8)
    }

    /// A peer's batch commits to the log and leaves its projection rows pending; the store
    /// writes them when asked once the batches have paused long enough or the longest delay
    /// has passed, and not before.
    @Test(arguments: [true, false], [true, false])
    func pendingProjectionIsWrittenOncePausedOrDelayed(quietPassed: Bool, delayPassed: Bool) async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try Self.openOffice(
            directory,
            projectionDelay: delayPassed ? .zero : .seconds(3_600),
            projectionQuiet: quietPassed ? .zero : .seconds(3_600)
        )
        let due = quietPassed || delayPassed
        _ = try await StoreFixtures.dispatchedCase(central)
        try await StoreFixtures.deliverFeed(from: central, to: office)
        let path = directory + "/dpupr.sqlite"
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView") == 0)
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == 1)

        try await office.projectPendingOpsIfDue()
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView") == (due ? 1 : 0))
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == (due ? 0 : 1))
        // A read never waits for the delay.
        #expect(try await office.caseCount() == 1)
    }

    /// A poll that allows the projection's lag does not write a pending projection before its
    /// delay has passed; once it has, it does; a read without the lag always does.
    ///
    /// An office's blob fetcher and central's reporter notifier poll this way: through exact
    /// reads their polls wrote every pending case's rows up to five times a second while a
    /// peer's batches streamed in.
    @Test(arguments: [true, false])
    func aPollAllowingTheLagProjectsOnlyOnceTheDelayHasPassed(delayPassed: Bool) async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try Self.openOffice(directory, projectionDelay: delayPassed ? .zero : .seconds(3_600))
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let photo = [UInt8](repeating: 0xA5, count: 4_096)
        let sha256 = try await central.blobs.put(photo)
        _ = try await central.append(
            .evidenceAdded(.init(sha256: sha256, size: UInt64(photo.count), mimeType: "image/jpeg", name: "a.jpg")),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        try await StoreFixtures.deliverFeed(from: central, to: office)
        let path = directory + "/dpupr.sqlite"

        let polled = try await office.missingBlobs(allowingProjectionLag: true)
        #expect(polled.map(\.sha256) == (delayPassed ? [sha256] : []))
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == (delayPassed ? 0 : 1))
        // A read without the lag never waits for the delay.
        #expect(try await office.missingBlobs().map(\.sha256) == [sha256])
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == 0)
    }

    /// Deferred cases keep their states for the projection when the case cache lets them go,
    /// and the newest state is the one written.
    ///
    /// The office keeps two cases in its cache while the feed changes eight, in three batches:
    /// cases deferred by one batch are dropped from the cache, folded anew by the next, and
    /// dropped again before the projection runs. A projection from a state an earlier batch
    /// left would differ from the rebuild.
    @Test func deferredCasesTheCacheLetGoAreProjectedFromTheirNewestState() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try Self.openCentral(directory)
        let office = try Self.openOffice(directory, caseCacheCapacity: 2)
        var cases: [CaseID] = []
        for serial in 1...8 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: central, to: office)
        // A note on every other case, then every case closed: two more batches.
        let rounds: [(OpBody, [CaseID])] = [
            (
                .noted(.init(text: "Operator memantau", visibility: .public)),
                cases.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            ),
            (.closed(.init(reason: .byOperator)), cases),
        ]
        for (body, changed) in rounds {
            for caseID in changed {
                _ = try await central.append(
                    body,
                    to: caseID,
                    actor: StoreFixtures.operatorActor,
                    at: StoreFixtures.now
                )
            }
            try await StoreFixtures.deliverFeed(from: central, to: office)
        }
        let path = directory + "/dpupr.sqlite"
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM projectionJournal") == 3)

        try await office.projectPendingOps()
        let kept = try Self.projectionTables(path)
        #expect(kept == (try await Self.rebuilt(path, identity: office.identity)))
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView WHERE closedAt IS NOT NULL") == 8)
    }

    /// Central's echo of an office's upload changes the receive times of ops the office
    /// holds, mostly of cases it keeps in no box: those are not loaded for it, and the
    /// projection written later equals a rebuild from the log, which has central's times.
    ///
    /// Most of the six cases are out of the office's cache of two when the echo comes. One of
    /// them central also closes in the echo's batch (loaded for the close after its retime),
    /// another in the next batch (loaded after its retime was deferred unloaded).
    @Test func anEchoOfCasesOutOfMemoryIsProjectedAsARebuildWould() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try Self.openCentral(directory)
        let office = try Self.openOffice(directory, caseCacheCapacity: 2)
        var cases: [CaseID] = []
        for serial in 1...6 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: central, to: office)
        try await office.projectPendingOps()
        for caseID in cases {
            _ = try await office.append(.acknowledged, to: caseID, actor: StoreFixtures.officer, at: StoreFixtures.now)
        }
        // Central takes the upload in an hour later than the office wrote it.
        let later = Timestamp(millisecondsSinceEpoch: StoreFixtures.now.millisecondsSinceEpoch + 3_600_000)
        try await StoreFixtures.upload(from: office, to: central, at: later)
        func close(_ caseID: CaseID) async throws {
            _ = try await central.append(
                .closed(.init(reason: .byOperator)),
                to: caseID,
                actor: StoreFixtures.operatorActor,
                at: later
            )
        }
        try await close(cases[0])
        let echo = try await StoreFixtures.deliverFeed(from: central, to: office)
        #expect(echo.duplicates == 6)
        #expect(Set(echo.changedCases) == Set(cases))
        try await close(cases[1])
        try await StoreFixtures.deliverFeed(from: central, to: office)

        try await office.projectPendingOps()
        let path = directory + "/dpupr.sqlite"
        #expect(try Self.projectionTables(path) == (try await Self.rebuilt(path, identity: office.identity)))
        let acknowledgedLater = "SELECT COUNT(*) FROM assignment WHERE acknowledgedAt = \(later.millisecondsSinceEpoch)"
        #expect(try StoreFixtures.scalar(path, acknowledgedLater) == 6)
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView WHERE closedAt IS NOT NULL") == 2)
    }

    /// An assignment row that is missing when its case changes is written whole, as a rebuild
    /// writes it.
    ///
    /// The projection updates an existing row in the columns that change; an update that finds
    /// no row (a row deleted behind the store's back) must not leave the row missing.
    @Test func aMissingAssignmentRowIsWrittenWholeWhenItsCaseChanges() async throws {
        let (path, kept, rebuilt) = try await Self.closingACase(afterDeletingRowsOf: "assignment")
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM assignment WHERE isOpen = 0") == 1)
        // The row itself, not the office's counts: what was counted for a row deleted behind
        // the store's back is unknown, and only a rebuild makes those right.
        #expect(kept == rebuilt)
    }

    /// A case row that is missing when its case changes is written whole, listing columns and
    /// receive time included, as a rebuild writes it.
    ///
    /// The case row's status and its listing columns (subject, due and close times) are
    /// written in one statement, in the columns that change; when that finds no row, the row
    /// is inserted with every column, not only the ones that changed.
    @Test func aMissingCaseRowIsWrittenWholeWhenItsCaseChanges() async throws {
        let (path, kept, rebuilt) = try await Self.closingACase(afterDeletingRowsOf: "caseView")
        let subjectLength = try StoreFixtures.scalar(path, "SELECT length(subject) FROM caseView")
        #expect((subjectLength ?? 0) > 0, "the subject should be written with the row")
        #expect(kept == rebuilt)
    }

    /// Central closes a dispatched case after every row of `table` was deleted behind the
    /// store's back.
    /// - Returns: the store's file, and `table`'s rows as the projection left them and as a
    ///   rebuild writes them.
    private static func closingACase(
        afterDeletingRowsOf table: String
    ) async throws -> (path: String, kept: [String]?, rebuilt: [String]?) {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try Self.openCentral(directory)
        let path = directory + "/sambat.sqlite"
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "DELETE FROM \(table)") }
        try queue.close()

        _ = try await central.append(
            .closed(.init(reason: .byOperator)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        let kept = try Self.projectionTables(path)[table]
        let rebuilt = try await Self.rebuilt(path, identity: central.identity)[table]
        return (path, kept, rebuilt)
    }

    /// A batch that fails after folding into the states a pending projection holds leaves
    /// nothing of itself in the projection.
    ///
    /// A trigger refuses the second batch's journal row, after its ops were folded into the
    /// cached states of the first batch's cases, which the pending projection holds too.
    @Test func aFailedBatchLeavesNothingInTheStatesAPendingProjectionHolds() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try Self.openCentral(directory)
        let path = directory + "/dpupr.sqlite"
        _ = try Self.openOffice(directory, caseCacheCapacity: 10_000)
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuseSecondJournalRow BEFORE INSERT ON projectionJournal
                    WHEN (SELECT COUNT(*) FROM projectionJournal) >= 1
                    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                    """
            )
        }
        try queue.close()
        // Opened after the trigger, so nothing another connection commits follows its writes.
        let office = try Self.openOffice(directory, caseCacheCapacity: 10_000)
        var cases: [CaseID] = []
        for serial in 1...3 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: central, to: office)
        try await StoreFixtures.close(cases, at: central)
        await #expect(throws: StoreError.self) { try await StoreFixtures.deliverFeed(from: central, to: office) }

        try await office.projectPendingOps()
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView") == 3)
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM caseView WHERE closedAt IS NOT NULL") == 0)
        #expect(try Self.projectionTables(path) == (try await Self.rebuilt(path, identity: office.identity)))
    }

    /// Central's store, with the deadline policy nodes open it with.
    private static func openCentral(_ directory: String) throws -> Store {
        try StoreFixtures.open(directory, StoreFixtures.central, .central, deadlines: StoreFixtures.deadlines)
    }

    /// The office's store with its projection left to be asked for, and `caseCacheCapacity`.
    private static func openOffice(_ directory: String, caseCacheCapacity: Int) throws -> Store {
        var configuration = StoreConfiguration(path: directory + "/dpupr.sqlite", caseCacheCapacity: caseCacheCapacity)
        configuration.deadlines = StoreFixtures.deadlines
        configuration.projectionDelay = .seconds(3_600)
        configuration.projectionQuiet = .seconds(3_600)
        return try Store.open(
            configuration,
            identity: NodeIdentity(node: StoreFixtures.dpupr, role: .office, central: StoreFixtures.central)
        )
    }

    /// The office's store, without a deadline policy, with `projectionDelay` as the longest
    /// wait and `projectionQuiet` (by default the same) as the pause that make its projection
    /// due.
    private static func openOffice(
        _ directory: String,
        projectionDelay: Duration,
        projectionQuiet: Duration? = nil
    ) throws -> Store {
        var configuration = StoreConfiguration(path: directory + "/dpupr.sqlite")
        configuration.projectionDelay = projectionDelay
        configuration.projectionQuiet = projectionQuiet ?? projectionDelay
        return try Store.open(
            configuration,
            identity: NodeIdentity(node: StoreFixtures.dpupr, role: .office, central: StoreFixtures.central)
        )
    }

    /// The projection tables of a database, rows sorted.
    static func projectionTables(_ path: String) throws -> [String: [String]] {
        try StoreFixtures.rows(
            of: [
                "caseView", "assignment", "caseConflict", "evidence", "caseStage", "officeStats", "officeWork",
                "officeWorkHour",
            ],
            in: path
        )
    }

    /// The projection tables of a copy of the database whose projections were deleted and
    /// rebuilt from the op log when the store opened it.
    static func rebuilt(_ path: String, identity: NodeIdentity) async throws -> [String: [String]] {
        let copyDirectory = try StoreFixtures.temporaryDirectory()
        let copy = copyDirectory + "/copy.sqlite"
        let source = try DatabaseQueue(path: path)
        try await source.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        try source.close()
        let queue = try DatabaseQueue(path: copy)
        try await queue.write { db in
            try db.execute(
                sql: "DELETE FROM caseView; DELETE FROM assignment; DELETE FROM caseConflict; DELETE FROM evidence"
            )
        }
        try queue.close()
        var configuration = StoreConfiguration(path: copy)
        configuration.deadlines = StoreFixtures.deadlines
        _ = try Store.open(configuration, identity: identity)
        return try projectionTables(copy)
    }
}
