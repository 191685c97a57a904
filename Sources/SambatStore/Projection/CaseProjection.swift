import Foundation
import GRDB
import SambatCore

/// Writes a case's projection rows (`caseView`, `assignment`, `caseConflict`, `evidence`,
/// `caseStage`, `officeStats`, `officeWork`) from its folded state, touching only what changed
/// since the previous state.
///
/// Due times, stage clocks and the report's per-office counts are written when a milestone,
/// an assignment, the tier or the topic changed (never for a note), so listings and reports
/// read them through indexes instead of folding every case. The per-office counts are summed
/// over the transaction's cases and written by ``finish()``.
///
/// Used inside a write transaction, one per transaction; not `Sendable`.
struct CaseProjection {
    let db: Database
    /// The transaction's prepared hot statements.
    let statements: HotStatements
    /// Receive times of ops written in this transaction; older stamps are looked up.
    let receivedAt: [OpID: Timestamp]
    /// The policy due times are computed with; without one no stage row is written.
    let deadlines: DeadlinePolicy?
    /// Ops whose stored receive time changed in this transaction: stamps naming them are
    /// rewritten even when the stamp itself did not change.
    var retimed: Set<OpID> = []
    /// The box of the case being written, with what it remembers of the case's rows.
    ///
    /// Receive times, stage rows and report columns are compared against it and kept up to
    /// date instead of asking SQLite; `nil` asks SQLite every time (a rebuild).
    var memo: CaseStateBox?
    /// The per-office report counts the cases written so far changed, not yet written.
    let tally = OfficeTally()

    /// Writes what the cases written so far changed in the per-office report counts.
    ///
    /// Call once, after the transaction's last case and before it commits: until then those
    /// counts are only summed in memory.
    func finish() throws {
        try tally.write(with: statements)
    }

