import Foundation
import GRDB
import SambatCore

/// The work of one write transaction: loading and folding cases, inserting ops, advancing
/// frontiers, maintaining projections and (at central) feeds.
///
/// Lives only inside a transaction closure on GRDB's writer queue; it is deliberately not
/// `Sendable`. It folds cached case states in place and adds the ones it folded from disk to
/// the cache at the end; `Store.write` clears the cache if the transaction fails.
struct WriteSession {
    let store: Store
    let db: Database
    /// This transaction's prepared hot statements.
    let statements: HotStatements
    /// Receive times of the ops written in this transaction, for projection stamps (when the
    /// projection is written in this transaction; a deferred one finds them in the case's box).
    private var receivedAt: [OpID: Timestamp] = [:]
    /// Ops already held whose stored receive time this transaction changed (central's echo):
    /// projection stamps that name them are rewritten even though the stamp is unchanged.
    private var retimed: Set<OpID> = []
    /// Cases touched, by id, and in the order they were first touched (walked without
    /// hashing each case's id again).
    private var slots: [CaseID: CaseSlot] = [:]
    private var touched: [(caseID: CaseID, slot: CaseSlot)] = []
    /// Last feed seq per peer, loaded lazily.
    private var feedHeads: [String: Int64] = [:]
    private var mayorsCache: [NodeID]?
    /// Frontiers as they were when first asked for in this transaction.
    private var frontiers: [Origin: UInt64] = [:]
    /// Seqs stored by this session, per origin (log and quarantine).
    private var heldInSession: [Origin: [UInt64]] = [:]
    /// Stored text of origins used in this session.
    private var originNames: [Origin: String] = [:]
    /// The op log's integer keys of origins used in this session (see ``OriginKey``).
    private var originKeys: [Origin: Int64] = [:]
    /// Per origin, whether the quarantine holds any of its ops.
    private var quarantinedOrigins: [Origin: Bool] = [:]
    /// The last answers of `originKeys`, `quarantinedOrigins` and `frontiers`, each with its
    /// origin: a batch is mostly one uploader's ops whose contexts name one other origin, and
    /// comparing an origin is cheaper than hashing its name again for each table and op.
    private var lastLogKey: (origin: Origin, key: Int64)?
    private var lastQuarantined: (origin: Origin, holds: Bool)?
    private var lastFrontier: (origin: Origin, contiguous: UInt64)?
    /// Whether ``finish()`` leaves the projection rows to a later transaction (a peer's
    /// batch; see ``Store/deferProjection(of:written:db:)``).
    var defersProjection = false
    /// With ``defersProjection``: the changed cases, each with what its rows held before
    /// this transaction and the box of its state now, in the order first touched.
    private(set) var deferredCases: [(caseID: CaseID, baseline: CaseBaseline?, box: CaseStateBox)] = []
    /// With ``defersProjection``: ops whose receive time central's echo changed, of cases
    /// this process held in no box, which were therefore not loaded (see
    /// ``adoptReceiveTime(_:of:time:)``); the time in milliseconds.
    private(set) var unloadedRetimes: [(caseID: CaseID, id: OpID, time: Int64)] = []
    /// With a fold lane (``foldOnLane(_:batch:from:)``): the lane, the chunk of inserted ops
    /// being gathered for it, and how far it has folded.
    private var lane: LaneUse?

    init(store: Store, db: Database) {
        self.store = store
        self.db = db
        self.statements = HotStatements(db)
    }

    var isCentral: Bool { store.identity.role == .central }

    /// Ops already held whose receive time this transaction changed.
    var retimedOps: Set<OpID> { retimed }

    /// Cases whose state or receive times this transaction changed, in the order they were
    /// first touched.
    var changedCases: [CaseID] {
        var changed = touched.filter(\.slot.changed).map(\.caseID)
        // A case with a slot is in `touched` already; one without may have several retimes.
        var unloaded: Set<CaseID> = []
        for retime in unloadedRetimes where slots[retime.caseID] == nil && unloaded.insert(retime.caseID).inserted {
            changed.append(retime.caseID)
        }
        return changed
    }

    // MARK: - Cases

    /// The current state of a case: from this session, the cache, or a fold of its stored ops.
    mutating func state(of caseID: CaseID) throws -> CaseState {
        try slot(caseID).box.state
    }

    /// The state of a case with every op of this session folded in (re-folding from disk
    /// first if an op could not be folded incrementally).
    mutating func currentState(of caseID: CaseID) throws -> CaseState {
        let slot = try slot(caseID)
        if slot.needsRefold {
            slot.box.state = try foldFromDisk(caseID)
            slot.needsRefold = false
        }
        return slot.box.state
    }

