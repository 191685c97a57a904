import Foundation
import GRDB
import SambatCore

/// The work of one write transaction: loading and folding cases, inserting ops, advancing
/// frontiers, maintaining projections and (at central) feeds.
///
/// Lives only inside a transaction closure on GRDB's writer queue; it is deliberately not
/// `Sendable`. Case states it folds are written back to the store's cache as it goes; the
/// cache is cleared if the transaction rolls back.
struct WriteSession {
    let store: Store
    let db: Database
    /// Receive times of the ops written in this transaction, for projection stamps.
    private var receivedAt: [OpID: Timestamp] = [:]
    /// Cases touched, by id, and in the order they were first touched.
    private var slots: [CaseID: CaseSlot] = [:]
    private var order: [CaseID] = []
    /// Last feed seq per peer, loaded lazily.
    private var feedHeads: [String: Int64] = [:]
    private var mayorsCache: [NodeID]?
    /// Frontiers as they were when first asked for in this transaction.
    private var frontiers: [Origin: UInt64] = [:]

    init(store: Store, db: Database) {
        self.store = store
        self.db = db
    }

    var isCentral: Bool { store.identity.role == .central }

    /// Cases whose state this transaction changed, in the order they were first touched.
    var changedCases: [CaseID] {
        order.filter { slots[$0]?.changed == true }
    }

    // MARK: - Cases

    /// The current state of a case: from this session, the cache, or a fold of its stored ops.
    mutating func state(of caseID: CaseID) throws -> CaseState {
        try slot(caseID).state
    }

    /// The working slot of a case, created on first touch.
    ///
    /// The state is taken out of the cache (not copied), so folding mutates it in place; it
    /// goes back in ``finish()``, or the cache is cleared when the transaction rolls back.
    private mutating func slot(_ caseID: CaseID) throws -> CaseSlot {
        if let slot = slots[caseID] { return slot }
        let state = try store.cache.take(caseID) ?? foldFromDisk(caseID)
        let slot = CaseSlot(state)
        slots[caseID] = slot
        order.append(caseID)
        return slot
    }

    func foldFromDisk(_ caseID: CaseID) throws -> CaseState {
        let ops = try loadOps(of: caseID).map(\.sealed.op)
        return store.fold.fold(ops, caseID: caseID)
    }