    /// Brings a case's rows from what they held (`before`; `nil` when it had none) to `state`.
    ///
    /// The per-office report counts wait for ``finish()``.
    func write(before: CaseBaseline?, after state: CaseState) throws {
        let caseID = state.caseID.rawValue
        // Receive times that did not change are kept from the row (NULL means "keep").
        let openedAt =
            before?.received == state.milestones.received && !isRetimed(state.milestones.received)
            ? nil : try state.milestones.received.map { try time(of: $0.op) }
        let statusKept = before != nil && before?.status == state.status && openedAt == nil

        // Index loops compare in place: copying an assignment retains every stamp it holds.
        // An assignment whose stamps changed is written with its report columns when those
        // change too (one row write instead of two), else on its own at the end.
        let old = before?.assignments ?? []
        var unwritten: [UnwrittenStamps] = []
        for index in state.assignments.indices {
            var previous: Int?
            for candidate in old.indices where old[candidate].office == state.assignments[index].office {
                previous = candidate
                break
            }
            if let previous, old[previous] == state.assignments[index], !isRetimed(state.assignments[index]) {
                continue
            }
            unwritten.append(UnwrittenStamps(assignment: index, previous: previous.map { old[$0] }))
        }

        // A conflict's recorded time follows its ops' receive times.
        let conflictsRetimed = state.conflicts.contains { $0.ops.contains(where: isRetimed) }
        // A new case has no rows to delete: nothing is asked of SQLite for it.
        if (before?.conflicts ?? []) != state.conflicts || conflictsRetimed {
            try db.cachedStatement(sql: "DELETE FROM caseConflict WHERE caseId = ?").execute(arguments: [caseID])
            for conflict in state.conflicts {
                // Recorded when its last op arrived: that op made it a conflict.
                let recordedAt = try conflict.ops.map { try time(of: $0) }.max()
                try db.cachedStatement(
                    sql: """
                        INSERT INTO caseConflict (caseId, conflictId, reason, office, ops, resolvedBy, recordedAt)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(
                    arguments: [
                        caseID, conflict.id, conflict.reason.rawValue, conflict.office?.rawValue,
                        conflict.ops.map(\.description).joined(separator: ","),
                        conflict.resolution?.op.description, recordedAt,
                    ]
                )
            }
        }

        var reads: CaseReads?
        if before == nil || before?.milestones != state.milestones || before?.assignments != state.assignments
            || before?.tier != state.tier || before?.topic != state.topic || isRetimed(state.milestones)
            || state.assignments.contains(where: isRetimed)
        {
            reads = try writeReads(state, before: before, unwritten: &unwritten)
        }
        // After the stage and assignment rows, so the case row is written once with what they
        // decided: a status change also moves the next due time, and a row rewrite per column
        // group cost a seek, a delete and an insert each.
        try writeCaseRow(state, before: before, openedAt: openedAt, statusKept: statusKept, reads: reads)
        for entry in unwritten {
            try write(state.assignments[entry.assignment], previous: entry.previous, reads: nil, caseID: caseID)
        }

        if state.evidence.count != before?.evidence.count {
            let known = Set((before?.evidence ?? []).map(\.op))
            for reference in state.evidence where !known.contains(reference.op) {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO evidence (caseId, op, sha256, size, mimeType, name)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        caseID, reference.op.description, Data(reference.sha256), Int64(reference.size),
                        reference.mimeType, reference.name,
                    ]
                )
            }
        }
    }

    /// Writes what the queue, the report and the recap read in stage and assignment rows: (with
    /// a deadline policy) every stage clock, each assignment's next due time, the report's work
    /// times, and the office counts.
    /// - Returns: what the case row holds for listings: the subject, close and archive times,
    ///   and the case's next due time (without a policy, none), for ``writeCaseRow``.
    private func writeReads(
        _ state: CaseState,
        before: CaseBaseline?,
        unwritten: inout [UnwrittenStamps]
    ) throws -> CaseReads {
        let caseID = state.caseID.rawValue
        // The subject follows the topic and the complaint (set with the receive stamp): when
        // neither changed, it is what the row holds.
        let subject: String
        if let known = memo?.caseReads, let before, before.topic == state.topic,
            before.received == state.milestones.received
        {
            subject = known.subject
        } else {
            subject = state.topic.isEmpty ? String((state.complaint?.text ?? "").prefix(50)) : state.topic
        }
        let closedAt = try state.milestones.closed.map { try time(of: $0.op) }
        let archivedAt = try state.milestones.archived.map { try time(of: $0.op) }
        let archiveReason = state.archiveReason.map { Int64($0.rawValue) }
        guard let deadlines else {
            return CaseReads(subject: subject, closedAt: closedAt, archivedAt: archivedAt, archiveReason: archiveReason)
        }
        // Only the ops the clocks name are looked up (a long case's notes never are).
        let clocks = CaseDeadlines.clocks(
            for: state,
            receivedAt: { id in (try? self.time(of: id)).map { Timestamp(millisecondsSinceEpoch: $0) } },
            targets: deadlines.targets,
            calendar: deadlines.calendar
        )
        // Only the stage rows that changed are written (a status change usually ends one
        // stage); a stage no longer clocked is deleted. What is stored comes from the case's
        // memo when it has one, so an unchanged stage costs no statement at all. A case without
        // rows before (`before == nil`) has none to read: a mayor's back-fill is a million of
        // them, and reading their stage rows was a fifth of its projection's samples (perf).
        let stored = try memo?.stageRows ?? (before == nil ? StageRows() : storedStages(of: caseID))
        var written = StageRows()
        var caseDue: Int64?
        for clock in clocks {
            let key = StageKey(stage: Int64(clock.stage.rawValue), office: clock.office?.rawValue ?? "")
            let times = StageTimes(
                startedAt: clock.startedAt.millisecondsSinceEpoch,
                dueAt: clock.dueAt.millisecondsSinceEpoch,
                doneAt: clock.doneAt?.millisecondsSinceEpoch
            )
            let held = written[key] ?? stored[key]
            // A row known to be there is updated: an upsert tries the insert first, and its
            // conflict costs another seek. One that is not (or that the memo is wrong about) is
            // upserted.
            if held != times, try held == nil || !updateStage(caseID, key, times) {
                let upsert = try statements(
                    """
                    INSERT INTO caseStage (caseId, stage, office, startedAt, dueAt, doneAt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT (caseId, stage, office) DO UPDATE SET startedAt = ?4, dueAt = ?5, doneAt = ?6
                    """
                )
                bind(caseID, key, times, to: upsert)
                try upsert.execute()
            }
            written[key] = times
            if clock.doneAt == nil { caseDue = min(caseDue ?? .max, clock.dueAt.millisecondsSinceEpoch) }
        }
        for key in stored.keys where written[key] == nil {
            let delete = try statements("DELETE FROM caseStage WHERE caseId = ? AND stage = ? AND office = ?")
            delete.bind(1, caseID)
            delete.bind(2, key.stage)
            delete.bind(3, key.office)
            try delete.execute()
        }
        memo?.stageRows = written
        for assignment in state.assignments {
            let reads = AssignmentReads(assignment, clocks: clocks, caseIsOpen: state.status.isOpen, deadlines)
            // Only the status of the assignment as the rows hold it is read: found in place,
            // not copied with every stamp.
            var previousStatus: AssignmentStatus?
            if let held = before?.assignments {
                for index in held.indices where held[index].office == assignment.office {
                    previousStatus = held[index].status
                    break
                }
            }
            let old: AssignmentReads? = try previousStatus.flatMap { previousStatus in
                if var known = memo?.assignmentReads[assignment.office] {
                    known.status = previousStatus
                    return known
                }
                return try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT dueAt, isOpen, acknowledgeWork, followUpWork, followUpLate
                            FROM assignment WHERE caseId = ? AND office = ?
                            """
                    ),
                    arguments: [caseID, assignment.office.rawValue]
                ).map { row in
                    AssignmentReads(
                        status: previousStatus,
                        dueAt: row[0],
                        isOpen: row[1],
                        acknowledgeWork: row[2],
                        followUpWork: row[3],
                        followUpLate: row[4]
                    )
                }
            }
            memo?.assignmentReads[assignment.office] = reads
            guard old != reads else { continue }
            if let position = unwritten.firstIndex(where: {
                state.assignments[$0.assignment].office == assignment.office
            }) {
                try write(
                    assignment,
                    previous: unwritten.remove(at: position).previous,
                    reads: reads,
                    oldReads: old,
                    caseID: caseID
                )
            } else {
                // Only report columns change: its stamps are as the row holds them.
                try write(assignment, previous: assignment, reads: reads, oldReads: old, caseID: caseID)
            }
            func countWork(_ metric: Int, _ before: Int64?, _ after: Int64?) {
                guard before.map(OfficeWork.minute) != after.map(OfficeWork.minute) else { return }
                if let before { tally.count(OfficeWork.minute(before), metric: metric, of: assignment.office, by: -1) }
                if let after { tally.count(OfficeWork.minute(after), metric: metric, of: assignment.office, by: 1) }
            }
            countWork(1, old?.acknowledgeWork, reads.acknowledgeWork)
            countWork(2, old?.followUpWork, reads.followUpWork)
            let delta = reads.counts.subtracting(old?.counts ?? OfficeCounts())
            if delta != OfficeCounts() { tally.add(delta, to: assignment.office) }
        }
        return CaseReads(
            subject: subject,
            closedAt: closedAt,
            archivedAt: archivedAt,
            archiveReason: archiveReason,
            dueAt: caseDue
        )
    }

