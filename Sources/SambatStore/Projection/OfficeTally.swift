import GRDB
import SambatCore

/// The report's per-office counts (`officeStats`, `officeWork`, `officeWorkHour`) that one
/// projection transaction changes, summed in memory and written once per office and bucket
/// when the transaction's cases are written.
///
/// Each changed assignment moves a few of its office's counters by one. Written case by case,
/// that was an upsert per counter per case (two tables per work time, and a prune after each
/// decrement): a twentieth of a mayor's back-fill went to rows that a window of 100,000 ops
/// rewrites thousands of times over (perf, `scripts/scale.py --cases 100000`). Summed, each
/// counter row is written once per transaction with the net change; a row whose net change is
/// negative is pruned when it reaches zero, so the tables hold what a rebuild writes.
///
/// Owned by one ``CaseProjection``, inside one write transaction; a class so the projection's
/// non-mutating writes can add to it. Not `Sendable`.
final class OfficeTally {
    /// A work-time bucket: an office's count of assignments that took `minute` whole office
    /// minutes, for `metric` (1 acknowledge, 2 follow up).
    private struct WorkBucket: Hashable, Comparable {
        let office: String
        let metric: Int
        let minute: Int64

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.office, lhs.metric, lhs.minute) < (rhs.office, rhs.metric, rhs.minute)
        }
    }

    private var counts: [String: OfficeCounts] = [:]
    private var work: [WorkBucket: Int] = [:]

    /// Adds `delta` to the office's report counts.
    func add(_ delta: OfficeCounts, to office: NodeID) {
        counts[office.rawValue, default: OfficeCounts()].add(delta)
    }

    /// Adds `change` to the office's count of work times of `minute` for `metric`.
    func count(_ minute: Int64, metric: Int, of office: NodeID, by change: Int) {
        work[WorkBucket(office: office.rawValue, metric: metric, minute: minute), default: 0] += change
    }

    /// Writes the summed changes, in key order, and forgets them.
    ///
    /// Call once the transaction's cases are written, before it commits.
    func write(with statements: HotStatements) throws {
        defer {
            counts.removeAll(keepingCapacity: true)
            work.removeAll(keepingCapacity: true)
        }
        if !counts.isEmpty {
            let add = try statements(
                """
                INSERT INTO officeStats (office, assigned, returned, resolved, resolvedLate, open, acknowledged,
                                         followedUp)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (office) DO UPDATE SET
                    assigned = assigned + excluded.assigned, returned = returned + excluded.returned,
                    resolved = resolved + excluded.resolved, resolvedLate = resolvedLate + excluded.resolvedLate,
                    open = open + excluded.open, acknowledged = acknowledged + excluded.acknowledged,
                    followedUp = followedUp + excluded.followedUp
                """
            )
            for office in counts.keys.sorted() {
                guard let delta = counts[office], delta != OfficeCounts() else { continue }
                add.bind(1, office)
                for (offset, value) in [
                    delta.assigned, delta.returned, delta.resolved, delta.resolvedLate, delta.open, delta.acknowledged,
                    delta.followedUp,
                ].enumerated() {
                    add.bind(Int32(2 + offset), value)
                }
                try add.execute()
            }
        }
        guard !work.isEmpty else { return }
        // An hour's bucket moves by the sum of its minutes' changes.
        var hours: [WorkBucket: Int] = [:]
        for (bucket, change) in work where change != 0 {
            hours[WorkBucket(office: bucket.office, metric: bucket.metric, minute: bucket.minute / 60), default: 0] +=
                change
        }
        // Literal SQL per table: hot statements are keyed by their literal.
        try write(
            work,
            add: try statements(
                """
                INSERT INTO officeWork (office, metric, minute, count) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (office, metric, minute) DO UPDATE SET count = count + ?4
                """
            ),
            prune: try statements(
                "DELETE FROM officeWork WHERE office = ? AND metric = ? AND minute = ? AND count <= 0"
            )
        )
        try write(
            hours,
            add: try statements(
                """
                INSERT INTO officeWorkHour (office, metric, hour, count) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (office, metric, hour) DO UPDATE SET count = count + ?4
                """
            ),
            prune: try statements(
                "DELETE FROM officeWorkHour WHERE office = ? AND metric = ? AND hour = ? AND count <= 0"
            )
        )
    }

    private func write(_ changes: [WorkBucket: Int], add: HotStatement, prune: HotStatement) throws {
        for bucket in changes.keys.sorted() {
            guard let change = changes[bucket], change != 0 else { continue }
            add.bind(1, bucket.office)
            add.bind(2, bucket.metric)
            add.bind(3, bucket.minute)
            add.bind(4, change)
            try add.execute()
            guard change < 0 else { continue }
            // No empty buckets: the table stays what a rebuild would write.
            prune.bind(1, bucket.office)
            prune.bind(2, bucket.metric)
            prune.bind(3, bucket.minute)
            try prune.execute()
        }
    }
}

extension OfficeCounts {
    /// Adds every counter of `other`.
    mutating func add(_ other: OfficeCounts) {
        assigned += other.assigned
        returned += other.returned
        resolved += other.resolved
        resolvedLate += other.resolvedLate
        open += other.open
        acknowledged += other.acknowledged
        followedUp += other.followedUp
    }
}
