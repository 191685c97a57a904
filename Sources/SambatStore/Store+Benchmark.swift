import Foundation
import GRDB
public import SambatCore

extension Store {
    /// Inserts `rows` rows of `bytesPerRow` bytes into a scratch table through this store's
    /// writer connection, `batchSize` rows per transaction, and returns the time it took.
    ///
    /// The yardstick for `sambat bench store`: the same connection, pragmas (WAL,
    /// `synchronous=FULL`) and batching as a remote apply, with none of its work, bound through
    /// the same direct statement binding as the apply's hot statements. The scratch table is
    /// dropped afterwards unless `keepingRows` (for tests, which look at the file after the
    /// stream; SQLite overwrites dropped pages, so a drop writes as much again).
    public func measurePlainInsert(
        rows: Int,
        bytesPerRow: Int,
        batchSize: Int,
        keepingRows: Bool = false
    ) async throws(StoreError) -> Duration {
        let payload = [UInt8](repeating: 0x5A, count: bytesPerRow)
        try await write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS benchPlain (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var next = 0
        while next < rows {
            let first = next
            let count = min(batchSize, rows - next)
            try await write { db in
                let statement = try HotStatement(db, sql: "INSERT INTO benchPlain (id, payload) VALUES (?, ?)")
                for id in first..<first + count {
                    statement.bind(1, id)
                    statement.bind(2, blob: payload)
                    try statement.execute()
                }
            }
            next += count
        }
        let elapsed = clock.now - start
        if !keepingRows {
            try await write { db in try db.execute(sql: "DROP TABLE benchPlain") }
        }
        return elapsed
    }
}

extension Store {
    /// Writes the rows a remote apply of `batches` writes and times only those transactions.
    ///
    /// The rows are op rows, frontiers, the Lamport clock, feed runs (at central) or the feed
    /// checkpoint (elsewhere) and the projection journal, one durable transaction per batch
    /// through the apply's own statements; and the projection rows, written as the apply
    /// writes them: each case once per ``StoreConfiguration/projectionBacklog`` ops, in its own
    /// transaction. This is the ceiling `sambat bench store` reports for this
    /// implementation's writes: decoding and folding are done beforehand and not timed, and
    /// neither is choosing feed readers; authorization is not done at all, and the apply's
    /// per-batch reads (node meta, quarantine, the frontier during authorization) are skipped,
    /// so the figure errs on the fast side. Pass only ops the apply would accept, each
    /// following its case causally (as an uploaded backlog does). Meant for a scratch store:
    /// the case cache is cleared afterwards, as its states no longer match the rows.
    /// - Parameters:
    ///   - batches: the ops, as central received them (or as its feed sent them).
    ///   - receivedAt: the receive time stored beside each op.
    ///   - feedPositionBefore: away from central, this store's position in central's feed
    ///     before the first batch (each batch moves it on by its size).
    /// - Returns: the time spent inside the write transactions, commits included.
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidBatch`` when an op does not fold
    ///   incrementally onto its case, is already held, or gives a case a new office; or a
    ///   storage error.
    public func measureApplyWrites(
        of batches: [[SealedOp]],
        receivedAt: Timestamp,
        feedPositionBefore: UInt64 = 0
    ) async throws(StoreError) -> Duration {
        // The set-up's own projection first: the rows measured start from a projected store.
        try await projectPendingOps()
        let central = identity.central
        let mayors = identity.role == .central ? try await read { db in try WriteSession.activeMayors(db) } : []
        var states: [CaseID: CaseState] = [:]
        // What each case remembers of its rows, kept across batches as the case cache keeps it:
        // to start with, what its cached box remembers, as the apply's projection finds it
        // (stage rows and listing columns it need not read back, receive times it need not
        // look up; fresh memos made these writes read more than the apply). Copied on the
        // writer, the one thread that touches boxes.
        let measured = Set(batches.joined().map(\.op.caseID))
        var memos = try await write { _ in
            var memos: [CaseID: CaseStateBox] = [:]
            for caseID in measured {
                guard let cached = self.cache.box(caseID) else { continue }
                let memo = CaseStateBox(CaseState(caseID: caseID))
                memo.receiveTimes = cached.receiveTimes
                memo.stageRows = cached.stageRows
                memo.assignmentReads = cached.assignmentReads
                memo.caseReads = cached.caseReads
                memos[caseID] = memo
            }
            return memos
        }
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        var feedPosition = feedPositionBefore
        // The projection the apply defers: each case's rows as they stand, and its latest state.
        var pendingBaselines: [CaseID: PendingProjection.Case] = [:]
        var pendingOrder: [CaseID] = []
        var pendingReceived: [OpID: Timestamp] = [:]
        var pendingOps = 0
        defer { cache.removeAll() }
        // The journal rows go to a table of the same shape: in the store's own journal they
        // would be projected by the store's follow-up from a set-up batch, in the middle of this.
        try await write { db in
            try db.execute(
                sql: "CREATE TABLE IF NOT EXISTS benchJournal (id INTEGER PRIMARY KEY AUTOINCREMENT, ops BLOB NOT NULL)"
            )
        }
        for (index, batch) in batches.enumerated() {
            // Untimed: the Swift work of an apply.
            var touched: [TouchedCase] = []
            var slots: [CaseID: Int] = [:]
            var received: [OpID: Timestamp] = [:]
            var origins: [Origin] = []
            var lamport: UInt64 = 0
            for sealed in batch {
                let op = sealed.op
                let slot: Int
                if let known = slots[op.caseID] {
                    slot = known
                } else {
                    var before = states[op.caseID]
                    if before == nil { before = try await caseState(op.caseID) }
                    touched.append(TouchedCase(before ?? CaseState(caseID: op.caseID)))
                    slot = touched.count - 1
                    slots[op.caseID] = slot
                }
                guard fold.apply(op, to: &touched[slot].state) else {
                    throw StoreError(.invalidBatch, path: path, message: "op \(op.id) does not fold incrementally")
                }
                received[op.id] = receivedAt
                if !origins.contains(op.id.origin) { origins.append(op.id.origin) }
                lamport = max(lamport, op.lamport)
            }
            // Each touched case's readers; the ops go to their feeds in batch order, as the
            // apply appends them.
            var readers: [[String]] = []
            for entry in touched {
                states[entry.state.caseID] = entry.state
                guard identity.role == .central else { continue }
                let offices = FeedReaders(before: entry.baseline?.assignments ?? [], after: entry.state.assignments)
                guard offices.newcomers.isEmpty else {
                    let message = "case \(entry.state.caseID) gains an office; not measured"
                    throw StoreError(.invalidBatch, path: path, message: message)
                }
                readers.append((mayors + offices.continuing).map(\.rawValue))
            }
            var feeds = PendingFeeds()
            if identity.role == .central {
                for sealed in batch {
                    guard let slot = slots[sealed.op.caseID] else { continue }
                    for peer in readers[slot] { feeds.append(sealed.op.id, to: peer) }
                }
            }
            feedPosition += UInt64(batch.count)
            let checkpoint = identity.role == .central ? nil : feedPosition
            for entry in touched where memos[entry.state.caseID] == nil {
                memos[entry.state.caseID] = CaseStateBox(CaseState(caseID: entry.state.caseID))
            }
            for entry in touched where pendingBaselines[entry.state.caseID] == nil {
                pendingBaselines[entry.state.caseID] = PendingProjection.Case(baseline: entry.baseline)
                pendingOrder.append(entry.state.caseID)
            }
            pendingReceived.merge(received) { _, new in new }
            pendingOps += batch.count
            let journal = ProjectionJournal.encode(inserted: batch, retimed: [])
            let start = clock.now
            try await write { [origins, lamport, feeds] db in
                var session = WriteSession(store: self, db: db)
                for sealed in batch {
                    guard try session.insertOp(sealed, receivedAt: receivedAt) else {
                        throw StoreError(.invalidBatch, path: self.path, message: "op \(sealed.op.id) is already held")
                    }
                }
                for origin in origins { _ = try session.advanceFrontier(of: origin) }
                try session.observeLamport(lamport)
                for (peer, runs) in feeds.lists { try session.appendFeed(peer: peer, runs: runs) }
                if let checkpoint { try session.saveCheckpoint(position: checkpoint, of: central) }
                try db.cachedStatement(sql: "INSERT INTO benchJournal (ops) VALUES (?)").execute(arguments: [journal])
            }
            elapsed += clock.now - start
            guard pendingOps >= projectionBacklog || index == batches.count - 1 else { continue }
            let cases = pendingOrder.map { caseID in
                (pendingBaselines[caseID]?.baseline, states[caseID] ?? CaseState(caseID: caseID), memos[caseID])
            }
            let projectionStart = clock.now
            try await write { [pendingReceived] db in
                var projection = CaseProjection(
                    db: db,
                    statements: HotStatements(db),
                    receivedAt: pendingReceived,
                    deadlines: self.deadlines
                )
                for (baseline, state, memo) in cases {
                    projection.memo = memo
                    try projection.write(before: baseline, after: state)
                }
                try projection.finish()
                try db.execute(sql: "DELETE FROM benchJournal")
            }
            elapsed += clock.now - projectionStart
            pendingBaselines = [:]
            pendingOrder = []
            pendingReceived = [:]
            pendingOps = 0
        }
        try await write { db in try db.execute(sql: "DROP TABLE benchJournal") }
        return elapsed
    }
}

/// A case a measured batch touches.
///
/// Holds what its rows held before, and its state with the batch's ops folded in.
private struct TouchedCase: Sendable {
    let baseline: CaseBaseline?
    var state: CaseState