    /// Writes the case row's subject, close and archive times and next due time where they
    /// differ from what the row holds, for a case whose memo does not know that.
    ///
    /// The comparison is SQLite's: a WHERE that matches nothing writes no page. Without a
    /// deadline policy the due time is not kept: that statement leaves ?5 unused, so both
    /// statements bind the same parameters.
    private func updateCaseReads(_ reads: CaseReads, caseID: String) throws {
        let update =
            deadlines == nil
            ? try statements(
                """
                UPDATE caseView SET subject = ?1, closedAt = ?2, archivedAt = ?3, archiveReason = ?4
                WHERE caseId = ?6 AND (subject IS NOT ?1 OR closedAt IS NOT ?2 OR archivedAt IS NOT ?3
                    OR archiveReason IS NOT ?4)
                """
            )
            : try statements(
                """
                UPDATE caseView SET subject = ?1, closedAt = ?2, archivedAt = ?3, archiveReason = ?4, dueAt = ?5
                WHERE caseId = ?6 AND (subject IS NOT ?1 OR closedAt IS NOT ?2 OR archivedAt IS NOT ?3
                    OR archiveReason IS NOT ?4 OR dueAt IS NOT ?5)
                """
            )
        update.bind(1, reads.subject)
        update.bind(2, reads.closedAt)
        update.bind(3, reads.archivedAt)
        update.bind(4, reads.archiveReason)
        update.bind(5, reads.dueAt)
        update.bind(6, caseID)
        try update.execute()
    }

    /// Whether only notes or evidence were added since `before`.
    ///
    /// Then nothing the row or the reporter notices read changed (phase, tier, topic, channel,
    /// conflicts, every assignment, the change count). True for a note, the most common op:
    /// its case row is then not written.
    private func onlyHistoryChanged(since before: CaseBaseline, in state: CaseState) -> Bool {
        before.phase == state.phase && before.tier == state.tier && before.topic == state.topic
            && before.channel == state.complaint?.channel && before.conflicts == state.conflicts
            && before.assignments == state.assignments && before.changeCount == Self.changeCount(of: state)
    }

