public import SambatCore
public import SambatStore

/// Which cases a listing shows.
public struct CaseListFilter: Hashable, Sendable {
    /// Only this office's active assignments (an office's own list); `nil` for every case.
    public var office: NodeID?
    /// Include closed and archived cases.
    public var includeClosed: Bool
    /// Only cases with a stage past its deadline.
    public var overdueOnly: Bool

    /// A filter; by default every open case.
    public init(office: NodeID? = nil, includeClosed: Bool = false, overdueOnly: Bool = false) {
        self.office = office
        self.includeClosed = includeClosed
        self.overdueOnly = overdueOnly
    }
}

/// One line of a case listing.
public struct CaseListEntry: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// Its overall status.
    public let status: CaseStatus
    /// The listing office's assignment status, for an office's own list.
    public let officeStatus: AssignmentStatus?
    /// The earliest deadline among its open stages (the office's stages, for an office).
    public let nextDue: Timestamp?
    /// Whether one of those stages is past its deadline.
    public let isOverdue: Bool
    /// The topic, or else the start of the masked complaint.
    public let subject: String
    /// Conflicts not yet resolved.
    public let openConflicts: Int
}

/// One case waiting for central: to verify, to dispatch, or waiting for the reporter.
public struct QueueEntry: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// Received, pending or verified.
    public let status: CaseStatus
    /// The deadline of the open central stage.
    public let nextDue: Timestamp?
    /// Whether that deadline has passed.
    public let isOverdue: Bool
    /// The masked complaint.
    public let text: String
    /// Offices the routing rules suggest, best first.
    public let suggestions: [RoutingRules.Suggestion]
    /// Screening flags for the operator to judge; never acted on by themselves.
    public let flags: [ScreeningRules.Flag]
}

/// A conflict the merge recorded, with its case.
public struct ConflictEntry: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// The conflict.
    public let conflict: Conflict
}

extension CaseBook {
    /// The cases `filter` selects: overdue first, then by next deadline, then by ticket.
    ///
    /// - Parameters:
    ///   - filter: which cases.
    ///   - now: the time "overdue" is judged at.
    ///   - limit: at most this many entries (the first page); `nil` for all.
    /// - Returns: the entries, in listing order.
    /// - Throws: ``DeskError`` when the store cannot be read.
    public func list(
        _ filter: CaseListFilter,
        at now: Timestamp,
        limit: Int? = nil
    ) async throws(DeskError)
        -> [CaseListEntry]
    {
        if readsProjection {
            let rows: [CaseRow]
            do {
                rows = try await store.caseRows(
                    office: filter.office,
                    includeClosed: filter.includeClosed,
                    dueBefore: filter.overdueOnly ? now : nil,
                    limit: limit
                )
            } catch {
                throw .storage(error)
            }
            return rows.map { row in
                CaseListEntry(
                    caseID: row.caseID,
                    status: row.status,
                    officeStatus: row.officeStatus,
                    nextDue: row.dueAt,
                    isOverdue: row.dueAt.map { now > $0 } ?? false,
                    subject: row.subject,
                    openConflicts: row.openConflicts
                )
            }
        }
        let office = filter.office
        var entries: [CaseListEntry] = []
        for record in try await allRecords() {
            let state = record.state
            let assignment = office.flatMap { state.assignment(for: $0) }
            if office != nil {
                guard let assignment, assignment.status.isActive else { continue }
            }
            if !filter.includeClosed, !state.status.isOpen { continue }
            let overdue = record.isOverdue(at: now, office: office)
            if filter.overdueOnly, !overdue { continue }
            entries.append(
                CaseListEntry(
                    caseID: state.caseID,
                    status: state.status,
                    officeStatus: assignment?.status,
                    nextDue: record.nextDue(for: office),
                    isOverdue: overdue,
                    subject: state.topic.isEmpty ? String((state.complaint?.text ?? "").prefix(50)) : state.topic,
                    openConflicts: state.openConflicts.count
                )
            )
        }
        entries.sort { lhs, rhs in
            if lhs.isOverdue != rhs.isOverdue { return lhs.isOverdue }
            let lhsDue = lhs.nextDue ?? Timestamp(millisecondsSinceEpoch: .max)
            let rhsDue = rhs.nextDue ?? Timestamp(millisecondsSinceEpoch: .max)
            return lhsDue != rhsDue ? lhsDue < rhsDue : lhs.caseID < rhs.caseID
        }
        if let limit, entries.count > limit { entries.removeLast(entries.count - limit) }
        return entries
    }

    /// Central's queue: cases to verify, to dispatch, or waiting for the reporter, earliest
    /// deadline first.
    public func queue(at now: Timestamp) async throws(DeskError) -> [QueueEntry] {
        if readsProjection {
            do {
                var entries: [QueueEntry] = []
                for row in try await store.queueRows() {
                    // The complaint's whole text, for suggestions and flags: one case read.
                    let text = try await store.caseState(row.caseID)?.complaint?.text ?? ""
                    entries.append(
                        QueueEntry(
                            caseID: row.caseID,
                            status: row.status,
                            nextDue: row.dueAt,
                            isOverdue: row.dueAt.map { now > $0 } ?? false,
                            text: text,
                            suggestions: reference.routing.suggest(for: text),
                            flags: reference.screening.flags(for: text)
                        )
                    )
                }
                return entries
            } catch {
                throw .storage(error)
            }
        }
        let waiting = try await allRecords().filter { record in
            let status = record.state.status
            return status == .received || status == .pending || status == .verified
        }
        return
            waiting
            .map { record in
                let text = record.state.complaint?.text ?? ""
                return QueueEntry(
                    caseID: record.caseID,
                    status: record.state.status,
                    nextDue: record.nextDue(),
                    isOverdue: record.isOverdue(at: now),
                    text: text,
                    suggestions: reference.routing.suggest(for: text),
                    flags: reference.screening.flags(for: text)
                )
            }
            .sorted { lhs, rhs in
                let lhsDue = lhs.nextDue ?? Timestamp(millisecondsSinceEpoch: .max)
                let rhsDue = rhs.nextDue ?? Timestamp(millisecondsSinceEpoch: .max)
                return lhsDue != rhsDue ? lhsDue < rhsDue : lhs.caseID < rhs.caseID
            }
    }

