import Foundation
import GRDB
public import SambatCore

/// One case as the projection lists it.
public struct CaseRow: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// Its overall status.
    public let status: CaseStatus
    /// The earliest deadline among its open stages (the office's, in an office's list).
    public let dueAt: Timestamp?
    /// The topic, or else the start of the masked complaint.
    public let subject: String
    /// Conflicts not yet resolved.
    public let openConflicts: Int
    /// The office's assignment status, in an office's list.
    public let officeStatus: AssignmentStatus?
}

/// One office's counts and work times, as the projection keeps them.
public struct OfficeReportRow: Hashable, Sendable {
    /// The office.
    public let office: NodeID
    /// Assignments received, handed back, followed up, followed up late.
    public let assigned: Int
    public let returned: Int
    public let resolved: Int
    public let resolvedLate: Int
    /// Active assignments without a follow-up on open cases, and those past a deadline now.
    public let open: Int
    public let overdue: Int
    /// Median and 90th percentile of the time to acknowledge and to follow up, in office
    /// milliseconds counted in whole office minutes.
    public let acknowledgeMedian: Int64?
    public let acknowledgeP90: Int64?
    public let followUpMedian: Int64?
    public let followUpP90: Int64?
}

/// What happened in a span of time, as the projection records it (the daily recap's rows).
public struct RecapRows: Hashable, Sendable {
    /// Cases received.
    public var received: [CaseID] = []
    /// Dispatches and follow-ups: case and office.
    public var dispatched: [CaseOffice] = []
    public var resolved: [CaseOffice] = []
    /// Cases closed.
    public var closed: [CaseID] = []
    /// Cases archived, with the coded reason.
    public var archived: [CaseArchive] = []
    /// Cases with a stage open past its deadline at the span's end.
    public var overdue: [CaseID] = []
    /// Conflicts recorded: case and conflict id.
    public var conflicts: [CaseConflictID] = []
    /// The topic of each case named above that has one.
    public var topics: [CaseID: String] = [:]

    /// A case and an office.
    public struct CaseOffice: Hashable, Sendable {
        public let caseID: CaseID
        public let office: NodeID
    }
    /// A case and why it was archived.
    public struct CaseArchive: Hashable, Sendable {
        public let caseID: CaseID
        public let reason: ArchiveReason
    }
    /// A case and one of its conflicts.
    public struct CaseConflictID: Hashable, Sendable {
        public let caseID: CaseID
        public let conflict: String
    }
}

/// Reads of the case projection through its indexes: no case is folded.
///
/// Due times are kept only when the store was opened with a ``DeadlinePolicy``; callers check
/// ``Store/deadlines`` first.
extension Store {
    private static let finished = "\(CaseStatus.closed.rawValue), \(CaseStatus.archived.rawValue)"
    private static let inactive = "\(AssignmentStatus.returned.rawValue), \(AssignmentStatus.revoked.rawValue)"