    /// Folds a peer's op this transaction has just inserted into its case, and remembers the
    /// op's receive time; the case is looked up once for both.
    ///
    /// The case is loaded after the insert, not before, with its state as it was before the op
    /// (a fold from the log leaves the op out; a state in memory never held it): an op already
    /// held (central's echo of an office's own upload) loads no case at all; see
    /// ``adoptReceiveTime(_:of:time:)``.
    ///
    /// The time goes to the transaction's table when it writes the projection itself, else to
    /// the case's box, where the deferred projection finds it (the box is what it holds until
    /// it writes the case's rows). Merging each batch's times into one table for the deferred
    /// projection took a tenth of the writer's Swift samples at central and at the mayor
    /// (`sambat bench sync --processes`, `scripts/scale.py`, perf), and the table about 40 MiB
    /// of the mayor's memory in a back-fill. A case whose box is let go before its rows are
    /// written reads the times from the log instead. Notes and evidence are left out: no stage
    /// clock or milestone is stamped with them, so the projection never asks for their times.
    ///
    /// With a fold lane the fold itself goes to the lane (`index` is the op's place in the
    /// batch the lane was given), and the state is not current until ``finishFolds()``.
    mutating func foldInserted(_ op: Op, at index: Int, receivedAt time: Timestamp) throws {
        let caseSlot: CaseSlot
        if let known = slots[op.caseID] {
            caseSlot = known
        } else {
            caseSlot = try slot(op.caseID, at: index, excluding: (try logKey(of: op.id.origin), Int64(op.id.seq)))
        }
        if !defersProjection {
            noteReceived(op.id, at: time)
        } else if op.kind != .noted, op.kind != .evidenceAdded {
            caseSlot.box.receiveTimes[op.id] = at(time)
        }
        if lane != nil {
            handToLane(caseSlot, index: index)
        } else {
            fold(op, into: caseSlot)
        }
    }

    /// The epoch of the case's assignment to `office`, if it ever had one; read in place.
    ///
    /// `index` is the place in the batch of the op that asks.
    ///
    /// A state the fold lane may be folding is not read: an office's ops never change an
    /// assignment's epoch (only central's dispatch and reassignment do, which a peer's batch
    /// cannot carry), so the uploader's epoch read before the case's first op went to the
    /// lane still holds. Any other question waits for the lane.
    mutating func assignmentEpoch(of caseID: CaseID, for office: NodeID, at index: Int) throws -> UInt32? {
        let slot = try slot(caseID, at: index)
        if let folded = lane?.folded, slot.laneChunk > folded {
            if let known = slot.epochOnLane, known.office == office { return known.epoch }
            finishFolds()
        }
        return Self.epoch(of: office, in: slot.box)
    }

    private static func epoch(of office: NodeID, in box: CaseStateBox) -> UInt32? {
        for index in box.state.assignments.indices where box.state.assignments[index].office == office {
            return box.state.assignments[index].epoch
        }
        return nil
    }

    // MARK: - The fold lane

    /// Folds the inserted ops of `batch` (``foldInserted(_:at:receivedAt:)``) on `lane`
    /// instead of the writer's thread, until ``finishFolds()``; `source` names the uploader
    /// whose assignment epochs authorization asks for meanwhile.
    ///
    /// First the lane makes the slots of the batch's cached cases (``CasePreparation``).
    /// Call after ``defersProjection`` is set: the lane's slots keep a baseline by it.
    mutating func foldOnLane(_ lane: FoldLane, batch: [RemoteOp], from source: RemoteSource) {
        var uploader: NodeID?
        if case .peer(let peer, _) = source { uploader = peer }
        let store = self.store
        let defersProjection = self.defersProjection
        let preparation = CasePreparation(batch: batch, cache: store.cache) { box, caseID in
            Self.newSlot(of: caseID, in: box, cached: true, store: store, defersProjection: defersProjection)
        }
        lane.prepare(preparation)
        self.lane = LaneUse(
            lane: lane,
            work: FoldWork(fold: store.fold, batch: batch),
            uploader: uploader,
            preparation: preparation
        )
    }

    /// Hands a slot's next op to the lane, a chunk at a time.
    private mutating func handToLane(_ slot: CaseSlot, index: Int) {
        guard var use = lane else { return }
        lane = nil  // While `use` is changed, so its chunk is not copied.
        defer { lane = use }
        // What the writer reads of the case while the lane folds it, read before it does.
        if slot.laneChunk <= use.folded, let uploader = use.uploader {
            slot.epochOnLane = (uploader, Self.epoch(of: uploader, in: slot.box))
        }
        slot.changed = true
        slot.holdsOps = true
        slot.laneChunk = use.chunk
        use.work.items.append((slot, index))
        if use.work.items.count >= LaneUse.chunkOps { use.submit() }
    }

    /// Waits until the lane has folded every op handed to it: the states are current again.
    ///
    /// Call before anything reads a state the session handed to the lane, and before the
    /// transaction ends, whether it commits or fails. Does nothing without a lane.
    mutating func finishFolds() {
        guard var use = lane else { return }
        lane = nil
        defer { lane = use }
        if !use.work.items.isEmpty { use.submit() }
        use.lane.wait()
        use.folded = use.chunk - 1
    }