    /// The case's ops other than notes and evidence: what `caseView.changeCount` holds, a
    /// function of the state, so an incremental projection and a rebuild agree.
    static func changeCount(of state: CaseState) -> Int { changeCount(of: state.history) }

    /// ``changeCount(of:)-(CaseState)`` from the state's history alone.
    static func changeCount(of history: [HistoryEntry]) -> Int {
        var count = 0
        for index in history.indices where !history[index].kind.isHistoryOnly { count += 1 }
        return count
    }

    /// Writes the case row from the state: status, details and receive time, and the listing
    /// columns (`reads`, when ``writeReads(_:before:unwritten:)`` ran), in one statement.
    ///
    /// A row the baseline names is updated in the columns that may change: a note, the most
    /// common op, changes nothing a reader of the row uses, so the row is not written at all,
    /// and other ops that leave status and receive time alone do not name them (SQLite
    /// rewrites the status index for every UPDATE that sets either). A new case's row is
    /// inserted whole.
    private func writeCaseRow(
        _ state: CaseState,
        before: CaseBaseline?,
        openedAt: Int64?,
        statusKept: Bool,
        reads: CaseReads?
    ) throws {
        guard let before else { return try upsertCaseRow(state, openedAt: openedAt, reads: reads) }
        let caseID = state.caseID.rawValue
        var row = RowUpdate("caseView", table: "caseView", columns: Self.caseColumns)
        if !statusKept || !onlyHistoryChanged(since: before, in: state) {
            if !statusKept { row.set(0, Int64(state.status.rawValue)) }
            row.set(1, Int64(state.phase.rawValue))
            row.set(2, state.tier.map { Int64($0.rawValue) })
            row.set(3, .text(state.topic))
            row.set(4, state.complaint.map { Int64($0.channel.rawValue) })
            row.set(5, .text(activeOffices(state)))
            row.set(6, Int64(openConflicts(state)))
            row.set(7, Int64(Self.changeCount(of: state)))
            if let openedAt { row.set(8, openedAt) }
        }
        // The listing columns that change, when the memo knows what the row holds.
        let known = memo?.caseReads
        if let reads, let known {
            if reads.subject != known.subject { row.set(9, .text(reads.subject)) }
            if reads.closedAt != known.closedAt { row.set(10, reads.closedAt) }
            if reads.archivedAt != known.archivedAt { row.set(11, reads.archivedAt) }
            if reads.archiveReason != known.archiveReason { row.set(12, reads.archiveReason) }
            if deadlines != nil, reads.dueAt != known.dueAt { row.set(13, reads.dueAt) }
        }
        if !row.isEmpty, try row.execute(where: ["caseId"], equal: [caseID], with: statements) == 0 {
            // The baseline named a row that is not there: write all of it, the receive time too.
            let received = try openedAt ?? state.milestones.received.map { try time(of: $0.op) }
            return try upsertCaseRow(state, openedAt: received, reads: reads)
        }
        guard let reads else { return }
        if known == nil { try updateCaseReads(reads, caseID: caseID) }
        memo?.caseReads = reads
    }

    /// The columns a case row's ``RowUpdate`` may set, in order: status, the details, the
    /// receive time, then the listing columns of ``CaseReads``.
    private static let caseColumns = [
        "status", "phase", "tier", "topic", "channel", "activeOffices", "openConflicts", "changeCount", "receivedAt",
        "subject", "closedAt", "archivedAt", "archiveReason", "dueAt",
    ]

