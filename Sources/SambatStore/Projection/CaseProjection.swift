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

    func write(before: CaseState?, after state: CaseState) throws {
        let caseID = state.caseID.rawValue
        let openedAt = try state.milestones.received.map { try time(of: $0.op) }
        let latest = try state.history.last.map { try time(of: $0.op) } ?? 0
        try db.cachedStatement(
            sql: """
                INSERT INTO caseView (caseId, status, phase, tier, topic, channel, activeOffices, openConflicts,
                                      opCount, lamport, receivedAt, updatedAt)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                ON CONFLICT (caseId) DO UPDATE SET
                    status = ?2, phase = ?3, tier = ?4, topic = ?5, channel = ?6, activeOffices = ?7,
                    openConflicts = ?8, opCount = ?9, lamport = ?10, receivedAt = ?11,
                    updatedAt = MAX(updatedAt, ?12)
                """
        ).execute(arguments: [
            caseID, Int64(state.status.rawValue), Int64(state.phase.rawValue), state.tier.map { Int64($0.rawValue) },
            state.topic, state.complaint.map { Int64($0.channel.rawValue) },
            state.activeAssignments.map(\.office.rawValue).joined(separator: ","), state.openConflicts.count,
            state.opCount, Int64(state.lamport), openedAt, latest,
        ])

        let previous = Dictionary(
            (before?.assignments ?? []).map { ($0.office, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        for assignment in state.assignments where previous[assignment.office] != assignment {
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO assignment (caseId, office, epoch, status, dispatchedOp, dispatchedAt,
                                                       acknowledgedAt, startedAt, resolvedAt, endedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                caseID, assignment.office.rawValue, Int64(assignment.epoch), Int64(assignment.status.rawValue),
                assignment.dispatched.op.description, try time(of: assignment.dispatched.op),
                try assignment.acknowledged.map { try time(of: $0.op) },
                try assignment.started.map { try time(of: $0.op) },
                try assignment.resolved.map { try time(of: $0.op) },
                try assignment.ended.map { try time(of: $0.op) },
            ])
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

    /// Central's receive time of an op, in milliseconds.
    private func time(of id: OpID) throws -> Int64 {
        if let known = receivedAt[id] { return known.millisecondsSinceEpoch }
        let statement = try db.cachedStatement(sql: "SELECT receivedAt FROM op WHERE origin = ? AND seq = ?")
        return try Int64.fetchOne(statement, arguments: [id.origin.description, Int64(id.seq)]) ?? 0
    }
}
