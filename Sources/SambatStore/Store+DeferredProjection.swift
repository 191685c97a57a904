import Foundation
import GRDB
import SambatCore
import Synchronization

/// Peers' ops committed to the op log whose projection rows have not been written yet, as the
/// process that committed them knows them.
///
/// Owned by ``Store`` (behind a mutex) and touched only on the writer queue. It is an
/// optimisation of the `projectionJournal` table, which is the truth: it is used only while
/// the journal holds exactly the rows this process wrote (`journalIDs`), so a crash, or a
/// projection written by another process, falls back to the journal.
struct PendingProjection: Sendable {
    /// A case waiting for its projection rows.
    struct Case: Sendable {
        /// What the case's rows hold: its state before its first deferred op (`nil`: no rows),
        /// unless ``retimedOnly``.
        let baseline: CaseBaseline?
        /// The box of the case's state after its last deferred op, held here so that the
        /// case cache letting it go does not cost the projection a fold of the log; `nil`
        /// beyond ``PendingProjection/heldStatesLimit`` or after a failed write.
        var state: CaseStateBox?
        /// Only receive times of ops the case already held changed, and the case was not
        /// loaded for it (``WriteSession/unloadedRetimes``): its rows hold its current state,
        /// so that state, however the projection finds it, is also the baseline.
        let retimedOnly: Bool

        init(baseline: CaseBaseline?, state: CaseStateBox? = nil, retimedOnly: Bool = false) {
            self.baseline = baseline
            self.state = state
            self.retimedOnly = retimedOnly
        }

        /// What the case's rows hold, given the state the projection writes.
        func baseline(writing state: CaseState) -> CaseBaseline? {
            guard retimedOnly else { return baseline }
            return state.opCount == 0 ? nil : CaseBaseline(state)
        }
    }

    /// Most case states held for the projection, which bounds the memory it may keep.
    ///
    /// A back-fill defers ten thousand cases per 100,000 ops, about as many as the case cache
    /// keeps, and the cache lets states go when full: before the projection held them, an
    /// eighth of the mayor's CPU in a back-fill went to folding those cases from the log
    /// again (`make scale`, perf).
    static let heldStatesLimit = 50_000

    /// Per case, what its rows hold.
    var cases: [CaseID: Case] = [:]
    /// Cases in the order they were first deferred, so rows are written reproducibly.
    var order: [CaseID] = []
    /// Ops held from before whose receive time a deferred batch changed.
    var retimed: Set<OpID> = []
    /// The journal rows these cases and ops came with, in order.
    var journalIDs: [Int64] = []
    /// How many ops were deferred.
    var ops = 0
    /// When the first of them was deferred.
    var since: ContinuousClock.Instant?
    /// When the last batch was deferred.
    var latest: ContinuousClock.Instant?
    /// How many of `cases` hold their state.
    var heldStates = 0

    /// Whether the projection should be written now: the batches have paused for `quiet`,
    /// or the first of them has waited `delay`.
    ///
    /// `nil` when this process deferred nothing (a journal it does not know the age of, or
    /// none).
    func isDue(at now: ContinuousClock.Instant, quiet: Duration, delay: Duration) -> Bool? {
        guard let since, let latest else { return nil }
        return latest + quiet <= now || since + delay <= now
    }

    /// `box`, to be held for the projection while fewer than ``heldStatesLimit`` states are
    /// held (and then counted), else `nil`.
    mutating func holdIfRoom(_ box: CaseStateBox) -> CaseStateBox? {
        guard heldStates < Self.heldStatesLimit else { return nil }
        heldStates += 1
        return box
    }

    /// Lets every held state go: a failed write may have folded uncommitted ops into them,
    /// and another process's commit may have changed their cases.
    ///
    /// Up to ``heldStatesLimit`` states are freed on ``BackgroundRelease``'s queue, not on the
    /// writer that forgets them.
    mutating func forgetStates() {
        guard heldStates > 0 else { return }
        BackgroundRelease.release {
            var states: [CaseStateBox] = []
            states.reserveCapacity(heldStates)
            for caseID in order {
                guard let state = cases[caseID]?.state else { continue }
                states.append(state)
                cases[caseID]?.state = nil
            }
            return states
        }
        heldStates = 0
    }
}

