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
    /// Cases touched: their state before this transaction and their current working state.
    private(set) var touched: [CaseID: (before: CaseState?, now: CaseState)] = [:]
    /// Cases whose working state could not fold incrementally and must be re-folded from disk.
    private var needsRefold: Set<CaseID> = []
    /// Last feed seq per peer, loaded lazily.
    private var feedHeads: [String: Int64] = [:]
    private var mayorsCache: [NodeID]?

    init(store: Store, db: Database) {
        self.store = store
        self.db = db
    }

    var isCentral: Bool { store.identity.role == .central }

    // MARK: - Cases

    /// The current state of a case: from this session, the cache, or a fold of its stored ops.
    mutating func state(of caseID: CaseID) throws -> CaseState {
        if let entry = touched[caseID] { return entry.now }
        let state = try store.cache[caseID] ?? foldFromDisk(caseID)
        touched[caseID] = (before: state.opCount == 0 ? nil : state, now: state)
        return state
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
            ops.append(try store.decodeStored(row))
        }
        return ops
    }

    /// Folds `op` (already inserted) into its case's working state.
    mutating func fold(_ op: Op) throws {
        var entry = try touchedEntry(op.caseID)
        touched[op.caseID] = nil  // keep the state uniquely referenced while folding in place
        if needsRefold.contains(op.caseID) || !store.fold.apply(op, to: &entry.now) {
            needsRefold.insert(op.caseID)
        }
        touched[op.caseID] = entry
    }

    private mutating func touchedEntry(_ caseID: CaseID) throws -> (before: CaseState?, now: CaseState) {
        _ = try state(of: caseID)
        guard let entry = touched[caseID] else { preconditionFailure("state(of:) always records the case") }
        return entry
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
        for caseID in needsRefold.sorted() {
            guard let entry = touched[caseID] else { continue }
            touched[caseID] = (before: entry.before, now: try foldFromDisk(caseID))
        }
        needsRefold.removeAll()
        for caseID in touched.keys.sorted() {
            guard let entry = touched[caseID], entry.now.opCount > 0, entry.before != entry.now else { continue }
            try CaseProjection(db: db, receivedAt: receivedAt).write(before: entry.before, after: entry.now)
            store.cache.store(entry.now)
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
        for sealed in written { byCase[sealed.op.caseID, default: []].append(sealed) }
        for caseID in byCase.keys.sorted() {
            guard let entry = touched[caseID], let ops = byCase[caseID] else { continue }
            let before = Set((entry.before?.activeAssignments ?? []).map { "\($0.office)#\($0.epoch)" })
            let nowActive = entry.now.activeAssignments
            let newcomers = Set(nowActive.filter { !before.contains("\($0.office)#\($0.epoch)") }.map(\.office))
            let continuing = Set((entry.before?.activeAssignments ?? []).map(\.office)).union(nowActive.map(\.office))
                .subtracting(newcomers)
            for peer in mayors {
                for sealed in ops { try appendFeed(peer: peer.rawValue, id: sealed.op.id) }
            }
            for office in continuing.sorted() {
                for sealed in ops { try appendFeed(peer: office.rawValue, id: sealed.op.id) }
            }
            if !newcomers.isEmpty {
                let history = try historyIDs(of: caseID)
                for office in newcomers.sorted() {
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
