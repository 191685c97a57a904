import Foundation
import GRDB
public import SambatCore

/// One entry of central's feed for a peer.
public struct FeedEntry: Hashable, Sendable {
    /// The position in the peer's feed (1, 2, 3, …).
    public let feedSeq: UInt64
    /// The op.
    public let op: StoredOp
}

/// A page of a snapshot: the ops of some cases a peer may see, and where to continue.
public struct SnapshotPage: Hashable, Sendable {
    /// Ops of the page's cases, in fold order per case.
    public let ops: [StoredOp]
    /// The last case in this page, to pass as `after` for the next page.
    ///
    /// `nil` when there are no more cases.
    public let lastCase: CaseID?
}

/// A quarantined op as listed for audit.
public struct QuarantineEntry: Hashable, Sendable {
    /// The refused op.
    public let id: OpID
    /// Its case.
    public let caseID: String
    /// Why it was refused.
    public let reason: String
    /// The peer that sent it.
    public let peer: String
}

extension Store {
    /// This node's own ops above `seq` under `origin`, in seq order, at most `limit`.
    ///
    /// What an office uploads: the log is the outbox, "unsent" is just `seq > frontier`.
    public func ops(of origin: Origin, after seq: UInt64, limit: Int) async throws(StoreError) -> [StoredOp] {
        try await read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT bytes, hash, receivedAt FROM op
                        WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3
                        """
                ),
                arguments: [origin.description, Int64(clamping: seq), limit]
            )
            return try rows.map(self.decodeStored)
        }
    }

    /// This node's earlier incarnations that left ops in this store, oldest first, each with
    /// its highest seq held here.
    ///
    /// A store restored from a backup holds its previous incarnation's ops, some of which may
    /// never have reached central; the node offers them before its current ones.
    public func earlierOwnOrigins() async throws(StoreError) -> [(origin: Origin, head: UInt64)] {
        let current = try await currentOrigin()
        let rows: [(String, Int64)] = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT origin, head FROM (
                        SELECT name AS origin, (SELECT MAX(seq) FROM op WHERE op.originKey = origin.key) AS head
                        FROM origin WHERE name LIKE ? ESCAPE '\\'
                    ) WHERE head IS NOT NULL
                    """,
                arguments: [current.node.rawValue.replacingOccurrences(of: "_", with: "\\_") + "#%"]
            ).map { ($0["origin"], $0["head"]) }
        }
        return
            rows
            .compactMap { text, head -> (origin: Origin, head: UInt64)? in
                guard let origin = try? Origin(parsing: text), origin.node == current.node,
                    origin.incarnation < current.incarnation
                else { return nil }
                return (origin, UInt64(max(0, head)))
            }
            .sorted { $0.origin.incarnation < $1.origin.incarnation }
    }

    /// Entries of `peer`'s feed after position `after`, in feed order, at most `limit`.
    ///
    /// A feed row is a run of consecutive seqs (see `FeedRun`); the first run read starts at
    /// the seq that follows `after`, so a long run is never scanned from its beginning.
    public func feed(for peer: NodeID, after: UInt64, limit: Int) async throws(StoreError) -> [FeedEntry] {
        try await read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT feed.feedSeq - (feed.seq + feed.runLength - 1 - op.seq) AS position, op.bytes, op.hash, op.receivedAt
                        FROM feed JOIN origin ON origin.name = feed.origin JOIN op ON op.originKey = origin.key
                            AND op.seq >= feed.seq + MAX(0, ?2 - (feed.feedSeq - feed.runLength))
                            AND op.seq < feed.seq + feed.runLength
                        WHERE feed.peer = ?1 AND feed.feedSeq > ?2
                        ORDER BY feed.feedSeq, op.seq LIMIT ?3
                        """
                ),
                arguments: [peer.rawValue, Int64(clamping: after), limit]
            )
            return try rows.map { row in
                FeedEntry(feedSeq: UInt64(row["position"] as Int64), op: try self.decodeStored(row))
            }
        }
    }

    /// The last position of `peer`'s feed (0 when empty).
    public func feedHead(for peer: NodeID) async throws(StoreError) -> UInt64 {
        try await feedHeads(for: [peer])[peer] ?? 0
    }

    /// The last position of each of `peers`' feeds (0 when empty), in one read.
    ///
    /// Central looks at every connected peer's feed head on every poll (50 times a second by
    /// default): one read for all of them instead of one each keeps that cheap with 60 peers.
    public func feedHeads(for peers: [NodeID]) async throws(StoreError) -> [NodeID: UInt64] {
        try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT MAX(feedSeq) FROM feed WHERE peer = ?")
            var heads: [NodeID: UInt64] = [:]
            for peer in peers {
                heads[peer] = UInt64(try Int64.fetchOne(statement, arguments: [peer.rawValue]) ?? 0)
            }
            return heads
        }
    }

    /// The replica-level version vector: every origin's highest contiguous seq.
    public func frontiers() async throws(StoreError) -> VersionVector {
        try await read { db in
            var counters: [Origin: UInt64] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT origin, contiguous FROM frontier")) {
                if let origin = try? Origin(parsing: row["origin"]) {
                    counters[origin] = UInt64(row["contiguous"] as Int64)
                }
            }
            return VersionVector(counters)
        }
    }

    /// The highest contiguous seq held of `origin` (0 when none).
    public func frontier(of origin: Origin) async throws(StoreError) -> UInt64 {
        try await read { db in
            UInt64(
                try Int64.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT contiguous FROM frontier WHERE origin = ?"
                    ),
                    arguments: [origin.description]
                ) ?? 0
            )
        }
    }

    /// Seqs of `origin` held above its frontier (ops that arrived past a gap).
    public func seqsAboveGap(of origin: Origin) async throws(StoreError) -> [UInt64] {
        try await read { db in
            try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT seq FROM heldAboveGap WHERE origin = ? ORDER BY seq"
                ),
                arguments: [origin.description]
            ).map { UInt64($0) }
        }
    }

    /// A page of the ops a peer may see, for a new or restored peer.
    ///
    /// Every case for the mayor, the cases ever assigned to it for an office; in id order.
    public func snapshot(
        for peer: NodeID,
        role: NodeRole,
        after: CaseID?,
        caseLimit: Int
    ) async throws(StoreError)
        -> SnapshotPage
    {
        try await readProjected { db in
            let caseIDs: [String]
            switch role {
            case .mayor, .central:
                caseIDs = try String.fetchAll(
                    db,
                    sql: "SELECT caseId FROM caseView WHERE caseId > ? ORDER BY caseId LIMIT ?",
                    arguments: [after?.rawValue ?? "", caseLimit]
                )
            case .office:
                caseIDs = try String.fetchAll(
                    db,
                    sql: "SELECT caseId FROM assignment WHERE office = ? AND caseId > ? ORDER BY caseId LIMIT ?",
                    arguments: [peer.rawValue, after?.rawValue ?? "", caseLimit]
                )
            }
            var ops: [StoredOp] = []
            for caseID in caseIDs {
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT bytes, hash, receivedAt FROM op WHERE caseKey = ?",
                    arguments: [CaseKey.of(try CaseID(caseID))]
                )
                ops += try rows.map(self.decodeStored).sorted { $0.sealed.op.foldKey < $1.sealed.op.foldKey }
            }
            let last = caseIDs.count < caseLimit ? nil : caseIDs.last.flatMap { try? CaseID($0) }
            return SnapshotPage(ops: ops, lastCase: last)
        }
    }

    /// Every stored op of a case (unordered).
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/corruptOp`` when a row's bytes do not
    ///   decode, do not match their hash, or name another case.
    public func ops(ofCase caseID: CaseID) async throws(StoreError) -> [StoredOp] {
        try await read { db in
            let ops = try Row.fetchAll(
                db,
                sql: "SELECT bytes, hash, receivedAt FROM op WHERE caseKey = ?",
                arguments: [CaseKey.of(caseID)]
            ).map(self.decodeStored)
            guard ops.allSatisfy({ $0.sealed.op.caseID == caseID }) else {
                throw StoreError(
                    .corruptOp,
                    path: self.path,
                    message: "a stored op's bytes name another case than its row; restore from a backup"
                )
            }
            return ops
        }
    }

    /// The case folded from its stored ops, or `nil` when this store holds none.
    public func caseState(_ caseID: CaseID) async throws(StoreError) -> CaseState? {
        let ops = try await ops(ofCase: caseID)
        guard !ops.isEmpty else { return nil }
        return fold.fold(ops.map(\.sealed.op), caseID: caseID)
    }

    /// Case ids this store holds, in order.
    public func caseIDs() async throws(StoreError) -> [CaseID] {
        try await readProjected { db in
            try String.fetchAll(db, sql: "SELECT caseId FROM caseView ORDER BY caseId").compactMap { try? CaseID($0) }
        }
    }

    /// Case ids that start with `prefix` (such as `MJK-261129-`), in text order: one day's
    /// tickets, read from the projection's primary key without scanning other days.
    public func caseIDs(withPrefix prefix: String) async throws(StoreError) -> [CaseID] {
        // Every id with the prefix sorts between it and the prefix with its last byte raised.
        var upper = Array(prefix.utf8)
        guard let last = upper.popLast(), last < 0x7F else { return [] }
        upper.append(last + 1)
        let bound = String(decoding: upper, as: UTF8.self)
        return try await readProjected { db in
            try String.fetchAll(
                db,
                sql: "SELECT caseId FROM caseView WHERE caseId >= ? AND caseId < ? ORDER BY caseId",
                arguments: [prefix, bound]
            )
            .compactMap { try? CaseID($0) }
        }
    }

    /// How many cases this store holds.
    public func caseCount() async throws(StoreError) -> Int {
        try await readProjected { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caseView") ?? 0 }
    }

    /// The saved position for `peer` (an office's position in central's feed, or at central
    /// how far a peer has acknowledged its feed).
    public func checkpoint(for peer: NodeID) async throws(StoreError) -> UInt64 {
        try await read { db in
            UInt64(
                try Int64.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT position FROM checkpoint WHERE peer = ?"
                    ),
                    arguments: [peer.rawValue]
                ) ?? 0
            )
        }
    }

    /// Saves a position for `peer`; positions never move backwards.
    public func saveCheckpoint(_ position: UInt64, for peer: NodeID) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, position) VALUES (?, ?)
                    ON CONFLICT (peer) DO UPDATE SET position = MAX(position, excluded.position)
                    """,
                arguments: [peer.rawValue, Int64(clamping: position)]
            )
        }
    }

    /// Ops refused by authorization, for audit.
    public func quarantine() async throws(StoreError) -> [QuarantineEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT origin, seq, caseId, reason, peer FROM quarantine ORDER BY origin, seq")
                .compactMap { row in
                    guard let origin = try? Origin(parsing: row["origin"]),
                        let id = try? OpID(origin: origin, seq: UInt64(row["seq"] as Int64))
                    else { return nil }
                    return QuarantineEntry(id: id, caseID: row["caseId"], reason: row["reason"], peer: row["peer"])
                }
        }
    }

    /// How many integrity alarms (same op id, different bytes) have been recorded.
    public func integrityAlarmCount() async throws(StoreError) -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM integrityAlarm") ?? 0 }
    }

    /// Overwrites the saved position for `peer`, also backwards, and the feed epoch it belongs
    /// to: for a node whose checkpoint central no longer recognises (central was restored),
    /// before it replays the feed.
    public func resetCheckpoint(_ position: UInt64, epoch: UInt64 = 0, for peer: NodeID) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, position, epoch) VALUES (?, ?, ?)
                    ON CONFLICT (peer) DO UPDATE SET position = excluded.position, epoch = excluded.epoch
                    """,
                arguments: [peer.rawValue, Int64(clamping: position), Int64(clamping: epoch)]
            )
        }
    }

    /// The feed epoch the saved position for `peer` belongs to (0 when never set).
    public func checkpointEpoch(for peer: NodeID) async throws(StoreError) -> UInt64 {
        try await read { db in
            UInt64(
                try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT epoch FROM checkpoint WHERE peer = ?"),
                    arguments: [peer.rawValue]
                )
                    ?? 0
            )
        }
    }

    /// Like ``feed(for:after:limit:)`` but without decoding: what a sender needs, since the
    /// receiver decodes and verifies every op anyway.
    /// - Returns: per entry its feed position, canonical bytes and central's receive time.
    public func feedBytes(
        for peer: NodeID,
        after: UInt64,
        limit: Int
    ) async throws(StoreError) -> [(feedSeq: UInt64, bytes: [UInt8], receivedAt: Timestamp)] {
        try await read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT feed.feedSeq - (feed.seq + feed.runLength - 1 - op.seq) AS position, op.bytes, op.receivedAt
                        FROM feed JOIN origin ON origin.name = feed.origin JOIN op ON op.originKey = origin.key
                            AND op.seq >= feed.seq + MAX(0, ?2 - (feed.feedSeq - feed.runLength))
                            AND op.seq < feed.seq + feed.runLength
                        WHERE feed.peer = ?1 AND feed.feedSeq > ?2
                        ORDER BY feed.feedSeq, op.seq LIMIT ?3
                        """
                ),
                arguments: [peer.rawValue, Int64(clamping: after), limit]
            )
            var entries: [(feedSeq: UInt64, bytes: [UInt8], receivedAt: Timestamp)] = []
            while let row = try rows.next() {
                entries.append(
                    (
                        UInt64(row[0] as Int64), Array(row[1] as Data),
                        Timestamp(millisecondsSinceEpoch: row[2] as Int64)
                    )
                )
            }
            return entries
        }
    }

    /// Like ``ops(of:after:limit:)`` but without decoding: seqs and canonical bytes.
    public func opBytes(
        of origin: Origin,
        after seq: UInt64,
        limit: Int
    ) async throws(StoreError) -> [(seq: UInt64, bytes: [UInt8])] {
        try await read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql:
                        "SELECT seq, bytes FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3"
                ),
                arguments: [origin.description, Int64(clamping: seq), limit]
            )
            var ops: [(seq: UInt64, bytes: [UInt8])] = []
            while let row = try rows.next() { ops.append((UInt64(row[0] as Int64), Array(row[1] as Data))) }
            return ops
        }
    }
}
