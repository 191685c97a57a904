import Foundation
import GRDB
import SambatCore

/// Writes a case's projection rows (`caseView`, `assignment`, `caseConflict`, `evidence`)
/// from its folded state, touching only what changed since the previous state.
///
/// Used inside a write transaction; not `Sendable`.
struct CaseProjection {
    let db: Database
    /// Receive times of ops written in this transaction; older stamps are looked up.
    let receivedAt: [OpID: Timestamp]

    func write(before: CaseBaseline?, after state: CaseState) throws {
        let caseID = state.caseID.rawValue
        // Receive times that did not change are kept from the row (NULL means "keep").
        let openedAt =
            before?.received == state.milestones.received
            ? nil : try state.milestones.received.map { try time(of: $0.op) }
        var latest = state.history.last.flatMap { receivedAt[$0.op]?.millisecondsSinceEpoch }
        if latest == nil, before == nil, let last = state.history.last {
            latest = try time(of: last.op)  // a rebuilt projection: look the time up once
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO caseView (caseId, status, phase, tier, topic, channel, activeOffices, openConflicts,
                                      opCount, lamport, receivedAt, updatedAt)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, COALESCE(?12, 0))
                ON CONFLICT (caseId) DO UPDATE SET
                    status = ?2, phase = ?3, tier = ?4, topic = ?5, channel = ?6, activeOffices = ?7,
                    openConflicts = ?8, opCount = ?9, lamport = ?10, receivedAt = COALESCE(?11, receivedAt),
                    updatedAt = MAX(updatedAt, COALESCE(?12, updatedAt))
                """
        ).execute(arguments: [
            caseID, Int64(state.status.rawValue), Int64(state.phase.rawValue), state.tier.map { Int64($0.rawValue) },
            state.topic, state.complaint.map { Int64($0.channel.rawValue) }, activeOffices(state),
            openConflicts(state), state.opCount, Int64(state.lamport), openedAt, latest,
        ])

        for assignment in state.assignments {
            let previous = before?.assignments.first { $0.office == assignment.office }
            if previous != assignment { try write(assignment, previous: previous, caseID: caseID) }
        }

        if before?.conflicts != state.conflicts {
            try db.execute(sql: "DELETE FROM caseConflict WHERE caseId = ?", arguments: [caseID])
            for conflict in state.conflicts {
                try db.execute(
                    sql: """
                        INSERT INTO caseConflict (caseId, conflictId, reason, office, ops, resolvedBy)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        caseID, conflict.id, conflict.reason.rawValue, conflict.office?.rawValue,
                        conflict.ops.map(\.description).joined(separator: ","),
                        conflict.resolution?.op.description,
                    ]
                )
            }
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

    private func write(_ assignment: Assignment, previous: Assignment?, caseID: String) throws {
        // A stamp that did not change keeps the stored time; a new one is looked up once.
        func column(_ now: Stamp?, _ old: Stamp?) throws -> (keep: Bool, value: Int64?) {
            if previous != nil, now == old { return (true, nil) }
            return (false, try now.map { try time(of: $0.op) })
        }
        let dispatched = try column(assignment.dispatched, previous?.dispatched)
        let acknowledged = try column(assignment.acknowledged, previous?.acknowledged)
        let started = try column(assignment.started, previous?.started)
        let resolved = try column(assignment.resolved, previous?.resolved)
        let ended = try column(assignment.ended, previous?.ended)
        try db.cachedStatement(
            sql: """
                INSERT INTO assignment (caseId, office, epoch, status, dispatchedOp, dispatchedAt,
                                        acknowledgedAt, startedAt, resolvedAt, endedAt)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?8, ?10, ?12, ?14)
                ON CONFLICT (caseId, office) DO UPDATE SET
                    epoch = ?3, status = ?4, dispatchedOp = ?5,
                    dispatchedAt = IIF(?7, dispatchedAt, ?6),
                    acknowledgedAt = IIF(?9, acknowledgedAt, ?8),
                    startedAt = IIF(?11, startedAt, ?10),
                    resolvedAt = IIF(?13, resolvedAt, ?12),
                    endedAt = IIF(?15, endedAt, ?14)
                """
        ).execute(arguments: [
            caseID, assignment.office.rawValue, Int64(assignment.epoch), Int64(assignment.status.rawValue),
            assignment.dispatched.op.description, dispatched.value, dispatched.keep, acknowledged.value,
            acknowledged.keep, started.value, started.keep, resolved.value, resolved.keep, ended.value, ended.keep,
        ])
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

    /// Central's receive time of an op, in milliseconds.
    private func time(of id: OpID) throws -> Int64 {
        if let known = receivedAt[id] { return known.millisecondsSinceEpoch }
        let statement = try db.cachedStatement(sql: "SELECT receivedAt FROM op WHERE origin = ? AND seq = ?")
        return try Int64.fetchOne(statement, arguments: [id.origin.description, Int64(id.seq)]) ?? 0
    }
}