    /// The working slot of a case, created on first touch: by the fold lane ahead of the
    /// writer, when the case is cached and the lane has got to `index` (the place in the lane's
    /// batch of the op that asks), else here.
    ///
    /// The state stays in its cached box (not copied), so folding mutates it in place; a new
    /// box goes into the cache in ``cacheStates()``, and the cache is cleared when the
    /// transaction rolls back.
    private mutating func slot(
        _ caseID: CaseID,
        at index: Int? = nil,
        excluding inserted: LogRowKey? = nil
    ) throws -> CaseSlot {
        if let slot = slots[caseID] { return slot }
        let slot: CaseSlot
        if let index,
            let prepared = lane?.preparation.slot(at: index, of: caseID, waiting: store.foldLaneSlots == .fromLane)
        {
            slot = prepared
        } else {
            let cached = store.cache.use(caseID)
            let box = try cached ?? CaseStateBox(foldFromDisk(caseID, excluding: inserted))
            slot = Self.newSlot(
                of: caseID,
                in: box,
                cached: cached != nil,
                store: store,
                defersProjection: defersProjection
            )
        }
        slots[caseID] = slot
        touched.append((caseID, slot))
        return slot
    }

    /// A new slot for the state in `box`, made the same way on the writer and on the fold lane
    /// (``CasePreparation``); `cached` says whether the box came from the store's cache.
    ///
    /// The slot keeps the baseline of the case's projection rows unless a deferred projection
    /// already holds it: an earlier batch changed the case, and its baseline is the one kept. A
    /// backlog touches each case batch after batch, and taking the baseline again was about a
    /// tenth of the apply's Swift samples (`sambat bench store`, perf). The pending projection
    /// changes only on this writer, and not while a session runs, so the answer holds until the
    /// session defers its cases.
    private static func newSlot(
        of caseID: CaseID,
        in box: CaseStateBox,
        cached: Bool,
        store: Store,
        defersProjection: Bool
    ) -> CaseSlot {
        let slot = CaseSlot(
            box,
            keepingBaseline: !defersProjection || store.projectionNeedsBaseline(of: caseID),
            forFeeds: store.identity.role == .central
        )
        slot.isCached = cached
        return slot
    }

    func foldFromDisk(_ caseID: CaseID, excluding inserted: LogRowKey? = nil) throws -> CaseState {
        let ops = try loadOps(of: caseID, excluding: inserted).map(\.sealed.op)
        return store.fold.fold(ops, caseID: caseID)
    }

    /// The op log's key of one row: its origin's integer key and its seq.
    typealias LogRowKey = (originKey: Int64, seq: Int64)

    /// The stored ops of a case, decoded and checked against their hashes; `excluding` one
    /// row, which is not decoded at all.
    func loadOps(of caseID: CaseID, excluding skipped: LogRowKey? = nil) throws -> [StoredOp] {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT bytes, hash, receivedAt, originKey, seq FROM op WHERE caseKey = ?"),
            arguments: [CaseKey.of(caseID)]
        )
        var ops: [StoredOp] = []
        while let row = try rows.next() {
            if let skipped, row[3] as Int64 == skipped.originKey, row[4] as Int64 == skipped.seq { continue }
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
        // Once per echoed op at an office: a hot statement keyed by the log's integer key. GRDB's
        // generic path with the origin's name took over a quarter of an office's samples while
        // central echoed its upload (`sambat bench sync --processes`, perf); this takes 6 %.
        let statement = try statements(
            "UPDATE op SET receivedAt = ?1 WHERE originKey = ?2 AND seq = ?3 AND receivedAt != ?1"
        )
        statement.bind(1, at(time))
        statement.bind(2, try logKey(of: id.origin))
        statement.bind(3, Int64(id.seq))
        guard try statement.execute() > 0 else { return }
        retimed.insert(id)
        if defersProjection, slots[caseID] == nil, store.cache.box(caseID) == nil {
            // Central echoes an office's upload back to it, so after the office's restart
            // (or a month of CLI work) every case of its backlog comes back cold: loading each
            // meant folding its whole history from the log, half of the office's CPU while it
            // uploaded (`sambat bench sync --processes`, perf), on the core central's writer
            // needed. The case's state does not depend on receive times, so its rows hold its
            // state still; the deferred projection folds it once, when it writes them.
            unloadedRetimes.append((caseID, id, at(time)))
            return
        }
        let slot = try slot(caseID)
        slot.box.receiveTimes[id] = at(time)
        slot.changed = true
        if !defersProjection { noteReceived(id, at: time) }
    }

    /// Folds `op` (already inserted) into its case's working state.
    mutating func fold(_ op: Op) throws {
        fold(op, into: try slot(op.caseID))
    }

    private func fold(_ op: Op, into slot: CaseSlot) {
        slot.changed = true
        // Folded here, or (after a failed incremental fold) from the log, which holds it.
        slot.holdsOps = true
        if slot.needsRefold || !store.fold.apply(op, to: &slot.box.state) {
            slot.needsRefold = true
        }
    }

    // MARK: - Ops and frontiers