    /// Inserts a case's row, or replaces the row there is: every column but the receive time
    /// (kept unless `openedAt` is given) and, when `reads` is not given, the listing columns.
    ///
    /// The memo then knows the listing columns only when given.
    private func upsertCaseRow(_ state: CaseState, openedAt: Int64?, reads: CaseReads?) throws {
        let upsert: HotStatement
        switch (reads != nil, deadlines != nil) {
        case (false, _):
            upsert = try statements(
                """
                INSERT INTO caseView (caseId, status, phase, tier, topic, channel, activeOffices, openConflicts,
                                      changeCount, receivedAt)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                ON CONFLICT (caseId) DO UPDATE SET
                    status = ?2, phase = ?3, tier = ?4, topic = ?5, channel = ?6, activeOffices = ?7,
                    openConflicts = ?8, changeCount = ?9, receivedAt = COALESCE(?10, receivedAt)
                """
            )
        case (true, false):
            // Without a deadline policy the due time is not kept (?15 is left unused).
            upsert = try statements(
                """
                INSERT INTO caseView (caseId, status, phase, tier, topic, channel, activeOffices, openConflicts,
                                      changeCount, receivedAt, subject, closedAt, archivedAt, archiveReason)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                ON CONFLICT (caseId) DO UPDATE SET
                    status = ?2, phase = ?3, tier = ?4, topic = ?5, channel = ?6, activeOffices = ?7,
                    openConflicts = ?8, changeCount = ?9, receivedAt = COALESCE(?10, receivedAt),
                    subject = ?11, closedAt = ?12, archivedAt = ?13, archiveReason = ?14
                """
            )
        case (true, true):
            upsert = try statements(
                """
                INSERT INTO caseView (caseId, status, phase, tier, topic, channel, activeOffices, openConflicts,
                                      changeCount, receivedAt, subject, closedAt, archivedAt, archiveReason, dueAt)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                ON CONFLICT (caseId) DO UPDATE SET
                    status = ?2, phase = ?3, tier = ?4, topic = ?5, channel = ?6, activeOffices = ?7,
                    openConflicts = ?8, changeCount = ?9, receivedAt = COALESCE(?10, receivedAt),
                    subject = ?11, closedAt = ?12, archivedAt = ?13, archiveReason = ?14, dueAt = ?15
                """
            )
        }
        upsert.bind(1, state.caseID.rawValue)
        upsert.bind(2, Int64(state.status.rawValue))
        bindDetails(of: state, to: upsert, from: 3)
        upsert.bind(10, openedAt)
        if let reads {
            upsert.bind(11, reads.subject)
            upsert.bind(12, reads.closedAt)
            upsert.bind(13, reads.archivedAt)
            upsert.bind(14, reads.archiveReason)
            if deadlines != nil { upsert.bind(15, reads.dueAt) }
        }
        try upsert.execute()
        // Without `reads` the listing columns are as they were, unknown here: the next write
        // compares them in SQLite.
        memo?.caseReads = reads
    }

    /// Binds phase, tier, topic, channel, active offices, open conflicts and change count to
    /// seven parameters starting at `first`.
    private func bindDetails(of state: CaseState, to statement: HotStatement, from first: Int32) {
        statement.bind(first, Int64(state.phase.rawValue))
        statement.bind(first + 1, state.tier.map { Int64($0.rawValue) })
        statement.bind(first + 2, state.topic)
        statement.bind(first + 3, state.complaint.map { Int64($0.channel.rawValue) })
        statement.bind(first + 4, activeOffices(state))
        statement.bind(first + 5, openConflicts(state))
        statement.bind(first + 6, Self.changeCount(of: state))
    }

    /// Writes an assignment's row: its stamps (a stamp that did not change keeps the stored
    /// time) and, when given, its report columns in the same statement.
    ///
    /// A row that exists (`previous`) is updated in the columns that change, compared with
    /// `previous` and with `oldReads`, the report columns it holds when known.
    private func write(
        _ assignment: Assignment,
        previous: Assignment?,
        reads: AssignmentReads?,
        oldReads: AssignmentReads? = nil,
        caseID: String
    ) throws {
        guard let previous else { return try upsert(assignment, reads: reads, caseID: caseID) }
        if try !update(assignment, previous: previous, reads: reads, oldReads: oldReads, caseID: caseID) {
            // The baseline named a row that is not there: write all of it.
            try upsert(assignment, reads: reads, caseID: caseID)
        }
    }

    /// The columns an assignment's ``RowUpdate`` may set, in order.
    private static let assignmentColumns = [
        "epoch", "status", "dispatchedOp", "dispatchedAt", "acknowledgedAt", "startedAt", "resolvedAt", "endedAt",
        "dueAt", "isOpen", "acknowledgeWork", "followUpWork", "followUpLate",
    ]