    /// Cases by next deadline (so overdue first), then by ticket; then those without an open
    /// stage, by ticket.
    ///
    /// - Parameters:
    ///   - office: only this office's active assignments, by the office's own deadlines.
    ///   - includeClosed: also closed and archived cases.
    ///   - dueBefore: only cases with a deadline before this time (overdue at it).
    ///   - limit: at most this many rows; `nil` for all.
    /// - Returns: the rows, in listing order.
    /// - Throws: ``StoreError`` when the store cannot be read.
    public func caseRows(
        office: NodeID?,
        includeClosed: Bool,
        dueBefore: Timestamp?,
        limit: Int?
    ) async throws(StoreError) -> [CaseRow] {
        try await readProjected { db in
            let limitClause = limit.map { " LIMIT \($0)" } ?? ""
            let open = includeClosed ? "" : " AND c.status NOT IN (\(Self.finished))"
            let due = dueBefore == nil ? "" : " AND \(office == nil ? "c" : "a").dueAt < :before"
            let arguments: StatementArguments = [
                "office": office?.rawValue, "before": dueBefore?.millisecondsSinceEpoch,
            ]
            var rows: [Row]
            if office == nil {
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.caseId, c.status, c.dueAt, c.subject, c.openConflicts, NULL AS officeStatus
                        FROM caseView c WHERE c.dueAt IS NOT NULL\(due)\(open)
                        ORDER BY c.dueAt, c.caseId\(limitClause)
                        """,
                    arguments: arguments
                )
            } else {
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT a.caseId, c.status, a.dueAt, c.subject, c.openConflicts, a.status AS officeStatus
                        FROM assignment a JOIN caseView c ON c.caseId = a.caseId
                        WHERE a.office = :office AND a.dueAt IS NOT NULL AND a.status NOT IN (\(Self.inactive))\(due)\(open)
                        ORDER BY a.dueAt, a.caseId\(limitClause)
                        """,
                    arguments: arguments
                )
            }
            if dueBefore == nil, limit.map({ rows.count < $0 }) ?? true {
                let rest = limit.map { " LIMIT \($0 - rows.count)" } ?? ""
                rows += try Row.fetchAll(
                    db,
                    sql: office == nil
                        ? """
                        SELECT c.caseId, c.status, c.dueAt, c.subject, c.openConflicts, NULL AS officeStatus
                        FROM caseView c WHERE c.dueAt IS NULL\(open) ORDER BY c.caseId\(rest)
                        """
                        : """
                        SELECT a.caseId, c.status, a.dueAt, c.subject, c.openConflicts, a.status AS officeStatus
                        FROM assignment a JOIN caseView c ON c.caseId = a.caseId
                        WHERE a.office = :office AND a.dueAt IS NULL AND a.status NOT IN (\(Self.inactive))\(open)
                        ORDER BY a.caseId\(rest)
                        """,
                    arguments: arguments
                )
            }
            return rows.compactMap(Self.caseRow)
        }
    }

    /// Central's queue: cases received, pending or verified, by next deadline then ticket.
    public func queueRows() async throws(StoreError) -> [CaseRow] {
        let waiting = [CaseStatus.received, .pending, .verified].map { String($0.rawValue) }.joined(separator: ", ")
        return try await readProjected { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT caseId, status, dueAt, subject, openConflicts, NULL AS officeStatus FROM caseView
                    WHERE status IN (\(waiting)) ORDER BY dueAt IS NULL, dueAt, caseId
                    """
            ).compactMap(Self.caseRow)
        }
    }

    /// Cases with a conflict (an unresolved one, unless `includeResolved`), by ticket.
    public func casesWithConflicts(includeResolved: Bool) async throws(StoreError) -> [CaseID] {
        try await readProjected { db in
            try String.fetchAll(
                db,
                sql: includeResolved
                    ? "SELECT DISTINCT caseId FROM caseConflict ORDER BY caseId"
                    : "SELECT DISTINCT caseId FROM caseConflict WHERE resolvedBy IS NULL ORDER BY caseId"
            ).compactMap { try? CaseID($0) }
        }
    }

    /// How many cases central received, and how many were closed, between each two
    /// consecutive `boundaries` (counts over index ranges of the received and closed times).
    ///
    /// - Returns: one pair per interval, in order (one fewer than the boundaries).
    public func caseCounts(between boundaries: [Timestamp]) async throws(StoreError) -> [(received: Int, closed: Int)] {
        let edges = boundaries.map(\.millisecondsSinceEpoch)
        return try await readProjected { db in
            let received = try db.cachedStatement(
                sql: "SELECT count(*) FROM caseView WHERE receivedAt >= ? AND receivedAt < ?"
            )
            let closed = try db.cachedStatement(
                sql: "SELECT count(*) FROM caseView WHERE closedAt >= ? AND closedAt < ?"
            )
            return try zip(edges, edges.dropFirst()).map { start, end in
                (
                    try Int.fetchOne(received, arguments: [start, end]) ?? 0,
                    try Int.fetchOne(closed, arguments: [start, end]) ?? 0
                )
            }
        }
    }

    /// Every office's line of the responsiveness report at `now`, and central's own overdue
    /// count (cases not yet verified or dispatched past a deadline).
    public func officeReport(
        at now: Timestamp
    ) async throws(StoreError) -> (
        offices: [OfficeReportRow], centralOverdue: Int
    ) {
        try await readProjected { db in
            let moment = now.millisecondsSinceEpoch
            var overdue: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT office, COUNT(*) FROM assignment WHERE dueAt < ? AND isOpen = 1 GROUP BY office",
                arguments: [moment]
            ) {
                overdue[row[0]] = row[1]
            }
            let centralOverdue =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(DISTINCT caseId) FROM caseStage WHERE doneAt IS NULL AND dueAt < ? AND office = ''",
                    arguments: [moment]
                ) ?? 0
            // Nearest-rank percentiles in whole office minutes: walk the office's hours to the
            // one holding the rank, then that hour's minutes.
            func percentile(_ metric: Int, _ office: String, _ fraction: Double, of count: Int) throws -> Int64? {
                guard count > 0 else { return nil }
                var remaining = min(count - 1, max(0, Int((fraction * Double(count)).rounded(.up)) - 1))
                let hours = try Row.fetchCursor(
                    db,
                    sql:
                        "SELECT hour, count FROM officeWorkHour WHERE office = ? AND metric = ? AND count > 0 ORDER BY hour",
                    arguments: [office, metric]
                )
                while let row = try hours.next() {
                    let inHour: Int = row[1]
                    guard remaining < inHour else {
                        remaining -= inHour
                        continue
                    }
                    let hour: Int64 = row[0]
                    let minutes = try Row.fetchCursor(
                        db,
                        sql: """
                            SELECT minute, count FROM officeWork
                            WHERE office = ? AND metric = ? AND minute >= ? AND minute < ? AND count > 0 ORDER BY minute
                            """,
                        arguments: [office, metric, hour * 60, hour * 60 + 60]
                    )
                    while let minute = try minutes.next() {
                        let inMinute: Int = minute[1]
                        if remaining < inMinute { return (minute[0] as Int64) * 60_000 }
                        remaining -= inMinute
                    }
                    return nil
                }
                return nil
            }
            var offices: [OfficeReportRow] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM officeStats WHERE assigned > 0 ORDER BY office") {
                let code: String = row["office"]
                guard let office = try? NodeID(code) else { continue }
                let acknowledged: Int = row["acknowledged"]
                let followedUp: Int = row["followedUp"]
                offices.append(
                    OfficeReportRow(
                        office: office,
                        assigned: row["assigned"],
                        returned: row["returned"],
                        resolved: row["resolved"],
                        resolvedLate: row["resolvedLate"],
                        open: row["open"],
                        overdue: overdue[code] ?? 0,
                        acknowledgeMedian: try percentile(1, code, 0.5, of: acknowledged),
                        acknowledgeP90: try percentile(1, code, 0.9, of: acknowledged),
                        followUpMedian: try percentile(2, code, 0.5, of: followedUp),
                        followUpP90: try percentile(2, code, 0.9, of: followedUp)
                    )
                )
            }
            return (offices, centralOverdue)
        }
    }

    /// What happened from `start` up to `end`, and what was overdue at `end`.
    ///
    /// Every part is an index range over `start..<end`, except the overdue count, which reads
    /// the stages open now and those done since `end`: fast for recent days, slower the
    /// further back `end` lies.
    public func recapRows(from start: Timestamp, to end: Timestamp) async throws(StoreError) -> RecapRows {
        try await readProjected { db in
            let range: StatementArguments = [start.millisecondsSinceEpoch, end.millisecondsSinceEpoch]
            var rows = RecapRows()
            // Every query brings each case's topic along, so no case is looked up again.
            func noteTopic(_ caseID: CaseID, _ topic: String?) {
                if let topic, !topic.isEmpty { rows.topics[caseID] = topic }
            }
            func cases(_ sql: String, _ arguments: StatementArguments = range) throws -> [CaseID] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
                    guard let caseID = try? CaseID(row[0] as String) else { return nil }
                    noteTopic(caseID, row[1])
                    return caseID
                }
            }
            func pairs(_ column: String) throws -> [RecapRows.CaseOffice] {
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT a.caseId, v.topic, a.office FROM assignment a JOIN caseView v ON v.caseId = a.caseId
                        WHERE a.\(column) >= ? AND a.\(column) < ? ORDER BY a.caseId, a.dispatchedAt, a.office
                        """,
                    arguments: range
                ).compactMap { row in
                    guard let caseID = try? CaseID(row[0] as String), let office = try? NodeID(row[2] as String)
                    else { return nil }
                    noteTopic(caseID, row[1])
                    return RecapRows.CaseOffice(caseID: caseID, office: office)
                }
            }
            rows.received = try cases(
                "SELECT caseId, topic FROM caseView WHERE receivedAt >= ? AND receivedAt < ? ORDER BY caseId"
            )
            rows.dispatched = try pairs("dispatchedAt")
            rows.resolved = try pairs("resolvedAt")
            rows.closed = try cases(
                "SELECT caseId, topic FROM caseView WHERE closedAt >= ? AND closedAt < ? ORDER BY caseId"
            )
            rows.archived = try Row.fetchAll(
                db,
                sql: """
                    SELECT caseId, topic, archiveReason FROM caseView WHERE archivedAt >= ? AND archivedAt < ?
                    ORDER BY caseId
                    """,
                arguments: range
            ).compactMap { row in
                guard let caseID = try? CaseID(row[0] as String),
                    let reason = (row[2] as Int64?).flatMap({ ArchiveReason(rawValue: UInt8(clamping: $0)) })
                else { return nil }
                noteTopic(caseID, row[1])
                return RecapRows.CaseArchive(caseID: caseID, reason: reason)
            }
            let end = end.millisecondsSinceEpoch
            // Two index ranges (stages still open, stages done after the end), merged here: a
            // single UNION query scans the whole table.
            let overdue = Set(
                try cases(
                    """
                    SELECT s.caseId, v.topic FROM caseStage s JOIN caseView v ON v.caseId = s.caseId
                    WHERE s.doneAt IS NULL AND s.dueAt < ?1 AND s.startedAt < ?1
                    """,
                    [end]
                )
                    + cases(
                        """
                        SELECT s.caseId, v.topic FROM caseStage s JOIN caseView v ON v.caseId = s.caseId
                        WHERE s.doneAt >= ?1 AND s.dueAt < ?1 AND s.startedAt < ?1
                        """,
                        [end]
                    )
            )
            rows.overdue = overdue.sorted()
            rows.conflicts = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.caseId, v.topic, c.conflictId FROM caseConflict c JOIN caseView v ON v.caseId = c.caseId
                    WHERE c.recordedAt >= ? AND c.recordedAt < ? ORDER BY c.caseId, c.conflictId
                    """,
                arguments: range
            ).compactMap { row in
                guard let caseID = try? CaseID(row[0] as String) else { return nil }
                noteTopic(caseID, row[1])
                return RecapRows.CaseConflictID(caseID: caseID, conflict: row[2])
            }
            return rows
        }
    }

    private static func caseRow(_ row: Row) -> CaseRow? {
        guard let caseID = try? CaseID(row[0] as String),
            let status = CaseStatus(rawValue: UInt8(clamping: row[1] as Int64))
        else { return nil }
        return CaseRow(
            caseID: caseID,
            status: status,
            dueAt: (row[2] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) },
            subject: row[3],
            openConflicts: row[4],
            officeStatus: (row[5] as Int64?).flatMap { AssignmentStatus(rawValue: UInt8(clamping: $0)) }
        )
    }
}