    init(_ before: CaseState) {
        baseline = before.opCount == 0 ? nil : CaseBaseline(before)
        state = before
    }
}

extension Store {
    /// For `sambat bench webhook`: the channel message ids stored on `channel`, and how many
    /// of its messages still wait to be processed.
    ///
    /// The ids are unique per channel by the table's constraint; the caller compares them
    /// with what it sent.
    public func inboundTally(channel: IntakeChannel) async throws(StoreError) -> (ids: [String], unprocessed: Int) {
        try requireCentralStore()
        return try await read { db in
            let ids = try String.fetchAll(
                db,
                sql: "SELECT externalId FROM intakeMessage WHERE channel = ?",
                arguments: [String(channel.rawValue)]
            )
            let unprocessed = try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM intakeMessage WHERE channel = ? AND processedAt IS NULL",
                arguments: [String(channel.rawValue)]
            )
            return (ids, unprocessed ?? 0)
        }
    }
}

extension Store {
    /// Rows the writer connection inserted, updated or deleted since the store opened
    /// (SQLite's `total_changes`): benchmarks report rows written per op beside the rates,
    /// because it does not vary with the machine's load.
    public func rowsWrittenSinceOpen() async throws(StoreError) -> Int {
        try await write { db in db.totalChangesCount }
    }
}

