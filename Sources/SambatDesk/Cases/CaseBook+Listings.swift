public import SambatCore
import SambatStore

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

    /// Conflicts recorded by the merge, by case; resolved ones only when asked.
    public func conflicts(includeResolved: Bool) async throws(DeskError) -> [ConflictEntry] {
        var entries: [ConflictEntry] = []
        for record in try await allRecords() {
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
        ResponsivenessReport(records: try await allRecords(), calendar: reference.calendar, now: now)
    }

    /// The recap of a WIB day.
    public func recap(of date: CivilDate) async throws(DeskError) -> DailyRecap {
        DailyRecap(date: date, records: try await allRecords(), calendar: reference.calendar)
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