/// What one `projectionJournal` row names: a batch's inserted ops, as runs of consecutive
/// seqs of one origin, and the ops whose receive time it changed.
///
/// Stored as text, one entry per line (`o <origin> <first seq> <count>` or
/// `r <origin> <seq>`), so `sqlite3` can show what a crash left pending.
enum ProjectionJournal {
    /// The row naming `inserted` and `retimed`.
    ///
    /// The runs are taken over each origin's seqs in order, not in the batch's order: a feed
    /// batch need not be in seq order (when central's feed grouped ops by case, a mayor's
    /// back-fill averaged five ops per run in feed order, a thousand lines per batch of 5,000),
    /// where its origins' sorted seqs form a few runs each. A row only names ops; the order in
    /// which it names them means nothing.
    static func encode(inserted: [SealedOp], retimed: Set<OpID>) -> Data {
        var lines: [String] = []
        var seqs: [Origin: [UInt64]] = [:]
        // By index: binding each element would copy the whole sealed op (a retain per field).
        // An origin's consecutive ops are gathered before its list is looked up: a batch is
        // mostly one origin's, so its name is hashed once per run, not once per op.
        var index = inserted.startIndex
        while index < inserted.endIndex {
            let origin = inserted[index].op.id.origin
            var run: [UInt64] = []
            while index < inserted.endIndex, inserted[index].op.id.origin == origin {
                run.append(inserted[index].op.id.seq)
                index += 1
            }
            seqs[origin, default: []].append(contentsOf: run)
        }
        for origin in seqs.keys.sorted() {
            var run: (first: UInt64, count: UInt64)?
            for seq in seqs[origin, default: []].sorted() {
                if let current = run, current.first + current.count == seq {
                    run?.count += 1
                    continue
                }
                if let run { lines.append("o \(origin) \(run.first) \(run.count)") }
                run = (seq, 1)
            }
            if let run { lines.append("o \(origin) \(run.first) \(run.count)") }
        }
        for id in retimed.sorted(by: { ($0.origin, $0.seq) < ($1.origin, $1.seq) }) {
            lines.append("r \(id.origin) \(id.seq)")
        }
        return Data(lines.joined(separator: "\n").utf8)
    }

    /// Whether the journal names any op whose projection is not written yet.
    static func holdsRows(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM projectionJournal)") == true
    }

    /// The ops a row names: inserted ones, and re-timed ones.
    static func decode(_ data: Data, path: String) throws -> (inserted: [OpID], retimed: [OpID]) {
        let malformed = StoreError(
            .corruptOp,
            path: path,
            message: "a projection journal row cannot be read; restore from a backup"
        )
        var inserted: [OpID] = []
        var retimed: [OpID] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, let seq = UInt64(fields[2]) else { throw malformed }
            let origin = try Origin(parsing: String(fields[1]))
            switch fields[0] {
            case "o" where fields.count == 4:
                guard let count = UInt64(fields[3]), count >= 1, count <= 1_000_000 else { throw malformed }
                for offset in 0..<count { inserted.append(try OpID(origin: origin, seq: seq + offset)) }
            case "r" where fields.count == 3:
                retimed.append(try OpID(origin: origin, seq: seq))
            default:
                throw malformed
            }
        }
        return (inserted, retimed)
    }
}

extension Store {
    /// Records a peer's batch whose projection this transaction leaves for later: a journal
    /// row naming its ops, and (in memory) each changed case's rows as they stand.
    ///
    /// The journal row commits with the ops, so a crash before the projection catches up
    /// loses nothing: the next open projects what the journal names.
    /// - Returns: whether anything was deferred (a batch of duplicates defers nothing).
    func deferProjection(of session: WriteSession, written: [SealedOp], db: Database) throws -> Bool {
        guard !session.deferredCases.isEmpty || !written.isEmpty || !session.retimedOps.isEmpty else { return false }
        try db.cachedStatement(sql: "INSERT INTO projectionJournal (ops) VALUES (?)")
            .execute(arguments: [ProjectionJournal.encode(inserted: written, retimed: session.retimedOps)])
        let journalID = db.lastInsertedRowID
        pendingProjection.withLock { pending in
            let now = ContinuousClock.now
            if pending.since == nil { pending.since = now }
            pending.latest = now
            pending.journalIDs.append(journalID)
            pending.ops += written.count
            for (caseID, baseline, box) in session.deferredCases {
                // Through the index: the case's id is hashed once.
                if let known = pending.cases.index(forKey: caseID) {
                    if pending.cases.values[known].retimedOnly {
                        // Loaded now for new ops: its rows hold the state it was loaded with.
                        let held = pending.holdIfRoom(box)
                        pending.cases.values[known] = PendingProjection.Case(baseline: baseline, state: held)
                        continue
                    }
                    // A case the cache let go was folded into a new box: keep the newest.
                    if pending.cases.values[known].state != nil { pending.cases.values[known].state = box }
                    continue
                }
                pending.cases[caseID] = PendingProjection.Case(baseline: baseline, state: pending.holdIfRoom(box))
                pending.order.append(caseID)
            }
            for retime in session.unloadedRetimes {
                if let known = pending.cases[retime.caseID] {
                    // A state held here, out of the cache, must not keep the old time.
                    known.state?.receiveTimes[retime.id] = retime.time
                    continue
                }
                pending.cases[retime.caseID] = PendingProjection.Case(baseline: nil, retimedOnly: true)
                pending.order.append(retime.caseID)
            }
            // The ops' receive times are in the boxes (see `WriteSession.foldInserted(_:at:receivedAt:)`).
            pending.retimed.formUnion(session.retimedOps)
        }
        return true
    }