    /// The screening flags a case's complaint raises (at central, where the lists are).
    public func flags(of record: CaseRecord) -> [ScreeningRules.Flag] {
        reference.screening.flags(for: record.state.complaint?.text ?? "")
    }

    /// At the mayor: central's latest report of every node's sync health (last seen, ops
    /// behind), or `nil` before central has sent one.
    public func syncHealth() async throws(DeskError) -> NodeHealthReport? {
        do {
            return try await store.nodeHealthReport()
        } catch {
            throw .storage(error)
        }
    }

    /// Conflicts recorded by the merge, by case; resolved ones only when asked, and of the
    /// first `limit` cases (by ticket) when given.
    public func conflicts(includeResolved: Bool, cases limit: Int? = nil) async throws(DeskError) -> [ConflictEntry] {
        var entries: [ConflictEntry] = []
        var records: [CaseRecord] = []
        do {
            // Only the cases the projection lists with a conflict are folded.
            let listed = try await store.casesWithConflicts(includeResolved: includeResolved)
            for caseID in listed.prefix(limit ?? listed.count) {
                if let found = try await record(caseID) { records.append(found) }
            }
        } catch {
            throw .storage(error)
        }
        for record in records {
            for conflict in record.state.conflicts where includeResolved || !conflict.isResolved {
                entries.append(ConflictEntry(caseID: record.caseID, conflict: conflict))
            }
        }
        return entries
    }

    /// One case with its timeline, deadlines and notes, for `case show` and the consoles.
    ///
    /// - Throws: ``DeskError/Code/caseNotFound`` when this store holds no op of the case.
    public func detail(_ caseID: CaseID) async throws(DeskError) -> CaseRecord {
        let found: CaseRecord?
        do {
            found = try await record(caseID)
        } catch {
            throw .storage(error)
        }
        guard let found else { throw .caseNotFound(caseID, on: store.identity.node) }
        return found
    }

    /// Who is slow, per office, at `now`.
    public func report(at now: Timestamp) async throws(DeskError) -> ResponsivenessReport {
        guard readsProjection else {
            return ResponsivenessReport(records: try await allRecords(), calendar: reference.calendar, now: now)
        }
        let read: (offices: [OfficeReportRow], centralOverdue: Int)
        do {
            read = try await store.officeReport(at: now)
        } catch {
            throw .storage(error)
        }
        let lines = read.offices.map { row in
            var line = ResponsivenessReport.Line(office: row.office)
            line.assigned = row.assigned
            line.open = row.open
            line.overdue = row.overdue
            line.returned = row.returned
            line.resolved = row.resolved
            line.resolvedLate = row.resolvedLate
            line.acknowledgeMedian = row.acknowledgeMedian
            line.acknowledgeP90 = row.acknowledgeP90
            line.followUpMedian = row.followUpMedian
            line.followUpP90 = row.followUpP90
            return line
        }
        return ResponsivenessReport(lines: lines, centralOverdue: read.centralOverdue)
    }

    /// The recap of a WIB day.
    public func recap(of date: CivilDate) async throws(DeskError) -> DailyRecap {
        guard readsProjection else {
            return DailyRecap(date: date, records: try await allRecords(), calendar: reference.calendar)
        }
        let calendar = reference.calendar
        let rows: RecapRows
        do {
            rows = try await store.recapRows(
                from: calendar.instant(date, minute: 0),
                to: calendar.instant(date.adding(days: 1), minute: 0)
            )
        } catch {
            throw .storage(error)
        }
        var recap = DailyRecap(date: date)
        recap.newCases = rows.received
        recap.dispatchedPairs = rows.dispatched.map { .init(caseID: $0.caseID, office: $0.office) }
        recap.resolvedPairs = rows.resolved.map { .init(caseID: $0.caseID, office: $0.office) }
        recap.closed = rows.closed
        recap.archivedPairs = rows.archived.map { .init(caseID: $0.caseID, reason: $0.reason) }
        recap.overdue = rows.overdue
        recap.topics = rows.topics
        recap.conflictPairs = rows.conflicts.map { .init(caseID: $0.caseID, conflict: $0.conflict) }
        return recap
    }

    /// Whether listings, the queue, the report and the recap read the projection.
    ///
    /// They do when the store keeps due times by this book's own targets and calendar.
    /// Otherwise every case is folded, as the reference those reads are tested against.
    package var readsProjection: Bool {
        !foldsEveryCase && store.deadlines == reference.deadlinePolicy
    }

    /// Every record, with a store failure as a desk error.
    func allRecords() async throws(DeskError) -> [CaseRecord] {
        do {
            return try await records()
        } catch {
            throw .storage(error)
        }
    }
}