    /// Updates the columns of an existing assignment row that change.
    /// - Returns: `false` when there is no row to update.
    private func update(
        _ assignment: Assignment,
        previous: Assignment,
        reads: AssignmentReads?,
        oldReads: AssignmentReads?,
        caseID: String
    ) throws -> Bool {
        var row = RowUpdate("assignment", table: "assignment", columns: Self.assignmentColumns)
        if assignment.epoch != previous.epoch { row.set(0, Int64(assignment.epoch)) }
        if assignment.status != previous.status { row.set(1, Int64(assignment.status.rawValue)) }
        if assignment.dispatched.op != previous.dispatched.op {
            row.set(2, .text(assignment.dispatched.op.description))
        }
        // Stamp by stamp, not over a list of them: a list is an allocation and a copy of every
        // stamp per assignment written (callgrind, the final projection of `sambat bench store`).
        func setStamp(_ index: Int, _ now: Stamp?, _ old: Stamp?) throws {
            guard now != old || isRetimed(now) else { return }
            row.set(index, try now.map { try time(of: $0.op) })
        }
        try setStamp(3, assignment.dispatched, previous.dispatched)
        try setStamp(4, assignment.acknowledged, previous.acknowledged)
        try setStamp(5, assignment.started, previous.started)
        try setStamp(6, assignment.resolved, previous.resolved)
        try setStamp(7, assignment.ended, previous.ended)
        if let reads {
            if reads.dueAt != oldReads?.dueAt || oldReads == nil { row.set(8, reads.dueAt) }
            if reads.isOpen != oldReads?.isOpen { row.set(9, reads.isOpen ? 1 : 0) }
            if reads.acknowledgeWork != oldReads?.acknowledgeWork || oldReads == nil {
                row.set(10, reads.acknowledgeWork)
            }
            if reads.followUpWork != oldReads?.followUpWork || oldReads == nil { row.set(11, reads.followUpWork) }
            if reads.followUpLate != oldReads?.followUpLate { row.set(12, reads.followUpLate ? 1 : 0) }
        }
        // Nothing the row stores changed.
        guard !row.isEmpty else { return true }
        return try row.execute(
            where: ["caseId", "office"],
            equal: [caseID, assignment.office.rawValue],
            with: statements
        )
            > 0
    }

    /// Inserts an assignment's row, or replaces every column of the row there is (its report
    /// columns only when given).
    private func upsert(_ assignment: Assignment, reads: AssignmentReads?, caseID: String) throws {
        let upsert: HotStatement
        if let reads {
            upsert = try statements(
                """
                INSERT INTO assignment (caseId, office, epoch, status, dispatchedOp, dispatchedAt,
                                        acknowledgedAt, startedAt, resolvedAt, endedAt,
                                        dueAt, isOpen, acknowledgeWork, followUpWork, followUpLate)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                ON CONFLICT (caseId, office) DO UPDATE SET
                    epoch = ?3, status = ?4, dispatchedOp = ?5, dispatchedAt = ?6, acknowledgedAt = ?7,
                    startedAt = ?8, resolvedAt = ?9, endedAt = ?10,
                    dueAt = ?11, isOpen = ?12, acknowledgeWork = ?13, followUpWork = ?14, followUpLate = ?15
                """
            )
            bind(reads, to: upsert, from: 11)
        } else {
            upsert = try statements(
                """
                INSERT INTO assignment (caseId, office, epoch, status, dispatchedOp, dispatchedAt,
                                        acknowledgedAt, startedAt, resolvedAt, endedAt)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                ON CONFLICT (caseId, office) DO UPDATE SET
                    epoch = ?3, status = ?4, dispatchedOp = ?5, dispatchedAt = ?6, acknowledgedAt = ?7,
                    startedAt = ?8, resolvedAt = ?9, endedAt = ?10
                """
            )
        }
        upsert.bind(1, caseID)
        upsert.bind(2, assignment.office.rawValue)
        upsert.bind(3, Int64(assignment.epoch))
        upsert.bind(4, Int64(assignment.status.rawValue))
        upsert.bind(5, assignment.dispatched.op.description)
        let stamps: [Stamp?] = [
            assignment.dispatched, assignment.acknowledged, assignment.started, assignment.resolved, assignment.ended,
        ]
        for (offset, stamp) in stamps.enumerated() {
            upsert.bind(Int32(6 + offset), try stamp.map { try time(of: $0.op) })
        }
        try upsert.execute()
    }

    /// Binds an assignment's report columns (due time, open, acknowledge and follow-up work,
    /// late) to five parameters starting at `first`.
    private func bind(_ reads: AssignmentReads, to statement: HotStatement, from first: Int32) {
        statement.bind(first, reads.dueAt)
        statement.bind(first + 1, reads.isOpen)
        statement.bind(first + 2, reads.acknowledgeWork)
        statement.bind(first + 3, reads.followUpWork)
        statement.bind(first + 4, reads.followUpLate)
    }

    /// Whether any stamp of the assignment names an op whose receive time changed.
    private func isRetimed(_ assignment: Assignment) -> Bool {
        guard !retimed.isEmpty else { return false }
        return isRetimed(assignment.dispatched) || isRetimed(assignment.acknowledged)
            || isRetimed(assignment.started) || isRetimed(assignment.resolved) || isRetimed(assignment.ended)
    }