    /// Whether deferring a change to `caseID` needs the baseline of its rows: not when an
    /// earlier deferred batch changed it, whose baseline the pending projection keeps
    /// (``deferProjection(of:written:db:)``), unless only receive times changed then.
    func projectionNeedsBaseline(of caseID: CaseID) -> Bool {
        // Read in place: a copy of the entry would retain its baseline and its box.
        pendingProjection.withLock { pending in
            guard let index = pending.cases.index(forKey: caseID) else { return true }
            return pending.cases.values[index].retimedOnly
        }
    }

    /// Brings the projection rows up to date with the op log, inside the caller's write
    /// transaction: from what this process remembers when the journal holds exactly the rows
    /// it wrote, else from the journal (after a crash, or when another process wrote).
    ///
    /// Every transaction that projects synchronously (a local write) calls this first, so its
    /// own projection starts from rows that match the log.
    func projectPending(_ db: Database) throws {
        let rows = try Row.fetchAll(db, sql: "SELECT id, ops FROM projectionJournal ORDER BY id")
        var remembered = PendingProjection()
        pendingProjection.withLock { pending in swap(&remembered, &pending) }
        guard let last = rows.last else { return }
        let ids = rows.map { $0[0] as Int64 }
        if remembered.journalIDs == ids {
            try project(remembered, db: db)
        } else {
            try projectFromJournal(rows.map { $0[1] as Data }, db: db)
        }
        try db.execute(sql: "DELETE FROM projectionJournal WHERE id <= ?", arguments: [last[0] as Int64])
    }

    /// Writes the projection of every remembered case, from the rows' baseline to the state
    /// the case cache or the pending entry holds (or a fold of the log, if neither does).
    private func project(_ pending: PendingProjection, db: Database) throws {
        let session = WriteSession(store: self, db: db)
        var projection = CaseProjection(
            db: db,
            statements: session.statements,
            receivedAt: [:],
            deadlines: deadlines,
            retimed: pending.retimed
        )
        for caseID in pending.order {
            guard let entry = pending.cases[caseID] else { continue }
            if let box = cache.box(caseID) ?? entry.state {
                // Lend the state out of its box, so the projection reads it without a copy.
                var state = CaseState(caseID: caseID)
                swap(&state, &box.state)
                defer { swap(&state, &box.state) }
                projection.memo = box
                try projection.write(before: entry.baseline(writing: state), after: state)
            } else {
                projection.memo = nil
                let state = try session.foldFromDisk(caseID)
                try projection.write(before: entry.baseline(writing: state), after: state)
            }
        }
        try projection.finish()
    }