    func loadOps(of caseID: CaseID) throws -> [StoredOp] {
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT bytes, hash, receivedAt FROM op WHERE caseId = ?",
            arguments: [caseID.rawValue]
        )
        var ops: [StoredOp] = []
        while let row = try rows.next() {
            let stored = try store.decodeStored(row)
            guard stored.sealed.op.caseID == caseID else {
                throw StoreError(
                    .corruptOp,
                    path: store.path,
                    message: "a stored op's bytes name another case than its row; restore from a backup"
                )
            }
            ops.append(stored)
        }
        return ops
    }

    /// Stores central's receive time for an op already held.
    ///
    /// Re-projects its case so stamps derived from it move too; does nothing when the time is
    /// already stored.
    mutating func adoptReceiveTime(_ id: OpID, of caseID: CaseID, time: Timestamp) throws {
        try db.cachedStatement(sql: "UPDATE op SET receivedAt = ? WHERE origin = ? AND seq = ? AND receivedAt != ?")
            .execute(arguments: [at(time), id.origin.description, Int64(id.seq), at(time)])
        guard db.changesCount > 0 else { return }
        let slot = try slot(caseID)
        slot.changed = true
        slot.reprojectAll = true
        noteReceived(id, at: time)
    }

    /// Folds `op` (already inserted) into its case's working state.
    mutating func fold(_ op: Op) throws {
        let slot = try slot(op.caseID)
        slot.changed = true
        if slot.needsRefold || !store.fold.apply(op, to: &slot.state) {
            slot.needsRefold = true
        }
    }

    // MARK: - Ops and frontiers

    /// Inserts an op row; returns `false` when (origin, seq) is already stored.
    func insertOp(_ sealed: SealedOp, receivedAt: Timestamp) throws -> Bool {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO op (origin, seq, caseId, lamport, kind, bytes, hash, receivedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        let op = sealed.op
        try statement.execute(arguments: [
            op.id.origin.description, Int64(op.id.seq), op.caseID.rawValue, Int64(op.lamport),
            Int64(op.kind.rawValue), Data(sealed.bytes), Data(sealed.hash.bytes), at(receivedAt),
        ])
        return db.changesCount > 0
    }

    mutating func noteReceived(_ id: OpID, at time: Timestamp) {
        receivedAt[id] = time
    }

    /// The stored hash of (origin, seq) in the log or in quarantine, if any.
    func storedHash(of id: OpID) throws -> [UInt8]? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT hash FROM op WHERE origin = ?1 AND seq = ?2
                UNION ALL SELECT hash FROM quarantine WHERE origin = ?1 AND seq = ?2
                LIMIT 1
                """
        )
        return try Data.fetchOne(statement, arguments: [id.origin.description, Int64(id.seq)]).map { Array($0) }
    }

    /// The origin's frontier at the start of this transaction (cached).
    mutating func frontier(of origin: Origin) throws -> UInt64 {
        if let known = frontiers[origin] { return known }
        let value =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT contiguous FROM frontier WHERE origin = ?"),
                arguments: [origin.description]
            ) ?? 0
        frontiers[origin] = UInt64(value)
        return UInt64(value)
    }

    /// Whether the op (origin, seq) is held: under the frontier, or stored above a gap.
    mutating func holds(_ origin: Origin, upTo seq: UInt64) throws -> Bool {
        if seq <= (try frontier(of: origin)) { return true }
        let statement = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM op WHERE origin = ? AND seq = ?)")
        return try Bool.fetchOne(statement, arguments: [origin.description, Int64(clamping: seq)]) == true
    }

    /// Advances an origin's frontier over every seq now held contiguously above it.
    func advanceFrontier(of origin: Origin) throws -> UInt64 {
        let key = origin.description
        var contiguous =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT contiguous FROM frontier WHERE origin = ?"),
                arguments: [key]
            ) ?? 0
        let held = try db.cachedStatement(
            sql: """
                SELECT EXISTS (SELECT 1 FROM op WHERE origin = ?1 AND seq = ?2)
                    OR EXISTS (SELECT 1 FROM quarantine WHERE origin = ?1 AND seq = ?2)
                """
        )
        let start = contiguous
        while try Bool.fetchOne(held, arguments: [key, contiguous + 1]) == true {
            contiguous += 1
        }
        if contiguous != start {
            try db.cachedStatement(
                sql: """
                    INSERT INTO frontier (origin, contiguous) VALUES (?, ?)
                    ON CONFLICT (origin) DO UPDATE SET contiguous = excluded.contiguous
                    """
            ).execute(arguments: [key, contiguous])
        }
        return UInt64(contiguous)
    }

    /// Raises the store's Lamport clock to at least `lamport`.
    func observeLamport(_ lamport: UInt64) throws {
        try db.cachedStatement(sql: "UPDATE nodeMeta SET lamport = MAX(lamport, ?) WHERE id = 1")
            .execute(arguments: [Int64(lamport)])
    }

    // MARK: - Finishing

    /// Re-folds what could not fold incrementally, writes projections and caches the states.
    ///
    /// Call once, after every op of the transaction is inserted.
    mutating func finish() throws {
        for caseID in order {
            guard let slot = slots[caseID] else { continue }
            if slot.needsRefold {
                slot.state = try foldFromDisk(caseID)
                slot.needsRefold = false
            }
            if slot.changed, slot.state.opCount > 0 {
                // A changed receive time invalidates stored stamps: rewrite every row then.
                let baseline = slot.reprojectAll ? nil : slot.baseline
                try CaseProjection(db: db, receivedAt: receivedAt).write(before: baseline, after: slot.state)
            }
            if slot.state.opCount > 0 { store.cache.store(slot.state) }
        }
    }

    // MARK: - Feeds (central)

    /// Appends the ops of this transaction to the feeds of the peers that should see them.
    ///
    /// The mayor sees every op. An office sees every op of a case while it holds (or just
    /// lost) an assignment on it; a case newly assigned to it brings its whole history, so
    /// the office can evaluate every context. Must run after ``finish()``.
    mutating func appendToFeeds(_ written: [SealedOp]) throws {
        guard isCentral, !written.isEmpty else { return }
        let mayors = try self.mayors()
        var byCase: [CaseID: [SealedOp]] = [:]
        var caseOrder: [CaseID] = []
        for sealed in written {
            if byCase[sealed.op.caseID] == nil { caseOrder.append(sealed.op.caseID) }
            byCase[sealed.op.caseID, default: []].append(sealed)
        }
        for caseID in caseOrder {
            guard let slot = slots[caseID], let ops = byCase[caseID] else { continue }
            let before = slot.baseline?.assignments.filter(\.status.isActive) ?? []
            var continuing: [NodeID] = []
            var newcomers: [NodeID] = []
            for assignment in slot.state.assignments where assignment.status.isActive {
                let wasActive = before.contains { $0.office == assignment.office && $0.epoch == assignment.epoch }
                if wasActive { continuing.append(assignment.office) } else { newcomers.append(assignment.office) }
            }
            // An office that just lost the case still gets the op that revoked it.
            for old in before where !continuing.contains(old.office) && !newcomers.contains(old.office) {
                continuing.append(old.office)
            }
            for peer in mayors + continuing {
                for sealed in ops { try appendFeed(peer: peer.rawValue, id: sealed.op.id) }
            }
            if !newcomers.isEmpty {
                let history = try historyIDs(of: caseID)
                for office in newcomers {
                    for id in history { try appendFeed(peer: office.rawValue, id: id) }
                }
            }
        }
    }

    private mutating func appendFeed(peer: String, id: OpID) throws {
        let head =
            try feedHeads[peer]
            ?? (Int64.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(feedSeq) FROM feed WHERE peer = ?"),
                arguments: [peer]
            ) ?? 0)
        try db.cachedStatement(sql: "INSERT INTO feed (peer, feedSeq, origin, seq) VALUES (?, ?, ?, ?)")
            .execute(arguments: [peer, head + 1, id.origin.description, Int64(id.seq)])
        feedHeads[peer] = head + 1
    }

    /// Every op id of a case in fold order (a causal order), for a newly assigned office.
    private func historyIDs(of caseID: CaseID) throws -> [OpID] {
        try loadOps(of: caseID).map(\.sealed.op).sorted { $0.foldKey < $1.foldKey }.map(\.id)
    }

    private mutating func mayors() throws -> [NodeID] {
        if let mayorsCache { return mayorsCache }
        let names = try String.fetchAll(
            db,
            sql: "SELECT node FROM peer WHERE role = 'mayor' AND status = 'active' ORDER BY node"
        )
        let mayors = names.compactMap { try? NodeID($0) }
        mayorsCache = mayors
        return mayors
    }
}

/// Milliseconds for a timestamp column.
func at(_ time: Timestamp) -> Int64 { time.millisecondsSinceEpoch }

/// One touched case in a write session: its working state and what it was before.
///
/// A class so the session can fold into the state in place; owned by one session.
final class CaseSlot {
    var state: CaseState
    /// What the projection rows held before this transaction; `nil` for a new case.
    let baseline: CaseBaseline?
    var changed = false
    var needsRefold = false
    /// Set when a stored receive time changed: every projection row is rewritten.
    var reprojectAll = false

    init(_ state: CaseState) {
        self.state = state
        self.baseline = state.opCount == 0 ? nil : CaseBaseline(state)
    }
}

/// The parts of a case state its projection rows were written from, for diffing.
struct CaseBaseline {
    let assignments: [Assignment]
    let conflicts: [Conflict]
    let evidence: [EvidenceRef]
    let received: Stamp?

    init(_ state: CaseState) {
        assignments = state.assignments
        conflicts = state.conflicts
        evidence = state.evidence
        received = state.milestones.received
    }
}