    /// Whether a milestone names an op whose receive time changed.
    private func isRetimed(_ milestones: Milestones) -> Bool {
        guard !retimed.isEmpty else { return false }
        return [
            milestones.received, milestones.verified, milestones.pended, milestones.archived, milestones.dispatched,
            milestones.closed, milestones.reopened,
        ].contains(where: isRetimed)
    }

    private func isRetimed(_ id: OpID) -> Bool { retimed.contains(id) }

    private func isRetimed(_ stamp: Stamp?) -> Bool {
        guard let stamp, !retimed.isEmpty else { return false }
        return retimed.contains(stamp.op)
    }

    private func activeOffices(_ state: CaseState) -> String {
        var text = ""
        for assignment in state.assignments where assignment.status.isActive {
            if !text.isEmpty { text += "," }
            text += assignment.office.rawValue
        }
        return text
    }

    private func openConflicts(_ state: CaseState) -> Int {
        state.conflicts.reduce(0) { $0 + ($1.isResolved ? 0 : 1) }
    }

    /// Updates a stage row's times.
    /// - Returns: `false` when there is no such row.
    private func updateStage(_ caseID: String, _ key: StageKey, _ times: StageTimes) throws -> Bool {
        let update = try statements(
            "UPDATE caseStage SET startedAt = ?4, dueAt = ?5, doneAt = ?6 WHERE caseId = ?1 AND stage = ?2 AND office = ?3"
        )
        bind(caseID, key, times, to: update)
        return try update.execute() > 0
    }

    /// Binds a stage row's case, stage, office and times to parameters 1 to 6.
    private func bind(_ caseID: String, _ key: StageKey, _ times: StageTimes, to statement: HotStatement) {
        statement.bind(1, caseID)
        statement.bind(2, key.stage)
        statement.bind(3, key.office)
        statement.bind(4, times.startedAt)
        statement.bind(5, times.dueAt)
        statement.bind(6, times.doneAt)
    }

    /// The times of every stored stage row of a case.
    private func storedStages(of caseID: String) throws -> StageRows {
        var stages = StageRows()
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT stage, office, startedAt, dueAt, doneAt FROM caseStage WHERE caseId = ?"),
            arguments: [caseID]
        )
        while let row = try rows.next() {
            stages[StageKey(stage: row[0], office: row[1])] = StageTimes(
                startedAt: row[2],
                dueAt: row[3],
                doneAt: row[4]
            )
        }
        return stages
    }

    /// Central's receive time of an op, in milliseconds: written in this transaction, known
    /// to the case's memo, or read from the log (and then remembered).
    private func time(of id: OpID) throws -> Int64 {
        if let known = receivedAt[id] { return known.millisecondsSinceEpoch }
        if let known = memo?.receiveTimes[id] { return known }
        let statement = try statements(
            "SELECT receivedAt FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq = ?2"
        )
        statement.bind(1, id.origin.description)
        statement.bind(2, Int64(clamping: id.seq))
        let time = try statement.int64() ?? 0
        memo?.receiveTimes[id] = time
        return time
    }
}

/// What the projection keeps of one assignment for listings and the report.
struct AssignmentReads: Equatable {
    var status: AssignmentStatus
    /// The earliest deadline among the office's open stages.
    var dueAt: Int64?
    /// Active, not yet followed up, on an open case.
    var isOpen: Bool
    /// Office milliseconds from dispatch to acknowledgement, once acknowledged.
    var acknowledgeWork: Int64?
    /// Office milliseconds from dispatch to follow-up, for a resolved assignment.
    var followUpWork: Int64?
    /// The follow-up came after its deadline.
    var followUpLate: Bool

    init(
        status: AssignmentStatus,
        dueAt: Int64?,
        isOpen: Bool,
        acknowledgeWork: Int64?,
        followUpWork: Int64?,
        followUpLate: Bool
    ) {
        self.status = status
        self.dueAt = dueAt
        self.isOpen = isOpen
        self.acknowledgeWork = acknowledgeWork
        self.followUpWork = followUpWork
        self.followUpLate = followUpLate
    }