    /// Writes the projection of every case the journal rows name, each from a fold of its ops
    /// without the unprojected ones (what its rows hold) to a fold of all of them.
    private func projectFromJournal(_ rows: [Data], db: Database) throws {
        var unprojected: [CaseID: Set<OpID>] = [:]
        var order: [CaseID] = []
        var retimed: Set<OpID> = []
        let caseOf = try db.cachedStatement(
            sql: "SELECT caseKey FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1) AND seq = ?2"
        )
        func note(_ id: OpID) throws -> CaseID? {
            guard
                let key = try Int64.fetchOne(caseOf, arguments: [id.origin.description, Int64(clamping: id.seq)]),
                let caseID = CaseKey.caseID(key)
            else { return nil }
            if unprojected[caseID] == nil {
                unprojected[caseID] = []
                order.append(caseID)
            }
            return caseID
        }
        for row in rows {
            let named = try ProjectionJournal.decode(row, path: path)
            for id in named.inserted {
                if let caseID = try note(id) { unprojected[caseID, default: []].insert(id) }
            }
            for id in named.retimed where try note(id) != nil { retimed.insert(id) }
        }
        let session = WriteSession(store: self, db: db)
        let projection = CaseProjection(
            db: db,
            statements: session.statements,
            receivedAt: [:],
            deadlines: deadlines,
            retimed: retimed
        )
        for caseID in order {
            let ops = try session.loadOps(of: caseID).map(\.sealed.op)
            let skipped = unprojected[caseID] ?? []
            let before = fold.fold(ops.filter { !skipped.contains($0.id) }, caseID: caseID)
            try projection.write(
                before: before.opCount == 0 ? nil : CaseBaseline(before),
                after: fold.fold(ops, caseID: caseID)
            )
        }
        try projection.finish()
        // Cached cases remember rows as this process last wrote them; these were written anew.
        cache.removeAll()
    }

    /// Brings the projection rows up to date with every op committed so far.
    ///
    /// Reads through the store do this when they must; a node calls it at a graceful
    /// shutdown, and benchmarks to time an apply until its projection is written.
    public func projectPendingOps() async throws(StoreError) {
        let remembered = pendingProjection.withLock { !$0.journalIDs.isEmpty }
        if !remembered {
            guard try await read(ProjectionJournal.holdsRows) else { return }
        }
        try await write { db in try self.projectPending(db) }
    }

    /// Whether any committed op's projection rows are not written yet, by this process or
    /// another one writing the same file (the journal is the truth).
    ///
    /// For benchmarks and tools that must tell a catch-up's tail work from live traffic.
    public func holdsUnprojectedOps() async throws(StoreError) -> Bool {
        try await read(ProjectionJournal.holdsRows)
    }

    /// Brings the projection rows up to date when peers' batches have paused for
    /// ``StoreConfiguration/projectionQuiet``, or the first op this process deferred has
    /// waited ``StoreConfiguration/projectionDelay``; otherwise does nothing (no I/O).
    ///
    /// The node's projection follower calls this several times a second: it bounds how far
    /// the rows on disk trail the log, which bounds what a restart after a crash redoes.
    public func projectPendingOpsIfDue() async throws(StoreError) {
        guard projectionIsDue() == true else { return }
        try await projectPendingOps()
    }

    /// Whether the projection this process deferred is due now (see
    /// ``PendingProjection/isDue(at:quiet:delay:)``).
    private func projectionIsDue() -> Bool? {
        let now = ContinuousClock.now
        return pendingProjection.withLock { $0.isDue(at: now, quiet: projectionQuiet, delay: projectionDelay) }
    }

    /// After a deferred commit: projects at once when the backlog is full.
    func followDeferredCommit() async {
        guard pendingProjection.withLock({ $0.ops }) >= projectionBacklog else { return }
        // A failure leaves the journal in place; the next read, write or open projects it.
        try? await projectPendingOps()
    }

    /// Runs `body`, which reads projection rows, on a snapshot in which they match the op
    /// log: when the journal names unprojected ops, the projection is written first and
    /// `body` runs on the writer, right after it.
    func readProjected<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        let current: T? = try await read { db in
            guard try !ProjectionJournal.holdsRows(db) else { return nil }
            return try body(db)
        }
        if let current { return current }
        return try await write { db in
            try self.projectPending(db)
            return try body(db)
        }
    }

    /// Runs `body`, which reads projection rows, on rows that may trail the op log while
    /// their projection is not due (at most ``StoreConfiguration/projectionDelay``): the
    /// pending projection is written first only when it is due, or when this process does not
    /// know since when it waits (a journal another process or a crash left).
    ///
    /// For work that polls in the background and picks up at its next poll what it missed:
    /// an office's blob fetcher and central's reporter notifier. Through ``readProjected(_:)``
    /// their polls wrote every pending case's rows once a second at an office and five times a
    /// second at central while a peer's batches streamed in, which undid the coalescing of the
    /// deferred projection (an eighth of the office's CPU and a sixth of central's in `sambat
    /// bench sync --processes`, perf). Never for what a person reads.
    func readProjectedWithinDelay<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        if projectionIsDue() == false {
            return try await read(body)
        }
        return try await readProjected(body)
    }
}