extension Store {
    /// Makes the ops of this node's current origin that arrived through central's feed its
    /// own authored history: the next local op follows the highest of them.
    ///
    /// For a generated office store (`make scale`), which is filled by applying central's feed
    /// as if the office had authored its part and then been caught up. Without this the
    /// office would author its next op at seq 1 again, and central, which holds its ops,
    /// would refuse its HELLO as a store behind. Never used by a running node.
    /// - Returns: the highest seq of the node's own ops now held (0 if none).
    public func adoptOwnHistory() async throws(StoreError) -> UInt64 {
        try await write { db in
            let origin = try self.loadMeta(db).origin.description
            let highest =
                try Int64.fetchOne(
                    db,
                    sql: "SELECT MAX(seq) FROM op WHERE originKey = (SELECT key FROM origin WHERE name = ?1)",
                    arguments: [origin]
                ) ?? 0
            try db.execute(
                sql: "UPDATE nodeMeta SET nextSeq = MAX(nextSeq, ? + 1) WHERE id = 1",
                arguments: [highest]
            )
            return UInt64(highest)
        }
    }
}

extension Store {
    /// Applies a generated history at central as central's own feed, each op stored with the
    /// receive time it carries (`RemoteOp.centralReceivedAt`) rather than now.
    ///
    /// For `make scale`, whose central must hold a year of ops received through that year: with
    /// the time of the run the offices' and the mayor's stores would hold a year of cases all
    /// received within minutes, and no deadline would ever pass. Never used by a running node.
    public func applyCentralHistory(_ batch: [RemoteOp]) async throws(StoreError) -> RemoteApplyResult {
        try await applyRemote(
            batch,
            from: .feed(from: identity.central),
            receivedAt: .now,
            feedPosition: nil,
            carriedTimes: true
        )
    }
}