    /// The reads of `assignment` from its case's clocks (the rules of `ResponsivenessReport`).
    init(_ assignment: Assignment, clocks: [StageClock], caseIsOpen: Bool, _ deadlines: DeadlinePolicy) {
        // One pass over the case's clocks, by index: filtered lists of the office's clocks were
        // three allocations and a copy of each clock per assignment written (callgrind).
        var due: Int64?
        var acknowledge: Int?
        var followUp: Int?
        for index in clocks.indices where clocks[index].office == assignment.office {
            if clocks[index].doneAt == nil { due = min(due ?? .max, clocks[index].dueAt.millisecondsSinceEpoch) }
            if acknowledge == nil, clocks[index].stage == .acknowledge { acknowledge = index }
            if followUp == nil, clocks[index].stage == .followUp { followUp = index }
        }
        status = assignment.status
        dueAt = due
        switch assignment.status {
        case .dispatched, .acknowledged, .inProgress, .reopened: isOpen = caseIsOpen
        case .returned, .revoked, .resolved: isOpen = false
        }
        acknowledgeWork = nil
        if let acknowledge, let done = clocks[acknowledge].doneAt,
            assignment.acknowledged != nil || assignment.started != nil
        {
            acknowledgeWork = deadlines.calendar.workingMilliseconds(from: clocks[acknowledge].startedAt, to: done)
        }
        followUpWork = nil
        followUpLate = false
        if assignment.status == .resolved, let followUp, let done = clocks[followUp].doneAt {
            followUpWork = deadlines.calendar.workingMilliseconds(from: clocks[followUp].startedAt, to: done)
            followUpLate = clocks[followUp].wasLate
        }
    }

    /// This assignment's share of its office's counts.
    var counts: OfficeCounts {
        OfficeCounts(
            assigned: 1,
            returned: status == .returned ? 1 : 0,
            resolved: status == .resolved ? 1 : 0,
            resolvedLate: followUpLate ? 1 : 0,
            open: isOpen ? 1 : 0,
            acknowledged: acknowledgeWork == nil ? 0 : 1,
            followedUp: followUpWork == nil ? 0 : 1
        )
    }
}

/// One office's row of `officeStats`, or a change to it.
struct OfficeCounts: Equatable {
    var assigned = 0
    var returned = 0
    var resolved = 0
    var resolvedLate = 0
    var open = 0
    var acknowledged = 0
    var followedUp = 0

    func subtracting(_ other: OfficeCounts) -> OfficeCounts {
        OfficeCounts(
            assigned: assigned - other.assigned,
            returned: returned - other.returned,
            resolved: resolved - other.resolved,
            resolvedLate: resolvedLate - other.resolvedLate,
            open: open - other.open,
            acknowledged: acknowledged - other.acknowledged,
            followedUp: followedUp - other.followedUp
        )
    }
}

/// Work times as the report counts them: whole office minutes.
enum OfficeWork {
    /// The whole office minutes in `milliseconds`.
    static func minute(_ milliseconds: Int64) -> Int64 { milliseconds / 60_000 }
}

extension OpKind {
    /// Whether an op of this kind only adds to a case's history (a note, evidence): nothing a
    /// case row or a reporter notice reads.
    var isHistoryOnly: Bool { self == .noted || self == .evidenceAdded }
}

/// An assignment of the case being written whose stamps changed and are not yet written.
struct UnwrittenStamps {
    /// Its index in the state's assignments.
    let assignment: Int
    /// The assignment as the rows held it before, if it existed.
    let previous: Assignment?
}

/// A `caseStage` row's key within its case.
struct StageKey: Hashable {
    let stage: Int64
    let office: String
}

/// A case's stage rows, by key.
///
/// A case has a handful, so a list searched in order beats a hashed table: a dictionary
/// hashed a key with a text office some eighteen times per case written.
struct StageRows {
    private var rows: [(key: StageKey, times: StageTimes)] = []

    /// The keys, in the order first set.
    var keys: [StageKey] { rows.map(\.key) }

    subscript(key: StageKey) -> StageTimes? {
        get {
            for index in rows.indices where rows[index].key == key { return rows[index].times }
            return nil
        }
        set {
            guard let index = rows.firstIndex(where: { $0.key == key }) else {
                if let newValue { rows.append((key, newValue)) }
                return
            }
            if let newValue { rows[index].times = newValue } else { rows.remove(at: index) }
        }
    }
}

/// The case row's columns that `writeReads` keeps: subject, close and archive, next due time.
struct CaseReads: Equatable {
    var subject: String
    var closedAt: Int64?
    var archivedAt: Int64?
    var archiveReason: Int64?
    var dueAt: Int64?
}

/// A `caseStage` row's times, in milliseconds.
struct StageTimes: Equatable {
    let startedAt: Int64
    let dueAt: Int64
    let doneAt: Int64?
}