    /// Inserts an op row; returns `false` when (origin, seq) is already stored.
    mutating func insertOp(_ sealed: SealedOp, receivedAt: Timestamp) throws -> Bool {
        let statement = try statements(
            """
            INSERT OR IGNORE INTO op (originKey, seq, caseKey, lamport, kind, bytes, hash, receivedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        )
        let op = sealed.op
        statement.bind(1, try logKey(of: op.id.origin))
        statement.bind(2, Int64(op.id.seq))
        statement.bind(3, CaseKey.of(op.caseID))
        statement.bind(4, Int64(op.lamport))
        statement.bind(5, Int64(op.kind.rawValue))
        statement.bind(6, blob: sealed.bytes)
        statement.bind(7, blob: sealed.hash.bytes)
        statement.bind(8, at(receivedAt))
        guard try statement.execute() > 0 else { return false }
        noteHeld(op.id)
        return true
    }

    /// Records that (origin, seq) is now held, in the log or in quarantine, so advancing the
    /// frontier needs no query per seq.
    mutating func noteHeld(_ id: OpID) {
        heldInSession[id.origin, default: []].append(id.seq)
    }

    /// The text form of an origin as stored in rows, computed once per session.
    mutating func key(of origin: Origin) -> String {
        if let known = originNames[origin] { return known }
        let key = origin.description
        originNames[origin] = key
        return key
    }

    /// The op log's key of an origin, created with its first op; looked up once per session.
    mutating func logKey(of origin: Origin) throws -> Int64 {
        if let last = lastLogKey, last.origin == origin { return last.key }
        let key = try originKeys[origin] ?? OriginKey.key(creating: key(of: origin), in: db)
        originKeys[origin] = key
        lastLogKey = (origin, key)
        return key
    }

    /// Makes room for a batch of `count` ops, so per-op bookkeeping does not rehash as it grows.
    mutating func expect(ops count: Int) {
        if !defersProjection { receivedAt.reserveCapacity(count) }
        slots.reserveCapacity(count)
        touched.reserveCapacity(count)
    }

    /// Remembers the receive time of an op this transaction wrote, for a projection written
    /// in this transaction.
    mutating func noteReceived(_ id: OpID, at time: Timestamp) {
        receivedAt[id] = time
    }

    /// The stored hash of (origin, seq) in the log or in quarantine, if any.
    mutating func storedHash(of id: OpID) throws -> [UInt8]? {
        let statement = try statements(
            """
            SELECT hash FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq = ?2
            UNION ALL SELECT hash FROM quarantine WHERE origin = ?1 AND seq = ?2
            LIMIT 1
            """
        )
        statement.bind(1, key(of: id.origin))
        statement.bind(2, Int64(id.seq))
        return try statement.blob()
    }

    /// Whether the quarantine holds any op of `origin` (asked once per origin and session).
    ///
    /// When it holds none, an op of that origin that is not in the log is not held at all, so
    /// a plain `INSERT OR IGNORE` into the log is enough to detect a duplicate.
    mutating func quarantineHolds(_ origin: Origin) throws -> Bool {
        if let last = lastQuarantined, last.origin == origin { return last.holds }
        let holds: Bool
        if let known = quarantinedOrigins[origin] {
            holds = known
        } else {
            let statement = try statements("SELECT EXISTS (SELECT 1 FROM quarantine WHERE origin = ?)")
            statement.bind(1, key(of: origin))
            holds = try statement.int64() == 1
            quarantinedOrigins[origin] = holds
        }
        lastQuarantined = (origin, holds)
        return holds
    }

    /// The origin's frontier at the start of this transaction (cached).
    mutating func frontier(of origin: Origin) throws -> UInt64 {
        if let last = lastFrontier, last.origin == origin { return last.contiguous }
        let value: UInt64
        if let known = frontiers[origin] {
            value = known
        } else {
            value = UInt64(
                try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT contiguous FROM frontier WHERE origin = ?"),
                    arguments: [origin.description]
                ) ?? 0
            )
            frontiers[origin] = value
        }
        lastFrontier = (origin, value)
        return value
    }

    /// Whether the op (origin, seq) is held: under the frontier, or stored above a gap.
    mutating func holds(_ origin: Origin, upTo seq: UInt64) throws -> Bool {
        if seq <= (try frontier(of: origin)) { return true }
        let statement = try db.cachedStatement(
            sql:
                "SELECT EXISTS (SELECT 1 FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq = ?2)"
        )
        return try Bool.fetchOne(statement, arguments: [origin.description, Int64(clamping: seq)]) == true
    }

    /// Advances an origin's frontier over every seq now held contiguously above it.
    ///
    /// Seqs this session stored are known without a query; the log and quarantine are only
    /// asked about the seqs just above them (held from earlier, above a gap).
    mutating func advanceFrontier(of origin: Origin) throws -> UInt64 {
        let key = key(of: origin)
        let stored = try statements("SELECT contiguous FROM frontier WHERE origin = ?")
        stored.bind(1, key)
        let start = UInt64(try stored.int64() ?? 0)
        var contiguous = start
        let held = try statements(
            """
            SELECT EXISTS (SELECT 1 FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq = ?2)
                OR EXISTS (SELECT 1 FROM quarantine WHERE origin = ?1 AND seq = ?2)
            """
        )
        let fresh = (heldInSession[origin] ?? []).sorted()
        var next = fresh.startIndex
        while true {
            while next < fresh.endIndex, fresh[next] <= contiguous { next += 1 }
            if next < fresh.endIndex, fresh[next] == contiguous + 1 {
                contiguous += 1
                continue
            }
            held.bind(1, key)
            held.bind(2, Int64(clamping: contiguous + 1))
            guard try held.int64() == 1 else { break }
            contiguous += 1
        }
        if contiguous != start {
            let update = try statements(
                """
                INSERT INTO frontier (origin, contiguous) VALUES (?, ?)
                ON CONFLICT (origin) DO UPDATE SET contiguous = excluded.contiguous
                """
            )
            update.bind(1, key)
            update.bind(2, Int64(clamping: contiguous))
            try update.execute()
        }
        frontiers[origin] = contiguous
        if lastFrontier?.origin == origin { lastFrontier = (origin, contiguous) }
        return contiguous
    }

    /// Moves this node's checkpoint in `peer`'s feed forward to `position` (never back).
    func saveCheckpoint(position: UInt64, of peer: NodeID) throws {
        try db.execute(
            sql: """
                INSERT INTO checkpoint (peer, position) VALUES (?, ?)
                ON CONFLICT (peer) DO UPDATE SET position = MAX(position, excluded.position)
                """,
            arguments: [peer.rawValue, Int64(position)]
        )
    }

    /// Raises the store's Lamport clock to at least `lamport`.
    func observeLamport(_ lamport: UInt64) throws {
        try db.cachedStatement(sql: "UPDATE nodeMeta SET lamport = MAX(lamport, ?) WHERE id = 1")
            .execute(arguments: [Int64(lamport)])
    }

    // MARK: - Finishing

    /// Re-folds what could not fold incrementally, writes projections (or, deferring them,
    /// notes the changed cases) and caches the states.
    ///
    /// Call once, after every op of the transaction is inserted.
    mutating func finish() throws {
        var projection = CaseProjection(
            db: db,
            statements: statements,
            receivedAt: receivedAt,
            deadlines: store.deadlines,
            retimed: retimed
        )
        for (caseID, slot) in touched {
            if slot.needsRefold {
                slot.box.state = try foldFromDisk(caseID)
                slot.needsRefold = false
            }
            guard slot.changed, slot.holdsOps else { continue }
            if defersProjection {
                deferredCases.append((caseID, slot.baseline, slot.box))
                continue
            }
            // A changed receive time invalidates stored stamps: rewrite every row then.
            let baseline = slot.baseline
            // Lend the state out of its box, so the projection reads it without a copy.
            var state = CaseState(caseID: caseID)
            swap(&state, &slot.box.state)
            defer { swap(&state, &slot.box.state) }
            projection.memo = slot.box
            try projection.write(before: baseline, after: state)
        }
        try projection.finish()
    }

    /// Hands what this session gathered (its case slots, their baselines and readers, the
    /// seqs it stored, the slots the fold lane made) to ``BackgroundRelease``, leaving the
    /// session empty; for the last line of a peer's batch, after ``finishFolds()``.
    ///
    /// Freeing a batch's slots on the writer was 1,400 of the 31,000 instructions the apply
    /// spent on each status op of `sambat bench store` (callgrind), a slot per case each batch.
    /// The boxes the slots point to stay where the cache and the pending projection hold them.
    mutating func releaseInBackground(with written: consuming [SealedOp]) {
        // Moved out inside `take`, so the queue's is the only reference: a copy kept here
        // would be the last one whenever the queue ran first, and the writer would free it.
        BackgroundRelease.release {
            var leftovers = SessionLeftovers()
            swap(&leftovers.slots, &slots)
            swap(&leftovers.touched, &touched)
            swap(&leftovers.deferredCases, &deferredCases)
            swap(&leftovers.heldInSession, &heldInSession)
            swap(&leftovers.written, &written)
            swap(&leftovers.lane, &lane)
            return leftovers
        }
    }

    /// Puts the cases of the transaction that were folded from the log into the store's
    /// cache; the last call of a transaction. (Cases that came from the cache were folded in
    /// place, in their cached box, and counted as used when the session took them.)
    func cacheStates() {
        for entry in touched where entry.slot.holdsOps && !entry.slot.isCached { store.cache.store(entry.slot.box) }
    }

    // MARK: - Feeds (central)

    /// Appends the ops of this transaction to the feeds of the peers that should see them.
    ///
    /// The mayor sees every op. An office sees every op of a case while it holds (or just
    /// lost) an assignment on it; a case newly assigned to it brings its whole history, so
    /// the office can evaluate every context. Must run after ``finish()``.
    ///
    /// Ops go to each feed in the order they were written (an upload's: its seq order), and
    /// a newcomer's history where its case first appears. Entries are written as runs:
    /// consecutive seqs of one origin that follow each other in a peer's feed take one row
    /// (see ``FeedRun``), so an upload is one row per reader however often it comes back to
    /// a case. (Grouped by case, as they were, an upload that touched its cases two or three
    /// times took a row per op: a fifth of the apply's instructions in `make profile`.)
    mutating func appendToFeeds(_ written: [SealedOp]) throws {
        guard isCentral, !written.isEmpty else { return }
        let mayors = try self.mayors().map(\.rawValue)
        var feeds = PendingFeeds()
        var lastUnchanged: (offices: [ActiveAssignment], readers: [String])?
        // By index: binding each element would copy the whole sealed op (a retain per field).
        for index in written.indices {
            // Every written op was folded, so its case has a slot.
            guard let slot = slots[written[index].op.caseID] else { continue }
            // Each case's readers, found where it first appears.
            let readers: [String]
            if let known = slot.feedReaders {
                readers = known
            } else if FeedReaders.keepOffices(activeBefore: slot.activeBefore, after: slot.box.state.assignments) {
                // Most cases of a batch keep their offices, and most share them: their readers
                // are the list the last such case had (building a list per case allocated
                // three arrays, a sixth of the feeds' instructions per status op, callgrind).
                if let last = lastUnchanged, last.offices == slot.activeBefore {
                    readers = last.readers
                } else {
                    readers = mayors + slot.activeBefore.map(\.office.rawValue)
                    lastUnchanged = (slot.activeBefore, readers)
                }
            } else {
                readers = try self.readers(of: slot, mayors: mayors, newcomersInto: &feeds)
            }
            slot.feedReaders = readers
            let id = written[index].op.id
            for peer in readers { feeds.append(id, to: peer) }
        }
        for (peer, runs) in feeds.lists { try appendFeed(peer: peer, runs: runs) }
    }

    /// The peers whose feeds take a case's new ops.
    ///
    /// They are the mayors and the offices that keep (or just lost) an assignment on it.
    /// Offices newly assigned to it get its whole history in `feeds` now, which holds the new
    /// ops too.
    private func readers(
        of slot: CaseSlot,
        mayors: [String],
        newcomersInto feeds: inout PendingFeeds
    ) throws -> [String] {
        let offices = FeedReaders(activeBefore: slot.activeBefore, after: slot.box.state.assignments)
        if !offices.newcomers.isEmpty {
            let history = try historyIDs(of: slot.box.state.caseID)
            for office in offices.newcomers {
                for id in history { feeds.append(id, to: office.rawValue) }
            }
        }
        return mayors + offices.continuing.map(\.rawValue)
    }

    /// Appends runs to the end of `peer`'s feed.
    mutating func appendFeed(peer: String, runs: [FeedRun]) throws {
        let head: Int64
        if let known = feedHeads[peer] {
            head = known
        } else {
            let query = try statements("SELECT MAX(feedSeq) FROM feed WHERE peer = ?")
            query.bind(1, peer)
            head = try query.int64() ?? 0
        }
        let insert = try statements(
            "INSERT INTO feed (peer, feedSeq, origin, seq, runLength) VALUES (?, ?, ?, ?, ?)"
        )
        var position = head
        for run in runs {
            position += Int64(run.length)
            insert.bind(1, peer)
            insert.bind(2, position)
            insert.bind(3, key(of: run.origin))
            insert.bind(4, Int64(run.firstSeq))
            insert.bind(5, Int64(run.length))
            try insert.execute()
        }
        feedHeads[peer] = position
    }

    /// Every op id of a case in fold order (a causal order), for a newly assigned office.
    ///
    /// The folded state's history is exactly that: one entry per op of the case, in fold order
    /// (an op that does not follow the last one makes ``finish()`` fold the case again from
    /// disk). Reading the log again instead decoded and hash-checked every op of the case at
    /// each dispatch: half the cost of a new case at central, in the profile.
    private func historyIDs(of caseID: CaseID) throws -> [OpID] {
        guard let slot = slots[caseID], !slot.needsRefold else {
            return try loadOps(of: caseID).map(\.sealed.op).sorted { $0.foldKey < $1.foldKey }.map(\.id)
        }
        return slot.box.state.history.map(\.op)
    }

    private mutating func mayors() throws -> [NodeID] {
        if let mayorsCache { return mayorsCache }
        let mayors = try Self.activeMayors(db)
        mayorsCache = mayors
        return mayors
    }

    /// The enrolled, active mayor nodes, whose feeds receive every op.
    static func activeMayors(_ db: Database) throws -> [NodeID] {
        try String.fetchAll(db, sql: "SELECT node FROM peer WHERE role = 'mayor' AND status = 'active' ORDER BY node")
            .compactMap { try? NodeID($0) }
    }
}

/// A write session's collections, moved out of it to be freed on ``BackgroundRelease``'s
/// queue (``WriteSession/releaseInBackground(with:)``).
///
/// Unchecked `Sendable`: the queue holds the only references to these collections and their
/// slots, and only lets them go. A box a slot points to is shared with the cache or the pending
/// projection, which keep using it on the writer; the queue touches no more of it than its
/// reference count, which is atomic, and frees it only if it held the last reference, when no
/// one else can reach it.
private struct SessionLeftovers: @unchecked Sendable {
    var slots: [CaseID: CaseSlot] = [:]
    var touched: [(caseID: CaseID, slot: CaseSlot)] = []
    var deferredCases: [(caseID: CaseID, baseline: CaseBaseline?, box: CaseStateBox)] = []
    var heldInSession: [Origin: [UInt64]] = [:]
    var written: [SealedOp] = []
    /// The fold lane's use, with the lane's slots.
    ///
    /// Its ``CasePreparation`` holds a reference to a slot for every op of the batch (those
    /// the session did not take included). The lane's queue may still hold the preparation
    /// for a moment after running it; it only lets it go too.
    var lane: LaneUse?
}

/// Milliseconds for a timestamp column.
func at(_ time: Timestamp) -> Int64 { time.millisecondsSinceEpoch }

/// One touched case in a write session: its working state and what it was before.
///
/// A class so the session can fold into the state in place; owned by one session.
final class CaseSlot {
    /// The working state, in the box it is cached in.
    let box: CaseStateBox
    /// What the projection rows held before this transaction; `nil` for a new case, and
    /// when not kept.
    let baseline: CaseBaseline?
    /// At central, the case's assignments that were active before this transaction: with
    /// the state's, whose feeds its new ops go to.
    let activeBefore: [ActiveAssignment]
    var changed = false
    /// Set by the fold lane while it holds the case (see ``FoldWork``).
    var needsRefold = false
    /// The fold lane's chunk that last took an op of the case (0: none); see ``LaneUse``.
    var laneChunk = 0
    /// The uploader's assignment epoch, read before the case's first op went to the lane.
    var epochOnLane: (office: NodeID, epoch: UInt32?)?
    /// Whether the box came from the store's cache (which still holds it), rather than from a
    /// fold of the log.
    var isCached = false
    /// At central, the peers whose feeds take the case's ops of this transaction, once known.
    var feedReaders: [String]?
    /// Whether the state holds any op.
    ///
    /// Kept here because asking the state touches its history: a cache miss per case when a
    /// batch's cases are cold, paid twice per case (finishing and caching).
    var holdsOps: Bool

    /// A slot for the state in `box`; `keepingBaseline` only when this transaction writes
    /// (or defers) the case's projection from it, `forFeeds` at central.
    init(_ box: CaseStateBox, keepingBaseline: Bool, forFeeds: Bool) {
        self.box = box
        holdsOps = box.state.opCount > 0
        baseline = keepingBaseline && holdsOps ? CaseBaseline(box) : nil
        activeBefore = forFeeds ? ActiveAssignment.active(in: box.state.assignments) : []
    }
}

/// The parts of a case state its projection rows were written from, for diffing.
///
/// A class so handing it around costs one retain rather than one per array it holds.
final class CaseBaseline: Sendable {
    let status: CaseStatus
    let phase: CasePhase
    let tier: DeadlineTier?
    let topic: String
    let channel: IntakeChannel?
    let assignments: [Assignment]
    let conflicts: [Conflict]
    let evidence: [EvidenceRef]
    let received: Stamp?
    let milestones: Milestones
    /// ``CaseProjection/changeCount(of:)`` of the state.
    let changeCount: Int

    /// The baseline of the state in `box`, read in place: passing the state itself would copy
    /// all of it first.
    convenience init(_ box: CaseStateBox) {
        self.init(
            status: box.state.status,
            phase: box.state.phase,
            tier: box.state.tier,
            topic: box.state.topic,
            channel: box.state.complaint?.channel,
            assignments: box.state.assignments,
            conflicts: box.state.conflicts,
            evidence: box.state.evidence,
            milestones: box.state.milestones,
            changeCount: CaseProjection.changeCount(of: box.state.history)
        )
    }

    private init(
        status: CaseStatus,
        phase: CasePhase,
        tier: DeadlineTier?,
        topic: String,
        channel: IntakeChannel?,
        assignments: [Assignment],
        conflicts: [Conflict],
        evidence: [EvidenceRef],
        milestones: Milestones,
        changeCount: Int
    ) {
        self.status = status
        self.phase = phase
        self.tier = tier
        self.topic = topic
        self.channel = channel
        self.assignments = assignments
        self.conflicts = conflicts
        self.evidence = evidence
        self.received = milestones.received
        self.milestones = milestones
        self.changeCount = changeCount
    }

    /// The baseline of `state`.
    convenience init(_ state: CaseState) {
        self.init(
            status: state.status,
            phase: state.phase,
            tier: state.tier,
            topic: state.topic,
            channel: state.complaint?.channel,
            assignments: state.assignments,
            conflicts: state.conflicts,
            evidence: state.evidence,
            milestones: state.milestones,
            changeCount: CaseProjection.changeCount(of: state.history)
        )
    }
}

/// One feed row: `length` consecutive seqs of one origin, starting at `firstSeq`, that take
/// consecutive positions in a peer's feed.
///
/// The row's `feedSeq` is the position of the run's last op, so the feed's head is still
/// `MAX(feedSeq)` and every row ending after a checkpoint is found through the primary key.
struct FeedRun: Equatable, Sendable {
    let origin: Origin
    let firstSeq: UInt64
    var length: Int

    /// The seq of the run's last op.
    var lastSeq: UInt64 { firstSeq + UInt64(length) - 1 }
}

/// Feed entries a write session is about to append, per peer, already folded into runs.
struct PendingFeeds: Sendable {
    /// Each peer's runs, peers in the order they first received an entry (so rows are written
    /// reproducibly).
    private(set) var lists: [(peer: String, runs: [FeedRun])] = []
    /// Where each peer's runs are in `lists`.
    private var positions: [String: Int] = [:]

    /// The runs of `peer`'s entries (empty when it has none).
    func runs(of peer: String) -> [FeedRun] {
        position(of: peer).map { lists[$0].runs } ?? []
    }

    /// Where `peer`'s runs are in `lists`, if it has any.
    ///
    /// A transaction's ops mostly go to a mayor and an office or two: comparing a few names
    /// is cheaper than hashing one for every op and reader.
    private func position(of peer: String) -> Int? {
        guard lists.count > 4 else { return lists.firstIndex { $0.peer == peer } }
        return positions[peer]
    }

    mutating func append(_ id: OpID, to peer: String) {
        guard let position = position(of: peer) else {
            positions[peer] = lists.count
            lists.append((peer, [FeedRun(origin: id.origin, firstSeq: id.seq, length: 1)]))
            return
        }
        // In place: the runs are not copied per entry.
        if let last = lists[position].runs.last, last.origin == id.origin, last.lastSeq &+ 1 == id.seq {
            lists[position].runs[lists[position].runs.count - 1].length += 1
        } else {
            lists[position].runs.append(FeedRun(origin: id.origin, firstSeq: id.seq, length: 1))
        }
    }
}

/// Which offices' feeds receive a case's new ops, from its assignments before and after a
/// transaction.
///
/// An office whose assignment stayed active gets the new ops (`continuing`), and so does one
/// that just lost the case (it must see the op that revoked it); an office newly assigned, or
/// assigned again under a new epoch, gets the whole history (`newcomers`).
struct FeedReaders {
    private(set) var continuing: [NodeID] = []
    private(set) var newcomers: [NodeID] = []

    init(before: [Assignment], after: [Assignment]) {
        self.init(activeBefore: ActiveAssignment.active(in: before), after: after)
    }

    /// Whether the active assignments of `after` are those of `before`, office for office and
    /// epoch for epoch, in order: then the readers are those offices (all continuing), which
    /// the caller may know without building them.
    static func keepOffices(activeBefore before: [ActiveAssignment], after: [Assignment]) -> Bool {
        var position = 0
        for index in after.indices where after[index].status.isActive {
            guard position < before.count, before[position].office == after[index].office,
                before[position].epoch == after[index].epoch
            else { return false }
            position += 1
        }
        return position == before.count
    }

    /// The readers from the assignments that were active before (``ActiveAssignment``).
    init(activeBefore before: [ActiveAssignment], after: [Assignment]) {
        // Index loops read the fields in place: copying an assignment retains all its stamps.
        for index in after.indices where after[index].status.isActive {
            let office = after[index].office
            let wasActive = before.contains(ActiveAssignment(office: office, epoch: after[index].epoch))
            if wasActive { continuing.append(office) } else { newcomers.append(office) }
        }
        for old in before where !continuing.contains(old.office) && !newcomers.contains(old.office) {
            continuing.append(old.office)
        }
    }
}

/// An assignment that was active, as a case's feed readers compare it: office and epoch.
///
/// A write session keeps these of each case it touches at central, rather than the case's
/// assignments themselves: holding those would share their storage with the state, and the
/// fold's first change to an assignment would then copy them all.
struct ActiveAssignment: Equatable {
    let office: NodeID
    let epoch: UInt32

    /// The active ones of `assignments`, in order.
    static func active(in assignments: [Assignment]) -> [ActiveAssignment] {
        var active: [ActiveAssignment] = []
        for index in assignments.indices where assignments[index].status.isActive {
            active.append(ActiveAssignment(office: assignments[index].office, epoch: assignments[index].epoch))
        }
        return active
    }
}

/// A write session's use of the store's ``FoldLane``.
struct LaneUse {
    /// Ops per hand-over: a few hundred microseconds of folding, against the few
    /// microseconds a hand-over costs.
    static let chunkOps = 256

    let lane: FoldLane
    /// The chunk being gathered.
    var work: FoldWork
    /// The number of the chunk being gathered (the first is 1).
    var chunk = 1
    /// Every chunk up to this one is folded.
    var folded = 0
    /// The uploader of a peer's batch, whose assignment epochs authorization reads.
    let uploader: NodeID?
    /// The slots the lane makes ahead of the writer.
    let preparation: CasePreparation

    init(lane: FoldLane, work: FoldWork, uploader: NodeID?, preparation: CasePreparation) {
        self.lane = lane
        self.work = work
        self.uploader = uploader
        self.preparation = preparation
    }

    /// Hands the gathered chunk to the lane and starts the next.
    mutating func submit() {
        var next = FoldWork(fold: work.fold, batch: work.batch)
        next.items.reserveCapacity(Self.chunkOps)
        swap(&next, &work)
        lane.fold(next)
        chunk += 1
    }
}
